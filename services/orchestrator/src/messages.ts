/**
 * The job's values as the services' messages: the request's observations as an `alignda.v1.ObsBatch` (physical
 * units, in request order), physical fields on the source's grid as `alignda.v1.Field`, and the decoded members back.
 */
import { AppError } from '@alignda/errors';
import type { ResolvedObservations } from '@alignda/pipelines';
import { fieldFromProto, fieldToProto } from '@alignda/rpc';
import type { FieldMessage, ObsBatch, QcSummary } from '@alignda/rpc';
import { QcFlag } from '@alignda/rpc';
import type { DaSource } from '@alignda/world';

/** The source's layout a field message needs. */
export type FieldLayoutOf = Pick<DaSource, 'channels' | 'units' | 'grid' | 'shape'>;

/**
 * The request's observations, resolved against the source (channel indices into its channels), as one batch
 * valid at `validTime`: grid points for cells, points for point observations.
 */
export function obsBatchOf(
  resolved: ResolvedObservations,
  source: Pick<DaSource, 'channels'>,
  validTime: Date,
): ObsBatch {
  return {
    validTime,
    channels: [...source.channels],
    channelIndex: Array.from(resolved.channel),
    locations:
      resolved.layout === 'cells'
        ? { $case: 'gridPoints', value: { row: Array.from(resolved.row), col: Array.from(resolved.col) } }
        : {
            $case: 'points',
            value: { latDeg: Array.from(resolved.latDeg), lonDeg: Array.from(resolved.lonDeg) },
          },
    values: Array.from(resolved.value),
    errorStd: Array.from(resolved.sigma),
    qcFlags: [],
    ids: [],
  };
}

/** A physical field [C, H, W] on the source's grid as a message. */
export function fieldMessage(source: FieldLayoutOf, data: Float32Array, validTime?: Date): FieldMessage {
  const { channels, units, grid, shape } = source;
  return fieldToProto({ data, shape: [...shape], channels, units, grid }, validTime);
}

/**
 * The decoded members as one array [M, C, H, W].
 * @throws AppError INTERNAL when the encoder answered with another number of fields or another shape
 */
export function membersOf(fields: readonly FieldMessage[], M: number, source: FieldLayoutOf): Float32Array {
  const size = source.shape[0] * source.shape[1] * source.shape[2];
  if (fields.length !== M)
    throw new AppError('INTERNAL', `encoder.Decode answered ${fields.length} fields for ${M} latents`);
  const out = new Float32Array(M * size);
  fields.forEach((message, m) => {
    const { field } = fieldFromProto(message, `fields[${m}]`);
    if (field.data.length !== size)
      throw new AppError(
        'INTERNAL',
        `encoder.Decode: field ${m} has ${field.data.length} values, not ${size}`,
      );
    out.set(field.data, m * size);
  });
  return out;
}

/** `OUT_OF_RANGE 2, DUPLICATE 1` from a QC summary's flag counts. */
export function describeFlags(qc: QcSummary | undefined): string {
  return (qc?.flagCounts ?? []).map((f) => `${QcFlag[f.flag] ?? f.flag} ${f.count}`).join(', ');
}

/** How many observations the background check flagged as gross errors. */
export function grossErrors(qc: QcSummary | undefined): number {
  return qc?.flagCounts.find((f) => f.flag === QcFlag.GROSS_ERROR)?.count ?? 0;
}

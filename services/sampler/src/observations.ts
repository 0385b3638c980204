/**
 * A SampleRequest's observations (an `alignda.v1.ObsBatch` in physical units) as packages/da's observations in the
 * units the latent models work in: the batch becomes an assimilation job's observations (cells or points, by channel
 * name), checked by packages/pipelines' own `jobObservationsSchema` and `checkRequestAgainstSource`, then normalised
 * as the job normalises them (`normaliseObservations` of packages/pipelines/src/job/job-observations.ts).
 */
import { griddedObservations } from '@alignda/da';
import type { Observations } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { checkRequestAgainstSource, jobObservationsSchema, jobSourceShape } from '@alignda/pipelines';
import type { JobMethod, JobObservations, JobSourceShape, ResolvedObservations } from '@alignda/pipelines';
import { InvalidMessageError, assertObsBatchMessage } from '@alignda/rpc';
import type { ObsBatch } from '@alignda/rpc';
import type { NormStats } from '@alignda/tensor';
import { bilinearOperator } from '@alignda/world';
import type { DaSource } from '@alignda/world';

/** Longitudes outside the job schema's [-180, 360) are wrapped into [0, 360): the proto accepts any finite one. */
function wrapLon(lon: number): number {
  return lon >= -180 && lon < 360 ? lon : ((lon % 360) + 360) % 360;
}

/**
 * The batch's QC-passed observations as a job's observations (physical units, channels by name), with the index in
 * the batch of each.
 * @throws InvalidMessageError for a structurally broken batch, or one with no observation that passed QC
 */
export function jobObservationsOf(
  batch: ObsBatch | undefined,
  source: Pick<DaSource, 'channels' | 'shape'>,
): { observations: JobObservations; index: number[] } {
  const [, H, W] = source.shape;
  assertObsBatchMessage(batch, { datasetChannels: source.channels, gridShape: { height: H, width: W } });
  const index = batch.values.map((_, i) => i).filter((i) => (batch.qcFlags[i] ?? 0) === 0);
  if (index.length === 0)
    throw new InvalidMessageError([
      { path: 'observations.qc_flags', message: 'no observation passed quality control' },
    ]);
  const channel = (i: number): string => batch.channels[batch.channelIndex[i] ?? 0] ?? '';
  const raw =
    batch.locations?.$case === 'points'
      ? {
          points: index.map((i) => ({
            variable: channel(i),
            lat: batch.locations?.$case === 'points' ? (batch.locations.value.latDeg[i] ?? NaN) : NaN,
            lon: batch.locations?.$case === 'points' ? wrapLon(batch.locations.value.lonDeg[i] ?? NaN) : NaN,
            value: batch.values[i],
            sigma: batch.errorStd[i],
          })),
        }
      : {
          cells: index.map((i) => ({
            channel: channel(i),
            row: batch.locations?.$case === 'gridPoints' ? batch.locations.value.row[i] : undefined,
            col: batch.locations?.$case === 'gridPoints' ? batch.locations.value.col[i] : undefined,
            value: batch.values[i],
            sigma: batch.errorStd[i],
          })),
        };
  const parsed = jobObservationsSchema.safeParse(raw);
  if (!parsed.success)
    throw new InvalidMessageError(
      parsed.error.issues.slice(0, 5).map((issue) => {
        const [, k, field] = issue.path;
        const at = typeof k === 'number' ? `[${index[k]}]` : '';
        return {
          path: `observations${at}${typeof field === 'string' ? `.${field}` : ''}`,
          message: issue.message,
        };
      }),
    );
  return { observations: parsed.data, index };
}

/** The normalised state's zero in physical units, [C, H, W]: the per-cell climatology, or each channel's mean. */
function meanState(norm: NormStats, shape: readonly [number, number, number]): Float64Array {
  const [C, H, W] = shape;
  if (norm.meanField !== undefined) return Float64Array.from(norm.meanField);
  const m = new Float64Array(C * H * W);
  for (let c = 0; c < C; c++) m.fill(norm.mean[c] as number, c * H * W, (c + 1) * H * W);
  return m;
}

/**
 * Resolved observations in normalised units: y_n = (y - H m) / s_c and sigma_n = sigma / s_c, H selection for cells
 * and bilinear for points. The arithmetic of pipelines' `normaliseObservations`, operation for operation, so that the
 * sampler's observations are the job's bit for bit. [to do] pipelines does not export `normaliseObservations`; call it
 * here once it does.
 */
export function normaliseResolved(
  resolved: ResolvedObservations,
  src: JobSourceShape,
  norm: NormStats,
): Observations {
  const [C, H, W] = src.shape;
  if (norm.std.length !== C || (norm.meanField !== undefined && norm.meanField.length !== C * H * W))
    throw new AppError(
      'FAILED_PRECONDITION',
      `the models' norm statistics have ${norm.std.length} channels; the source has ${C} (${src.channels.join(', ')})`,
    );
  const P = resolved.value.length;
  const scale = Float64Array.from(resolved.channel, (c) => norm.std[c] as number);
  const mean = meanState(norm, src.shape);
  const values = new Float64Array(P);
  const std = Float64Array.from(resolved.sigma, (s, p) => s / (scale[p] as number));
  if (resolved.layout === 'cells') {
    for (let p = 0; p < P; p++) {
      const at =
        ((resolved.channel[p] as number) * H + (resolved.row[p] as number)) * W + (resolved.col[p] as number);
      values[p] = ((resolved.value[p] as number) - (mean[at] as number)) / (scale[p] as number);
    }
    return griddedObservations({
      stateShape: src.shape,
      channel: resolved.channel,
      row: resolved.row,
      col: resolved.col,
      value: values,
      std,
    });
  }
  const { operator, rejected } = bilinearOperator(
    src.grid,
    src.shape,
    { channelIndex: resolved.channel, latDeg: resolved.latDeg, lonDeg: resolved.lonDeg },
    src.validMask,
  );
  const first = rejected[0];
  if (first !== undefined)
    throw new AppError('INVALID_ARGUMENT', `observation ${first.index}: ${first.reason}`);
  const hm = operator.apply(mean); // H m, physical, [P]
  for (let p = 0; p < P; p++)
    values[p] = ((resolved.value[p] as number) - (hm[p] as number)) / (scale[p] as number);
  return { operator, values, std };
}

/**
 * The observations a latent guidance mode samples with, from a SampleRequest's batch.
 * @throws InvalidMessageError or AppError INVALID_ARGUMENT for a malformed batch, an unknown channel, a location off
 *   the grid or in its padded area, a cell observed twice, or point observations with Repaint
 */
export function samplerObservations(
  batch: ObsBatch | undefined,
  method: Exclude<JobMethod, '3dvar' | 'obsfree'>,
  source: DaSource,
  norm: NormStats,
): Observations {
  const { observations, index } = jobObservationsOf(batch, source);
  const shape = jobSourceShape(source);
  let resolved: ResolvedObservations;
  try {
    resolved = checkRequestAgainstSource({ method, observations }, shape);
  } catch (err) {
    // The job numbers the QC-passed observations; the caller knows them by their place in its batch.
    const k = err instanceof AppError ? err.details?.index : undefined;
    if (!(err instanceof AppError) || typeof k !== 'number') throw err;
    const message = err.message.replace(/^observation \d+:/, `observation ${index[k]}:`);
    throw new AppError(err.code, message, { details: { ...err.details, index: index[k] }, cause: err });
  }
  return normaliseResolved(resolved, shape, norm);
}

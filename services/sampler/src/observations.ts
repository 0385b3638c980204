/**
 * A SampleRequest's observations (an `alignda.v1.ObsBatch` in physical units) as packages/da's observations in the
 * units the latent models work in: the batch becomes an assimilation job's observations (cells or points, by channel
 * name), checked by packages/pipelines' own `jobObservationsSchema` and `checkRequestAgainstSource`, then normalised
 * as the job normalises them (`normaliseObservations` of packages/pipelines/src/job/job-observations.ts).
 */
import type { Observations } from '@alignda/da';
import { AppError } from '@alignda/errors';
import {
  checkRequestAgainstSource,
  jobObservationsSchema,
  jobSourceShape,
  normaliseObservations,
} from '@alignda/pipelines';
import type { JobMethod, JobObservations, ResolvedObservations } from '@alignda/pipelines';
import { InvalidMessageError, assertObsBatchMessage } from '@alignda/rpc';
import type { ObsBatch } from '@alignda/rpc';
import type { NormStats } from '@alignda/tensor';
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
  return normaliseObservations(resolved, shape, norm).obs;
}

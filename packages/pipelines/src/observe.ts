/**
 * The one place that makes observations of a case: which values are observed (a random share of grid columns,
 * every channel), the operator H that selects them, and the noise added to the truth. Every use case calls it with
 * its own documented defaults (the 3D-Var OSSE: noise 0.02; the latent evaluation: noise-free) and its own seeded
 * random stream, injected, so the same seed gives the same observations whatever door the use case is reached by.
 */
import { griddedObservations } from '@alignda/da';
import type { Observations } from '@alignda/da';
import { AppError } from '@alignda/errors';
import type { Field, Rng } from '@alignda/tensor';
import { simulateGriddedObs, simulatePointObs } from '@alignda/world';
import type { ObsBatch } from '@alignda/world';

/**
 * The share of grid columns observed unless a use case is told otherwise: the paper's 1 % (METHOD.md section 1).
 * Every use case and every door (CLI flags, later the API) takes it from here.
 */
export const DEFAULT_OBS_FRACTION = 0.01;

/**
 * What is observed:
 * - `columns`: whole grid columns, every channel at each drawn cell (the paper's masking, H = selection);
 * - `values`: single values, any channel at any valid cell (H = selection);
 * - `points`: points off the grid, one channel each, located uniformly over the domain (H = bilinear
 *   interpolation); as many as `values` would draw.
 */
export const OBS_LAYOUTS = ['columns', 'values', 'points'] as const;
export type ObsLayout = (typeof OBS_LAYOUTS)[number];

/** How a case is observed. No defaults here: each use case states its own in its options type. */
export interface ObserveOptions {
  /** What is observed; see {@link OBS_LAYOUTS}. */
  readonly layout: ObsLayout;
  /** Share observed, in (0, 1]: of the grid columns, or of the single values (C x valid cells). */
  readonly fraction: number;
  /** Std of the Gaussian noise added to the truth, in the units of the field (normalised); 0 = noise-free. */
  readonly noiseStd: number;
  /** Error std that R assumes (> 0). @defaultValue `noiseStd` */
  readonly errorStd?: number;
  /** 1 where a cell holds data, [H, W]; columns are drawn among those only. @defaultValue every cell */
  readonly validMask?: Uint8Array;
}

/**
 * Observations of `truth` (a field in the units DA is solved in, usually normalised) with a gridded selection
 * operator.
 * @param rng - the random stream of the column draw and the noise; the caller owns its seeding
 * @throws DatasetError for a fraction outside (0, 1] or an error std that is not > 0
 */
export function observe(truth: Field, options: ObserveOptions, rng: Rng): Observations {
  if (options.layout === 'points') {
    const [C, H, W] = truth.shape;
    const cells =
      options.validMask === undefined ? H * W : options.validMask.reduce((n, v) => n + (v ? 1 : 0), 0);
    if (!(options.fraction > 0 && options.fraction <= 1))
      throw new AppError('INVALID_ARGUMENT', `observe: fraction ${options.fraction} is not in (0, 1]`);
    const { batch, operator } = simulatePointObs(truth, {
      count: Math.max(1, Math.round(options.fraction * C * cells)),
      noiseStd: options.noiseStd,
      rng,
      ...(options.errorStd === undefined ? {} : { errorStd: options.errorStd }),
      ...(options.validMask === undefined ? {} : { validMask: options.validMask }),
    });
    return { operator, values: batch.value, std: batch.errorStd };
  }
  const { batch } = simulateGriddedObs(truth, {
    layout: options.layout,
    fraction: options.fraction,
    noiseStd: options.noiseStd,
    rng,
    ...(options.errorStd === undefined ? {} : { errorStd: options.errorStd }),
    ...(options.validMask === undefined ? {} : { validMask: options.validMask }),
  });
  return griddedFromBatch(batch, truth.shape);
}

/**
 * The DA core's gridded observations (H = selection) from an observation batch whose entries carry grid rows and
 * columns (simulated gridded observations). Validation happens in `griddedObservations`.
 * @param stateShape - [C, H, W] of the state the batch observes
 * @throws AppError `INVALID_ARGUMENT` when the batch has no grid rows and columns (point observations)
 */
export function griddedFromBatch(
  batch: ObsBatch,
  stateShape: readonly [number, number, number],
): Observations {
  if (!batch.row || !batch.col) {
    throw new AppError(
      'INVALID_ARGUMENT',
      'observation batch has no grid rows/columns: point observations need the bilinear operator',
    );
  }
  return griddedObservations({
    stateShape,
    channel: batch.channelIndex,
    row: batch.row,
    col: batch.col,
    value: batch.value,
    std: batch.errorStd,
  });
}

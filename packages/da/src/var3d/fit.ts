import type { Grid, Tensor } from '@alignda/tensor';

import { createBSqrt } from './b-sqrt.js';
import type { BSqrt, CorrelationKind } from './b-sqrt.js';
import { estimateBackgroundError } from './background-error.js';
import { biasCorrect } from './bias.js';
import type { BackgroundErrorOptions, BackgroundErrorStats } from './background-error.js';
import type { CgOptions } from './cg.js';
import { tune3DVar } from './tune.js';
import type { Tune3DVarResult, Var3DCase } from './tune.js';

type FloatArray = Float32Array | Float64Array;

/** Background/truth pairs of the training period, each `[N, C, H, W]` in the units 3D-Var is solved in. */
export interface BackgroundTruthPairs {
  readonly background: Tensor<FloatArray>;
  readonly truth: Tensor<FloatArray>;
}

/** Options of {@link fit3DVar}. */
export interface Fit3DVarOptions {
  /** Candidate correlation length scales, metres (one value: no search). */
  readonly lengthScalesM: readonly number[];
  /** How B's variances and channel correlations are estimated. @defaultValue estimateBackgroundError's defaults */
  readonly stats?: BackgroundErrorOptions;
  /** Correlation function. @defaultValue 'gaussian' (tune3DVar's) */
  readonly kind?: CorrelationKind;
  /**
   * Remove the training pairs' mean background error ({@link biasCorrect}) from the tuning cases' backgrounds
   * before tuning; the caller corrects its own backgrounds with `correctBackground`.
   * @defaultValue false (3D-Var on the raw background, as before the option existed)
   */
  readonly biasCorrection?: boolean;
  readonly cg?: CgOptions;
  /**
   * 1 where a grid cell holds data, shape [H, W] (a padded dataset's valid-area mask): B's statistics are estimated
   * and the length scale is scored on those cells only, so the padding cannot move either.
   * @defaultValue every cell
   */
  readonly validMask?: Uint8Array;
  readonly onProgress?: (fraction: number) => void;
}

/** A fitted 3D-Var: its B statistics, the tuning table and the square root of B at the best length scale. */
export interface Fit3DVarResult {
  readonly stats: BackgroundErrorStats;
  readonly tuning: Tune3DVarResult;
  readonly bSqrt: BSqrt;
  /**
   * What to do to a background, shape [C, H, W], before solving with `bSqrt`: {@link biasCorrect} with `stats`
   * when `biasCorrection` was asked, a float64 copy otherwise.
   */
  readonly correctBackground: (background: FloatArray) => Float64Array;
}

/**
 * Fits 3D-Var the one way every caller does: B's variances (and channel correlations) from background-minus-truth
 * statistics of `pairs` ({@link estimateBackgroundError}), the correlation length scale chosen by analysis MSE on
 * `tuneCases` ({@link tune3DVar}, on bias-corrected backgrounds with `biasCorrection`), and B^(1/2) built at that
 * length scale ({@link createBSqrt}); with `validMask`, statistics and scores over the valid cells only. Pure:
 * making the pairs needs a forecast model and belongs to the caller.
 * @param pairs - training-period backgrounds and truths, each `[N, C, H, W]`
 * @param tuneCases - cases (background, observations, truth) on which the length scale is chosen
 */
export function fit3DVar(
  pairs: BackgroundTruthPairs,
  tuneCases: readonly Var3DCase[],
  grid: Grid,
  options: Fit3DVarOptions,
): Fit3DVarResult {
  const stats = estimateBackgroundError(pairs.background, pairs.truth, {
    ...options.stats,
    ...(options.validMask === undefined ? {} : { validMask: options.validMask }),
  });
  const correctBackground =
    (options.biasCorrection ?? false)
      ? (background: FloatArray): Float64Array => biasCorrect(background, stats)
      : (background: FloatArray): Float64Array => Float64Array.from(background);
  const cases =
    (options.biasCorrection ?? false)
      ? tuneCases.map((c) => ({ ...c, background: correctBackground(c.background) }))
      : tuneCases;
  const tuning = tune3DVar({
    grid,
    stats,
    cases,
    lengthScalesM: options.lengthScalesM,
    ...(options.kind === undefined ? {} : { kind: options.kind }),
    ...(options.cg === undefined ? {} : { cg: options.cg }),
    ...(options.validMask === undefined ? {} : { validMask: options.validMask }),
    ...(options.onProgress === undefined ? {} : { onProgress: (f: number) => options.onProgress?.(f) }),
  });
  const bSqrt = createBSqrt(grid, stats, {
    lengthScaleM: tuning.best.lengthScaleM,
    ...(options.kind === undefined ? {} : { kind: options.kind }),
  });
  return { stats, tuning, bSqrt, correctBackground };
}

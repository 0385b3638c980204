import type { FloatArray, Grid } from '@alignda/tensor';
import { invalidArgument } from '../internal/errors.js';
import type { BackgroundErrorStats } from './background-error.js';
import type { BSqrt, CorrelationKind } from './b-sqrt.js';
import type { BalanceSpec } from './balance.js';
import { createBalancedBSqrt } from './balanced-b.js';
import { estimateBalancedStats } from './balanced-stats.js';
import type { BalancedStats, BalancedStatsOptions } from './balanced-stats.js';
import { biasCorrect } from './bias.js';
import type { CgOptions } from './cg.js';
import type { BackgroundTruthPairs } from './fit.js';
import { tuneBSqrt } from './tune.js';
import type { Var3DCase } from './tune.js';

/** Multipliers of the estimated length scales tried by default: a factor-2 range each way in steps of ~1.4. */
export const DEFAULT_LENGTH_SCALE_MULTIPLIERS: readonly number[] = Object.freeze([0.5, 0.7, 1, 1.4, 2]);

/** Options of {@link fitBalanced3DVar}. */
export interface FitBalanced3DVarOptions {
  /** Channel roles, Coriolis parameter and the normalisation std of the states. */
  readonly balance: BalanceSpec;
  /**
   * Common multipliers of the per-variable length scales estimated on the pairs, searched on the tuning cases
   * (the tuning budget: this many candidates x the tuning cases, in analyses).
   * @defaultValue {@link DEFAULT_LENGTH_SCALE_MULTIPLIERS} (5 candidates)
   */
  readonly lengthScaleMultipliers?: readonly number[];
  /** How the control variables' statistics are estimated. @defaultValue estimateBalancedStats' defaults */
  readonly stats?: BalancedStatsOptions;
  /**
   * Remove the pairs' mean background error from the tuning backgrounds (and, through `correctBackground`, from the
   * caller's). @defaultValue true (METHOD.md section 7: the classical baselines get bias-corrected backgrounds)
   */
  readonly biasCorrection?: boolean;
  /** @defaultValue 'gaussian' */
  readonly kind?: CorrelationKind;
  readonly cg?: CgOptions;
  /**
   * 1 where a grid cell holds data, shape [H, W]. The balanced statistics take derivatives across the whole grid and
   * have no masked form: a mask with a padded cell is refused; an all-ones mask is the same as none.
   * @defaultValue every cell
   */
  readonly validMask?: Uint8Array;
  readonly onProgress?: (fraction: number) => void;
}

/** One row of the balanced tuning table. */
export interface BalancedTuneRow {
  /** The common multiplier of the estimated length scales. */
  readonly multiplier: number;
  /** The length scale of each control variable it gives, metres, [C]. */
  readonly lengthScalesM: readonly number[];
  /** Analysis MSE against the truth over the tuning cases (the units of the fields given). */
  readonly mse: number;
  /** Mean CG iterations per case. */
  readonly meanIterations: number;
}

/** A fitted balanced 3D-Var. */
export interface FitBalanced3DVarResult {
  /** Statistics of the full background error (its bias is the one removed). */
  readonly stats: BackgroundErrorStats;
  /** The control variables' statistics, estimated length scales and the variance the balance explains. */
  readonly balanced: BalancedStats;
  /** The tuning table, in the order of the multipliers, and its best row. */
  readonly tuning: { readonly table: readonly BalancedTuneRow[]; readonly best: BalancedTuneRow };
  /** B^(1/2) at the best multiplier. */
  readonly bSqrt: BSqrt;
  /** Bias-corrects a background [C, H, W] ({@link biasCorrect}), or copies it when `biasCorrection` is false. */
  readonly correctBackground: (background: FloatArray) => Float64Array;
}

/**
 * Fits a balanced, bias-corrected 3D-Var: the background bias and the control variables' per-variable variances,
 * correlations and length scales from the training pairs ({@link estimateBalancedStats}), one common multiplier of
 * the estimated length scales chosen by analysis MSE on `tuneCases` (bias-corrected backgrounds; the caller takes
 * them from another period, e.g. the alignment period), and B^(1/2) ({@link createBalancedBSqrt}) at the best.
 * Pure: making the pairs and cases needs a forecast model and belongs to the caller.
 * @param pairs - training-period backgrounds and truths, each [N, C, H, W], normalised units
 * @param tuneCases - cases (background, observations, truth) on which the multiplier is chosen
 */
export function fitBalanced3DVar(
  pairs: BackgroundTruthPairs,
  tuneCases: readonly Var3DCase[],
  grid: Grid,
  options: FitBalanced3DVarOptions,
): FitBalanced3DVarResult {
  const fn = 'fitBalanced3DVar';
  const multipliers = options.lengthScaleMultipliers ?? DEFAULT_LENGTH_SCALE_MULTIPLIERS;
  if (multipliers.length === 0) throw invalidArgument(fn, 'no length-scale multipliers given');
  multipliers.forEach((m, k) => {
    if (!(m > 0) || !Number.isFinite(m))
      throw invalidArgument(fn, `lengthScaleMultipliers[${k}] = ${m} must be finite and > 0`);
  });
  const mask = options.validMask;
  if (mask !== undefined && mask.some((m) => m === 0))
    throw invalidArgument(
      fn,
      'the balanced statistics have no masked form (their derivatives cross the grid): a padded grid is not supported',
    );
  const balanced = estimateBalancedStats(pairs.background, pairs.truth, grid, options.balance, options.stats);
  const stats = balanced.error;
  const correct = options.biasCorrection ?? true;
  const correctBackground = correct
    ? (background: FloatArray): Float64Array => biasCorrect(background, stats)
    : (background: FloatArray): Float64Array => Float64Array.from(background);
  const cases = tuneCases.map((c) => ({ ...c, background: correctBackground(c.background) }));
  const kind = options.kind ?? 'gaussian';
  const build = (m: number): BSqrt =>
    createBalancedBSqrt(grid, balanced.control, options.balance, {
      kind,
      lengthScalesM: Array.from(balanced.lengthScalesM, (L) => m * L),
    });
  const res = tuneBSqrt({
    cases,
    candidates: multipliers,
    build,
    ...(options.cg === undefined ? {} : { cg: options.cg }),
    ...(options.onProgress === undefined ? {} : { onProgress: (f: number) => options.onProgress?.(f) }),
  });
  const row = (r: { candidate: number; mse: number; meanIterations: number }): BalancedTuneRow => ({
    multiplier: r.candidate,
    lengthScalesM: Array.from(balanced.lengthScalesM, (L) => r.candidate * L),
    mse: r.mse,
    meanIterations: r.meanIterations,
  });
  const table = res.table.map(row);
  const best = row(res.best);
  return { stats, balanced, tuning: { table, best }, bSqrt: build(best.multiplier), correctBackground };
}

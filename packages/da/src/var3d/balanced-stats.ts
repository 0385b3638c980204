import type { FloatArray, Grid, Tensor } from '@alignda/tensor';
import { checkSameShape, invalidArgument } from '../internal/errors.js';
import { estimateBackgroundError } from './background-error.js';
import type { BackgroundErrorStats } from './background-error.js';
import { createBalanceOperator } from './balance.js';
import type { BalanceSpec } from './balance.js';
import { estimateLengthScales } from './length-scale.js';
import type { LengthScaleOptions } from './length-scale.js';

/**
 * Which correlations between control variables at one point are kept:
 * - `none`: none (B_u is block-diagonal by variable and level);
 * - `levels`: only between control variables of the same kind (the geopotentials of the levels with each other,
 *   the unbalanced u residuals with each other, ...): the vertical correlations of Bannister 2008 part II,
 *   section 4, with the kinds uncorrelated as the control-variable transform intends;
 * - `full`: all, as estimated.
 */
export type ControlCorrelation = 'none' | 'levels' | 'full';

/** Options of {@link estimateBalancedStats}. */
export interface BalancedStatsOptions extends LengthScaleOptions {
  /** One variance per control variable and latitude row instead of per control variable. @defaultValue false */
  readonly perLatitude?: boolean;
  /** @defaultValue 'levels' */
  readonly controlCorrelation?: ControlCorrelation;
}

/** Statistics of a balanced B, all in the normalised units the pairs were given in. */
export interface BalancedStats {
  /**
   * Statistics of the full background error x_b - x_t ({@link estimateBackgroundError}): its `bias` is what
   * {@link biasCorrect} removes.
   */
  readonly error: BackgroundErrorStats;
  /**
   * Statistics of the control variables dx_u = K^-1 (x_b - x_t), channel by channel (the geopotential itself for
   * a geopotential channel, the unbalanced residual for a balanced wind or temperature channel, the error itself
   * for other channels): variance [C] or [C, H] about their mean, and their correlation at a point restricted
   * by `controlCorrelation` (absent for `none`). The `stats` of {@link createBalancedBSqrt}.
   */
  readonly control: BackgroundErrorStats;
  /** Gaussian length scale of each control variable, metres, [C] ({@link estimateLengthScales}). */
  readonly lengthScalesM: Float64Array;
  /**
   * Share of each channel's error variance the balance explains, 1 - var(residual) / var(error) pooled over the
   * grid, [C]; 0 for channels the balance does not target. Near 1 for geostrophic winds in mid-latitudes.
   */
  readonly explainedVariance: Float64Array;
}

/**
 * Estimates the statistics of a multivariate balanced B on a training period (the "per-variable variances and
 * length scales" of Bannister 2008, QJRMS 134, part I section 4 and part II section 3, from background-minus-truth
 * errors as in an OSSE where the truth is known): the errors e = x_b - x_t of each pair are split by the balance
 * operator into control variables dx_u = K^-1 e (geopotentials unchanged; winds and temperatures minus the
 * geostrophic and hydrostatic parts of the geopotential errors), whose variances (optionally per latitude),
 * correlations at a point and Gaussian length scales are then estimated channel by channel. Length scales are
 * estimates to be tuned (e.g. one common multiplier) on another period: see {@link fitBalanced3DVar}.
 * @param background - training backgrounds, shape [S, C, H, W], S >= 2, normalised units
 * @param truth - the verifying truths, shape of `background`
 * @param grid - the grid of the states
 * @param balance - channel roles, Coriolis parameter and the normalisation std
 */
export function estimateBalancedStats(
  background: Tensor<FloatArray>,
  truth: Tensor<FloatArray>,
  grid: Grid,
  balance: BalanceSpec,
  options: BalancedStatsOptions = {},
): BalancedStats {
  const fn = 'estimateBalancedStats';
  checkSameShape(fn, 'background', background.shape, 'truth', truth.shape);
  const perLatitude = options.perLatitude ?? false;
  const mode = options.controlCorrelation ?? 'levels';
  // Validates shapes, sample count and finiteness, and gives the bias.
  const error = estimateBackgroundError(background, truth, { perLatitude });
  const [S, C, H, W] = background.shape as [number, number, number, number];
  if (grid.latDeg.length !== H || grid.lonDeg.length !== W)
    throw invalidArgument(
      fn,
      `the grid is ${grid.latDeg.length} x ${grid.lonDeg.length} but the states are ${H} x ${W}`,
    );
  const K = createBalanceOperator(fn, grid, balance, C);
  const n = C * H * W;
  const e = new Float64Array(n);
  const residual = new Float64Array(S * n); // [S, C, H, W]
  for (let s = 0; s < S; s++) {
    for (let p = 0; p < n; p++)
      e[p] = (background.data[s * n + p] as number) - (truth.data[s * n + p] as number);
    residual.set(K.applyInverse(e), s * n);
  }
  const residualTensor = { data: residual, shape: [S, C, H, W] };
  const base = estimateBackgroundError(
    residualTensor,
    { data: new Float64Array(S * n), shape: [S, C, H, W] },
    { perLatitude, crossChannel: mode !== 'none' },
  );
  let control: BackgroundErrorStats = base;
  if (mode === 'levels' && base.channelCorrelation !== undefined) {
    const groupOf = new Int32Array(C);
    K.groups.forEach((g, k) => g.forEach((c) => (groupOf[c] = k)));
    const corr = base.channelCorrelation.map((r, k) =>
      groupOf[Math.floor(k / C)] === groupOf[k % C] ? r : 0,
    );
    control = { ...base, channelCorrelation: corr };
  }
  const explainedVariance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    // Only targets of the balance have a residual that differs from their error.
    let varE = 0;
    let varR = 0;
    let meanE = 0;
    let meanR = 0;
    let differs = false;
    const m = S * H * W;
    for (let s = 0; s < S; s++)
      for (let p = c * H * W; p < (c + 1) * H * W; p++) {
        const ev = (background.data[s * n + p] as number) - (truth.data[s * n + p] as number);
        const rv = residual[s * n + p] as number;
        if (ev !== rv) differs = true;
        meanE += ev / m;
        meanR += rv / m;
      }
    if (!differs) continue;
    for (let s = 0; s < S; s++)
      for (let p = c * H * W; p < (c + 1) * H * W; p++) {
        varE += ((background.data[s * n + p] as number) - (truth.data[s * n + p] as number) - meanE) ** 2;
        varR += ((residual[s * n + p] as number) - meanR) ** 2;
      }
    explainedVariance[c] = varE > 0 ? 1 - varR / varE : 0;
  }
  const lengthScalesM = estimateLengthScales(residualTensor, grid, options);
  return { error, control, lengthScalesM, explainedVariance };
}

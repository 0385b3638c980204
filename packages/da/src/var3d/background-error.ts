import type { FloatArray, Tensor } from '@alignda/tensor';
import { checkSameShape, invalidArgument } from '../internal/errors.js';

/** Background-error statistics of a training period, the D and optional cross-channel C of B = D^(1/2) C D^(1/2). */
export interface BackgroundErrorStats {
  /** Channels C, rows H, columns W of the state. */
  readonly stateShape: readonly [number, number, number];
  /** Whether `variance` (and `bias`) hold one value per channel and latitude row. */
  readonly perLatitude: boolean;
  /** Error variance, shape [C] or [C, H] (perLatitude), >= 0. */
  readonly variance: Float64Array;
  /**
   * Mean background-minus-truth error x_b - x_t, shape of `variance`. 3D-Var assumes an unbiased background:
   * remove it with `biasCorrect`.
   */
  readonly bias: Float64Array;
  /** Cross-channel correlation of the errors at one grid point, C x C row-major, when estimated. */
  readonly channelCorrelation?: Float64Array;
  /** Number of samples (cases) the statistics came from. */
  readonly samples: number;
}

/** Options of {@link estimateBackgroundError}. */
export interface BackgroundErrorOptions {
  /** One variance per channel and latitude row instead of per channel. @defaultValue false */
  readonly perLatitude?: boolean;
  /** Estimate the C x C correlation between channels at the same point. @defaultValue false */
  readonly crossChannel?: boolean;
  /**
   * 1 where a grid cell holds data, shape [H, W] (a padded dataset's valid-area mask, e.g. ncep-air's): only those
   * cells are counted, and masked cells are never read (they may hold anything, NaN included). A latitude row
   * without a valid cell takes its channel's values over all valid cells. @defaultValue every cell
   */
  readonly validMask?: Uint8Array;
}

/**
 * Estimates background-error statistics from background-minus-truth differences of a training period
 * (the "NMC-like" sample estimate with truth available, as for OSSEs): per-channel (optionally per-latitude)
 * variance about the mean error, and optionally the cross-channel correlation of the standardised errors
 * pooled over samples and grid points.
 * @param background - backgrounds, shape [S, C, H, W], S >= 2
 * @param truth - the verifying truths, shape [S, C, H, W]
 */
export function estimateBackgroundError(
  background: Tensor<FloatArray>,
  truth: Tensor<FloatArray>,
  options: BackgroundErrorOptions = {},
): BackgroundErrorStats {
  const fn = 'estimateBackgroundError';
  checkSameShape(fn, 'background', background.shape, 'truth', truth.shape);
  if (background.shape.length !== 4) {
    throw invalidArgument(
      fn,
      `background must have shape [S, C, H, W], got [${background.shape.join(', ')}]`,
    );
  }
  const [S, C, H, W] = background.shape as [number, number, number, number];
  if (S < 2) throw invalidArgument(fn, `at least 2 samples are needed to estimate a variance, got ${S}`);
  if (background.data.length !== S * C * H * W || truth.data.length !== background.data.length) {
    throw invalidArgument(fn, `data lengths do not match the shape [${background.shape.join(', ')}]`);
  }
  const perLatitude = options.perLatitude ?? false;
  const mask = options.validMask;
  if (mask !== undefined && mask.length !== H * W)
    throw invalidArgument(fn, `validMask has ${mask.length} cells but the states are ${H} x ${W}`);
  const valid = (i: number, k: number): boolean => mask === undefined || mask[i * W + k] !== 0;
  // Valid cells per latitude row, and in all.
  const rowCells = Array.from({ length: H }, (_, i) => {
    let n = 0;
    for (let k = 0; k < W; k++) if (valid(i, k)) n++;
    return n;
  });
  const cells = rowCells.reduce((a, b) => a + b, 0);
  if (cells === 0) throw invalidArgument(fn, 'validMask marks no cell valid');
  const err = (s: number, c: number, i: number, k: number): number => {
    const idx = ((s * C + c) * H + i) * W + k;
    const e = (background.data[idx] as number) - (truth.data[idx] as number);
    if (!Number.isFinite(e))
      throw invalidArgument(
        fn,
        `non-finite background or truth at sample ${s}, channel ${c}, row ${i}, col ${k}`,
      );
    return e;
  };
  // Per channel over every valid cell, and per row (used where the row has valid cells); summed sample by sample
  // in storage order.
  const channelBias = new Float64Array(C);
  const channelVariance = new Float64Array(C);
  const rowBias = new Float64Array(C * H);
  const rowVariance = new Float64Array(C * H);
  const rowCount = (i: number): number => S * (rowCells[i] as number);
  for (let s = 0; s < S; s++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H; i++)
        for (let k = 0; k < W; k++) {
          if (!valid(i, k)) continue;
          const e = err(s, c, i, k);
          channelBias[c] = (channelBias[c] as number) + e / (S * cells);
          rowBias[c * H + i] = (rowBias[c * H + i] as number) + e / rowCount(i);
        }
  for (let s = 0; s < S; s++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H; i++)
        for (let k = 0; k < W; k++) {
          if (!valid(i, k)) continue;
          const e = err(s, c, i, k);
          const r = c * H + i;
          channelVariance[c] =
            (channelVariance[c] as number) + (e - (channelBias[c] as number)) ** 2 / (S * cells - 1);
          rowVariance[r] = (rowVariance[r] as number) + (e - (rowBias[r] as number)) ** 2 / (rowCount(i) - 1);
        }
  const groups = perLatitude ? C * H : C;
  const group = (c: number, i: number): number => (perLatitude ? c * H + i : c);
  const bias = new Float64Array(groups);
  const variance = new Float64Array(groups);
  for (let c = 0; c < C; c++) {
    if (!perLatitude) {
      bias[c] = channelBias[c] as number;
      variance[c] = channelVariance[c] as number;
      continue;
    }
    for (let i = 0; i < H; i++) {
      const row = (rowCells[i] as number) > 0;
      bias[c * H + i] = row ? (rowBias[c * H + i] as number) : (channelBias[c] as number);
      variance[c * H + i] = row ? (rowVariance[c * H + i] as number) : (channelVariance[c] as number);
    }
  }
  const stats: BackgroundErrorStats = { stateShape: [C, H, W], perLatitude, variance, bias, samples: S };
  if (!(options.crossChannel ?? false)) return stats;
  const corr = new Float64Array(C * C);
  const z = new Float64Array(C);
  for (let s = 0; s < S; s++) {
    for (let i = 0; i < H; i++) {
      for (let k = 0; k < W; k++) {
        if (!valid(i, k)) continue;
        for (let c = 0; c < C; c++) {
          const g = group(c, i);
          const sd = Math.sqrt(variance[g] as number);
          z[c] = sd > 0 ? (err(s, c, i, k) - (bias[g] as number)) / sd : 0;
        }
        for (let a = 0; a < C; a++)
          for (let b = 0; b < C; b++)
            corr[a * C + b] = (corr[a * C + b] as number) + (z[a] as number) * (z[b] as number);
      }
    }
  }
  // Normalise to a unit diagonal (the pooled standardised second moments are ~1 but not exactly).
  const d = Array.from({ length: C }, (_, c) => Math.sqrt(corr[c * C + c] as number));
  for (let a = 0; a < C; a++) {
    for (let b = 0; b < C; b++) {
      const den = (d[a] as number) * (d[b] as number);
      corr[a * C + b] = den > 0 ? (corr[a * C + b] as number) / den : a === b ? 1 : 0;
    }
  }
  return { ...stats, channelCorrelation: corr };
}

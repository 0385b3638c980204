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
  const groups = perLatitude ? C * H : C;
  const group = (c: number, i: number): number => (perLatitude ? c * H + i : c);
  const count = (S * H * W) / (perLatitude ? H : 1);
  const bias = new Float64Array(groups);
  const variance = new Float64Array(groups);
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
  for (let s = 0; s < S; s++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H; i++) {
        const g = group(c, i);
        for (let k = 0; k < W; k++) bias[g] = (bias[g] as number) + err(s, c, i, k) / count;
      }
    }
  }
  for (let s = 0; s < S; s++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H; i++) {
        const g = group(c, i);
        for (let k = 0; k < W; k++)
          variance[g] = (variance[g] as number) + (err(s, c, i, k) - (bias[g] as number)) ** 2 / (count - 1);
      }
    }
  }
  const stats: BackgroundErrorStats = { stateShape: [C, H, W], perLatitude, variance, bias, samples: S };
  if (!(options.crossChannel ?? false)) return stats;
  const corr = new Float64Array(C * C);
  const z = new Float64Array(C);
  for (let s = 0; s < S; s++) {
    for (let i = 0; i < H; i++) {
      for (let k = 0; k < W; k++) {
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

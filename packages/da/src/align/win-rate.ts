/**
 * R_assim and R_forecast (METHOD.md section 5): the Bradley-Terry expected win rate of each of N sibling samples of
 * one condition, from their latitude-weighted RMSE per variable against the truth.
 */
import { latWeightedRmse } from '@alignda/tensor';
import type { FloatArray, Tensor } from '@alignda/tensor';
import { fmtShape, invalidArgument } from '../internal/errors.js';
import { median } from '../internal/order-stats.js';

/** Options of {@link siblingErrors}, {@link assimReward} and {@link forecastReward}. */
export interface SiblingErrorOptions {
  /**
   * Valid-area mask, shape [H, W]: points where it is 0 are left out of every RMSE (padded datasets).
   * @defaultValue every point valid
   */
  readonly mask?: Uint8Array;
}

/** Checks `samples` [N, C, H, W] against `truth` [C, H, W] and returns N, C, H, W. */
function checkSiblings(
  fn: string,
  samples: Tensor<FloatArray>,
  truth: Tensor<FloatArray>,
): [number, number, number, number] {
  const s = samples.shape;
  if (s.length !== 4 || s.some((d) => !Number.isInteger(d) || d < 1))
    throw invalidArgument(fn, `samples must have shape [N, C, H, W], got ${fmtShape(s)}`);
  const [N, C, H, W] = s as [number, number, number, number];
  if (truth.shape.length !== 3 || truth.shape.some((d, i) => d !== s[i + 1]))
    throw invalidArgument(
      fn,
      `samples have shape ${fmtShape(s)} but truth has shape ${fmtShape(truth.shape)} (expected [${C}, ${H}, ${W}])`,
    );
  if (samples.data.length !== N * C * H * W || truth.data.length !== C * H * W)
    throw invalidArgument(
      fn,
      `data lengths ${samples.data.length} (samples) and ${truth.data.length} (truth) do not match shape ${fmtShape(s)}`,
    );
  if (N < 2) throw invalidArgument(fn, `a win rate needs at least two sibling samples, got ${N}`);
  return [N, C, H, W];
}

/**
 * Latitude-weighted RMSE w[n][m] of each sibling sample n and variable m against the truth (WeatherBench, Rasp et
 * al. 2020, eq. 2, through tensor's `latWeightedRmse`). Variables are channels (a variable at a level). The errors
 * are in the fields' own units: the win rates of {@link bradleyTerryWinRates} with scales from
 * {@link winRateScales} do not depend on them (scaling a variable's errors scales its s_m alike).
 * @param samples - decoded sibling samples of one condition, shape [N, C, H, W], N >= 2
 * @param truth - the truth of the condition, shape [C, H, W], same units
 * @param latDeg - row latitudes in degrees, shape [H]
 * @returns w, shape [N, C]
 * @throws AppError INVALID_ARGUMENT on mismatched shapes, fewer than two samples, or non-finite errors
 */
export function siblingErrors(
  samples: Tensor<FloatArray>,
  truth: Tensor<FloatArray>,
  latDeg: ArrayLike<number>,
  options: SiblingErrorOptions = {},
): Tensor<Float64Array> {
  return errorsOf('siblingErrors', samples, truth, latDeg, options);
}

/** {@link siblingErrors} for the public function `fn`, which its messages name. */
function errorsOf(
  fn: string,
  samples: Tensor<FloatArray>,
  truth: Tensor<FloatArray>,
  latDeg: ArrayLike<number>,
  options: SiblingErrorOptions,
): Tensor<Float64Array> {
  const [N, C, H, W] = checkSiblings(fn, samples, truth);
  const CHW = C * H * W;
  const out = new Float64Array(N * C); // [N, C]
  for (let n = 0; n < N; n++) {
    const sample = { data: samples.data.subarray(n * CHW, (n + 1) * CHW), shape: [C, H, W] }; // [C, H, W]
    const w = latWeightedRmse(sample, truth, latDeg, options).perSample; // [C]
    for (let c = 0; c < C; c++) {
      const e = w[c] as number;
      if (!Number.isFinite(e))
        throw invalidArgument(
          fn,
          `sample ${n}, channel ${c}: the RMSE is ${e} (non-finite values in the fields)`,
        );
      out[n * C + c] = e;
    }
  }
  return { data: out, shape: [N, C] };
}

/** The logistic function 1 / (1 + e^-x), without overflow on either side. */
function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Checks errors [N, M] and returns N, M. */
function checkErrors(fn: string, errors: Tensor<FloatArray>, what = 'errors'): [number, number] {
  const s = errors.shape;
  if (
    s.length !== 2 ||
    s.some((d) => !Number.isInteger(d) || d < 1) ||
    errors.data.length !== (s[0] ?? 0) * (s[1] ?? 0)
  )
    throw invalidArgument(
      fn,
      `${what} must have shape [N, M] with data of length N M, got shape ${fmtShape(s)} and ${errors.data.length} values`,
    );
  const k = errors.data.findIndex((e) => !Number.isFinite(e));
  if (k >= 0)
    throw invalidArgument(
      fn,
      `${what}[${Math.floor(k / (s[1] as number))}][${k % (s[1] as number)}] = ${errors.data[k]} is not finite`,
    );
  return s as [number, number];
}

/**
 * The Bradley-Terry expected win rate of each sibling (METHOD.md section 5):
 * r_n = 1 / (M (N - 1)) sum_m sum_{j != n} sigmoid((w[j][m] - w[n][m]) / s_m), the probability that sample n beats
 * a random sibling on a random variable, lower error winning. In [0, 1]; 0.5 for identical samples; the N rates sum
 * to N / 2.
 * @param errors - w, shape [N, M], N >= 2, finite
 * @param scales - s_m, shape [M], finite and > 0, in the units of `errors` ({@link winRateScales})
 * @returns r, shape [N]
 * @throws AppError INVALID_ARGUMENT on a bad shape, fewer than two samples, a non-finite error, or a scale not > 0
 */
export function bradleyTerryWinRates(errors: Tensor<FloatArray>, scales: ArrayLike<number>): Float64Array {
  const fn = 'bradleyTerryWinRates';
  const [N, M] = checkErrors(fn, errors);
  if (N < 2) throw invalidArgument(fn, `a win rate needs at least two sibling samples, got ${N}`);
  if (scales.length !== M)
    throw invalidArgument(fn, `${scales.length} scales for errors of shape [${N}, ${M}] (one per variable)`);
  for (let m = 0; m < M; m++) {
    const s = scales[m] as number;
    if (!(s > 0) || !Number.isFinite(s))
      throw invalidArgument(fn, `scales[${m}] = ${s} must be finite and > 0`);
  }
  const w = errors.data;
  const r = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let acc = 0;
    for (let m = 0; m < M; m++) {
      const s = scales[m] as number;
      const wn = w[n * M + m] as number;
      for (let j = 0; j < N; j++) if (j !== n) acc += sigmoid(((w[j * M + m] as number) - wn) / s);
    }
    r[n] = acc / (M * (N - 1));
  }
  return r;
}

/**
 * The scale s_m of each variable's win rate, fixed on the alignment period **[choice]**: the median over conditions
 * of the standard deviation (population, divide by N) of w[.][m] across a condition's siblings. A difference of
 * one typical sibling spread then moves a pairwise win probability from 0.5 to sigmoid(1) = 0.73.
 * @param errors - w of each condition of the period, each shape [N_i, M] ({@link siblingErrors}), N_i >= 2
 * @returns s, shape [M], in the units of the errors
 * @throws AppError INVALID_ARGUMENT on no conditions, mismatched M, or a variable whose scale comes out 0 (its
 *   siblings have identical errors in most conditions)
 */
export function winRateScales(errors: readonly Tensor<FloatArray>[]): Float64Array {
  const fn = 'winRateScales';
  if (errors.length === 0)
    throw invalidArgument(fn, 'no conditions: the scales need the errors of at least one');
  const M = errors[0]?.shape[1] ?? 0;
  const stds = Array.from({ length: M }, () => new Float64Array(errors.length)); // [M][conditions]
  errors.forEach((e, i) => {
    const [N, Mi] = checkErrors(fn, e, `errors[${i}]`);
    if (Mi !== M) throw invalidArgument(fn, `errors[${i}] has ${Mi} variables but errors[0] has ${M}`);
    if (N < 2) throw invalidArgument(fn, `errors[${i}] has ${N} sibling; a spread needs at least two`);
    for (let m = 0; m < M; m++) {
      let mean = 0;
      for (let n = 0; n < N; n++) mean += (e.data[n * M + m] as number) / N;
      let v = 0;
      for (let n = 0; n < N; n++) v += ((e.data[n * M + m] as number) - mean) ** 2 / N;
      (stds[m] as Float64Array)[i] = Math.sqrt(v);
    }
  });
  return Float64Array.from(stds, (s, m) => {
    const med = median(s);
    if (!(med > 0))
      throw invalidArgument(
        fn,
        `variable ${m}: the median sibling spread of its errors is ${med}; a win-rate scale must be > 0`,
      );
    return med;
  });
}

/**
 * R_assim (METHOD.md section 5): the Bradley-Terry win rate of each sibling sample's latitude-weighted RMSE against
 * the truth, {@link bradleyTerryWinRates} of {@link siblingErrors}. Unit-free, in [0, 1], higher = better.
 * @param samples - decoded sibling samples of one condition, shape [N, C, H, W], N >= 2
 * @param truth - the condition's truth, shape [C, H, W], in the units of `samples`
 * @param latDeg - row latitudes in degrees, shape [H]
 * @param scales - s_m per channel, shape [C], from {@link winRateScales} on errors in the same units
 * @returns shape [N]
 */
export function assimReward(
  samples: Tensor<FloatArray>,
  truth: Tensor<FloatArray>,
  latDeg: ArrayLike<number>,
  scales: ArrayLike<number>,
  options: SiblingErrorOptions = {},
): Float64Array {
  return bradleyTerryWinRates(errorsOf('assimReward', samples, truth, latDeg, options), scales);
}

/**
 * R_forecast (METHOD.md section 5): the win rate of {@link assimReward} on the errors of the 48-hour forecasts
 * started from each sample, against the truth 48 h after the condition. Running the frozen forecast model is the
 * caller's job.
 * @param forecasts - the +48 h forecast from each sample, shape [N, C, H, W], N >= 2
 * @param verifyingTruth - the truth at the forecasts' valid time, shape [C, H, W]
 * @param latDeg - row latitudes in degrees, shape [H]
 * @param scales - s_m per channel, shape [C], from {@link winRateScales} on forecast errors
 * @returns shape [N]
 */
export function forecastReward(
  forecasts: Tensor<FloatArray>,
  verifyingTruth: Tensor<FloatArray>,
  latDeg: ArrayLike<number>,
  scales: ArrayLike<number>,
  options: SiblingErrorOptions = {},
): Float64Array {
  return bradleyTerryWinRates(errorsOf('forecastReward', forecasts, verifyingTruth, latDeg, options), scales);
}

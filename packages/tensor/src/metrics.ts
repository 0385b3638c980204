import type { Tensor } from './field.js';
import { checkSameShape, checkTensor, fmtShape } from './internal/shape.js';
import type { FloatArray } from './internal/shape.js';
import { pointWeights } from './internal/point-weights.js';
import { latitudeWeights } from './weights.js';
import { TensorError } from './tensor-error.js';

/** Options shared by the metrics. */
export interface MetricOptions {
  /**
   * Valid-area mask, shape [H, W]: points where it is 0 are left out of every mean.
   * @defaultValue every point valid
   */
  readonly mask?: Uint8Array;
}

/** Options of {@link mse} and {@link mae}. */
export interface PlainMetricOptions extends MetricOptions {
  /**
   * Row latitudes in degrees, shape [H]: when given, points are weighted by {@link latitudeWeights}.
   * @defaultValue unweighted (every valid point counts the same), as in METHOD.md section 7
   */
  readonly latDeg?: ArrayLike<number>;
}

/** A metric per channel and over all channels. */
export interface ChannelMetric {
  /** Mean over samples of the metric of each channel, shape [C]. */
  readonly perChannel: Float64Array;
  /** Mean of `perChannel` over channels (for MSE and MAE: the mean over every valid value). */
  readonly overall: number;
}

/** Latitude-weighted RMSE, with the per-sample values it averages. */
export interface WeightedRmse extends ChannelMetric {
  /** RMSE of each sample and channel, shape [N, C]. */
  readonly perSample: Float64Array;
}

/**
 * Mean squared error.
 * @param pred - prediction, shape [N, C, H, W] or [C, H, W] (N = 1)
 * @param target - truth, the shape of `pred`
 */
export function mse(
  pred: Tensor<FloatArray>,
  target: Tensor<FloatArray>,
  options: PlainMetricOptions = {},
): ChannelMetric {
  const { perSample, N, C } = sampleMeans('mse', pred, target, options.latDeg, options.mask, (e) => e * e);
  return channelSummary(perSample, N, C);
}

/**
 * Mean absolute error.
 * @param pred - prediction, shape [N, C, H, W] or [C, H, W] (N = 1)
 * @param target - truth, the shape of `pred`
 */
export function mae(
  pred: Tensor<FloatArray>,
  target: Tensor<FloatArray>,
  options: PlainMetricOptions = {},
): ChannelMetric {
  const { perSample, N, C } = sampleMeans('mae', pred, target, options.latDeg, options.mask, Math.abs);
  return channelSummary(perSample, N, C);
}

/**
 * Latitude-weighted RMSE of WeatherBench (Rasp et al. 2020, eq. 2): for each sample n and channel c,
 * sqrt(sum_ij w_i m_ij e_nij^2 / sum_ij w_i m_ij) with w the {@link latitudeWeights} and m the mask; then the
 * mean over samples per channel, and the mean over channels.
 * @param pred - prediction, shape [N, C, H, W] or [C, H, W] (N = 1)
 * @param target - truth, the shape of `pred`
 * @param latDeg - row latitudes in degrees, shape [H]
 */
export function latWeightedRmse(
  pred: Tensor<FloatArray>,
  target: Tensor<FloatArray>,
  latDeg: ArrayLike<number>,
  options: MetricOptions = {},
): WeightedRmse {
  const { perSample, N, C } = sampleMeans(
    'latWeightedRmse',
    pred,
    target,
    latDeg,
    options.mask,
    (e) => e * e,
  );
  for (let k = 0; k < perSample.length; k++) perSample[k] = Math.sqrt(perSample[k] as number);
  return { ...channelSummary(perSample, N, C), perSample };
}

/** Weighted spatial means of g(pred - target), shape [N, C]. */
function sampleMeans(
  fn: string,
  pred: Tensor<FloatArray>,
  target: Tensor<FloatArray>,
  latDeg: ArrayLike<number> | undefined,
  mask: Uint8Array | undefined,
  g: (e: number) => number,
): { perSample: Float64Array; N: number; C: number } {
  checkTensor(fn, 'pred', pred);
  checkTensor(fn, 'target', target);
  checkSameShape(fn, 'pred', pred.shape, 'target', target.shape);
  const s = pred.shape;
  if (s.length !== 3 && s.length !== 4) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `${fn}: expected shape [N, C, H, W] or [C, H, W], got ${fmtShape(s)}`,
    );
  }
  const [N, C, H, W] = (s.length === 4 ? s : [1, ...s]) as [number, number, number, number];
  if (latDeg !== undefined && latDeg.length !== H) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `${fn}: ${latDeg.length} latitudes for tensors of shape ${fmtShape(s)}`,
    );
  }
  const rowWeights = latDeg === undefined ? undefined : latitudeWeights(latDeg);
  const { weights, sum } = pointWeights(fn, H, W, rowWeights, mask);
  const perSample = new Float64Array(N * C);
  const a = pred.data;
  const b = target.data;
  const HW = H * W;
  for (let nc = 0; nc < N * C; nc++) {
    const o = nc * HW;
    let acc = 0;
    for (let k = 0; k < HW; k++) {
      const w = weights[k] as number;
      if (w !== 0) acc += w * g((a[o + k] as number) - (b[o + k] as number));
    }
    perSample[nc] = acc / sum;
  }
  return { perSample, N, C };
}

/** Mean over samples per channel, and the mean of that over channels. */
function channelSummary(perSample: Float64Array, N: number, C: number): ChannelMetric {
  const perChannel = new Float64Array(C);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      perChannel[c] = (perChannel[c] as number) + (perSample[n * C + c] as number) / N;
  let overall = 0;
  for (const v of perChannel) overall += v / C;
  return { perChannel, overall };
}

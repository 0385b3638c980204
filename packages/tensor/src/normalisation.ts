import type { Tensor } from './field.js';
import { pointWeights } from './internal/point-weights.js';
import { checkTensor, fmtShape, outOrAlloc } from './internal/shape.js';
import type { FloatArray } from './internal/shape.js';
import { TensorError } from './tensor-error.js';

/** Per-channel z-score statistics; plain arrays and numbers, so `JSON.stringify` round-trips them. */
export interface NormStats {
  /** Channel names, length C (empty when fitted without names). */
  readonly channels: readonly string[];
  /** Per-channel mean, length C, in the channel's units. */
  readonly mean: readonly number[];
  /** Per-channel population standard deviation, length C, > 0 (see {@link fitNormStats}). */
  readonly std: readonly number[];
  /**
   * Per-cell mean (a climatology), length C*H*W in [C, H, W] order, in the channels' units. When present, a value is
   * centred on its own cell's mean, (x - meanField[c, k]) / std_c, so that a model sees anomalies and need not
   * carry the fixed geography; `std` stays per channel, so differences of normalised fields (errors, increments,
   * observation noise) are exactly what they are without it. @defaultValue absent: centred on `mean`
   */
  readonly meanField?: readonly number[];
}

/** Options of {@link fitNormStats}. */
export interface FitNormStatsOptions {
  /**
   * Channel names to record, length C.
   * @defaultValue none (an empty list)
   */
  readonly channels?: readonly string[];
  /**
   * Valid-area mask, shape [H, W]: statistics use only points where it is non-zero.
   * @defaultValue every point valid
   */
  readonly mask?: Uint8Array;
  /**
   * Also fit {@link NormStats.meanField}: the mean of every cell over the samples (masked cells included, so that
   * every value normalise sees has a centre). `mean` and `std` are fitted as without it.
   * @defaultValue false
   */
  readonly perCellMean?: boolean;
}

/**
 * Fits per-channel mean and population standard deviation over samples and grid points, in float64 with
 * two passes (the one-pass formula loses digits when |mean| >> std). A channel whose std is below
 * 1e-12 max(1, |mean|) (a constant field such as a land-sea mask) gets std = 1: it is only centred.
 * @param x - samples, shape [N, C, H, W] or [C, H, W] (N = 1)
 */
export function fitNormStats(x: Tensor<FloatArray>, options: FitNormStatsOptions = {}): NormStats {
  const { N, C, H, W } = dims('fitNormStats', x);
  const HW = H * W;
  const channels = options.channels ?? [];
  if (channels.length !== 0 && channels.length !== C) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `fitNormStats: ${channels.length} channel names for data of shape ${fmtShape(x.shape)}`,
    );
  }
  const { weights, sum } = pointWeights('fitNormStats', H, W, undefined, options.mask);
  const count = sum * N;
  const mean: number[] = [];
  const std: number[] = [];
  const a = x.data;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * HW;
      for (let k = 0; k < HW; k++) if (weights[k] !== 0) s += a[o + k] as number;
    }
    const m = s / count;
    let ss = 0;
    for (let n = 0; n < N; n++) {
      const o = (n * C + c) * HW;
      for (let k = 0; k < HW; k++) if (weights[k] !== 0) ss += ((a[o + k] as number) - m) ** 2;
    }
    const sd = Math.sqrt(ss / count);
    mean.push(m);
    std.push(sd < 1e-12 * Math.max(1, Math.abs(m)) ? 1 : sd);
  }
  if (options.perCellMean !== true) return { channels: [...channels], mean, std };
  const field = new Float64Array(C * HW);
  for (let n = 0; n < N; n++) {
    const o = n * C * HW;
    for (let k = 0; k < C * HW; k++) field[k] = (field[k] as number) + (a[o + k] as number);
  }
  return { channels: [...channels], mean, std, meanField: Array.from(field, (v) => v / N) };
}

/** Options of {@link normalise} and {@link denormalise}. */
export interface NormaliseOptions<T extends FloatArray> {
  /**
   * Output buffer, length of `x`; may be `x.data` itself.
   * @defaultValue a new array of the element type of `x`
   */
  readonly out?: T;
}

/**
 * z-scores each channel: (x - mean_c) / std_c, or (x - meanField[c, k]) / std_c with a per-cell mean.
 * @param x - shape [N, C, H, W] or [C, H, W], C = stats.mean.length
 * @returns shape of `x`
 */
export function normalise<T extends FloatArray>(
  x: Tensor<T>,
  stats: NormStats,
  options: NormaliseOptions<T> = {},
): Tensor<T> {
  return affine('normalise', x, stats, options.out, (v, m, s) => (v - m) / s);
}

/**
 * Inverse of {@link normalise}: x_c std_c + mean_c (or + meanField[c, k]).
 * @param x - shape [N, C, H, W] or [C, H, W], C = stats.mean.length
 * @returns shape of `x`
 */
export function denormalise<T extends FloatArray>(
  x: Tensor<T>,
  stats: NormStats,
  options: NormaliseOptions<T> = {},
): Tensor<T> {
  return affine('denormalise', x, stats, options.out, (v, m, s) => v * s + m);
}

/**
 * Checks that an untrusted value (e.g. parsed JSON) is a {@link NormStats} and returns it typed.
 * @throws TensorError `MALFORMED_INPUT` naming the first problem
 */
export function parseNormStats(value: unknown): NormStats {
  const fail = (why: string): never => {
    throw new TensorError('MALFORMED_INPUT', `parseNormStats: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const { channels, mean, std } = value as Record<string, unknown>;
  const nums = (name: string, v: unknown): number[] => {
    if (!Array.isArray(v) || !v.every((e) => typeof e === 'number' && Number.isFinite(e))) {
      return fail(`${name} is not an array of finite numbers`);
    }
    return v as number[];
  };
  const m = nums('mean', mean);
  const s = nums('std', std);
  const { meanField } = value as Record<string, unknown>;
  const field = meanField === undefined ? undefined : nums('meanField', meanField);
  if (field !== undefined && (field.length === 0 || field.length % Math.max(1, m.length) !== 0))
    fail(`meanField has ${field.length} entries, not a whole number of ${m.length}-channel grids`);
  if (s.length !== m.length) fail(`mean has ${m.length} entries but std has ${s.length}`);
  if (s.some((e) => e <= 0)) fail('std has an entry <= 0');
  const names = channels ?? [];
  if (!Array.isArray(names) || !names.every((e) => typeof e === 'string'))
    fail('channels is not an array of strings');
  const ch = names as string[];
  if (ch.length !== 0 && ch.length !== m.length) fail(`${ch.length} channel names for ${m.length} means`);
  return {
    channels: [...ch],
    mean: [...m],
    std: [...s],
    ...(field === undefined ? {} : { meanField: [...field] }),
  };
}

function dims(fn: string, x: Tensor<FloatArray>): { N: number; C: number; H: number; W: number; HW: number } {
  checkTensor(fn, 'x', x);
  const s = x.shape;
  if (s.length !== 3 && s.length !== 4)
    throw new TensorError(
      'SHAPE_MISMATCH',
      `${fn}: expected shape [N, C, H, W] or [C, H, W], got ${fmtShape(s)}`,
    );
  const [N, C, H, W] = (s.length === 4 ? s : [1, ...s]) as [number, number, number, number];
  return { N, C, H, W, HW: H * W };
}

function affine<T extends FloatArray>(
  fn: string,
  x: Tensor<T>,
  stats: NormStats,
  out: T | undefined,
  g: (v: number, mean: number, std: number) => number,
): Tensor<T> {
  const { N, C, HW } = dims(fn, x);
  if (stats.mean.length !== C || stats.std.length !== C) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `${fn}: stats have ${stats.mean.length} means and ${stats.std.length} stds but x has shape ${fmtShape(x.shape)}`,
    );
  }
  const field = stats.meanField;
  if (field !== undefined && field.length !== C * HW) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `${fn}: stats have a mean field of ${field.length} values but x has shape ${fmtShape(x.shape)} (${C * HW} per sample)`,
    );
  }
  const y = outOrAlloc(fn, x.data, x.data.length, out);
  const a = x.data;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const m = stats.mean[c] as number;
      const s = stats.std[c] as number;
      const o = (n * C + c) * HW;
      if (field === undefined) for (let k = 0; k < HW; k++) y[o + k] = g(a[o + k] as number, m, s);
      else for (let k = 0; k < HW; k++) y[o + k] = g(a[o + k] as number, field[c * HW + k] as number, s);
    }
  }
  return { data: y, shape: [...x.shape] };
}

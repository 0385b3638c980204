/**
 * A job's observations in the units DA is solved in, and their departures. The request gives values and error stds
 * in physical units; the state is normalised per channel, x_n = (x - m) / s_c (m the channel mean or the per-cell
 * climatology of the norm statistics). H is linear and each observation reads one channel, so y_n = (y - H m) / s_c
 * and sigma_n = sigma / s_c: selection for cells, bilinear interpolation on the source grid for points (as
 * observe.ts's `points` layout builds it).
 */
import { griddedObservations } from '@alignda/da';
import type { Observations } from '@alignda/da';
import { AppError } from '@alignda/errors';
import type { NormStats } from '@alignda/tensor';
import { bilinearOperator, meanRms } from '@alignda/world';

import type { JobSourceShape, ResolvedObservations } from './request.js';

/** Observations ready for the DA core, with what turns their departures back into physical units. */
export interface NormalisedObservations {
  /** y_n, sigma_n and H, normalised units. */
  readonly obs: Observations;
  /** Channel of each observation, length P. */
  readonly channel: Int32Array;
  /** s_c of each observation's channel, length P: physical = normalised x s_c. */
  readonly scale: Float64Array;
}

/** The normalised state's zero in physical units, [C, H, W]: the per-cell climatology, or each channel's mean. */
function meanState(norm: NormStats, shape: readonly [number, number, number]): Float64Array {
  const [C, H, W] = shape;
  if (norm.meanField !== undefined) return Float64Array.from(norm.meanField);
  const m = new Float64Array(C * H * W);
  for (let c = 0; c < C; c++) m.fill(norm.mean[c] as number, c * H * W, (c + 1) * H * W);
  return m;
}

/**
 * The normalised observations of a checked request.
 * @param resolved - the output of `checkRequestAgainstSource` for this source
 * @throws AppError `INVALID_ARGUMENT` when the norm statistics do not have the source's channels, or a point fails
 *   to locate (a request not checked against this source)
 */
export function normaliseObservations(
  resolved: ResolvedObservations,
  src: JobSourceShape,
  norm: NormStats,
): NormalisedObservations {
  const [C, H, W] = src.shape;
  if (norm.std.length !== C || (norm.meanField !== undefined && norm.meanField.length !== C * H * W))
    throw new AppError(
      'INVALID_ARGUMENT',
      `the models' norm statistics have ${norm.std.length} channels; the source has ${C} (${src.channels.join(', ')})`,
    );
  const P = resolved.value.length;
  const scale = Float64Array.from(resolved.channel, (c) => norm.std[c] as number);
  const mean = meanState(norm, src.shape);
  const values = new Float64Array(P);
  const std = Float64Array.from(resolved.sigma, (s, p) => s / (scale[p] as number));
  if (resolved.layout === 'cells') {
    for (let p = 0; p < P; p++) {
      const at =
        ((resolved.channel[p] as number) * H + (resolved.row[p] as number)) * W + (resolved.col[p] as number);
      values[p] = ((resolved.value[p] as number) - (mean[at] as number)) / (scale[p] as number);
    }
    const obs = griddedObservations({
      stateShape: src.shape,
      channel: resolved.channel,
      row: resolved.row,
      col: resolved.col,
      value: values,
      std,
    });
    return { obs, channel: resolved.channel, scale };
  }
  const { operator, rejected } = bilinearOperator(
    src.grid,
    src.shape,
    { channelIndex: resolved.channel, latDeg: resolved.latDeg, lonDeg: resolved.lonDeg },
    src.validMask,
  );
  const first = rejected[0];
  if (first !== undefined)
    throw new AppError('INVALID_ARGUMENT', `observation ${first.index}: ${first.reason}`, {
      details: { index: first.index, field: 'lat' },
    });
  const hm = operator.apply(mean); // H m, physical, [P]
  for (let p = 0; p < P; p++)
    values[p] = ((resolved.value[p] as number) - (hm[p] as number)) / (scale[p] as number);
  return { obs: { operator, values, std }, channel: resolved.channel, scale };
}

/** Mean and root-mean-square of a set of departures. */
export interface DepartureStats {
  readonly mean: number;
  readonly rms: number;
}

/** Departure statistics of one channel, physical units. */
export interface ChannelDepartures {
  readonly channel: string;
  readonly count: number;
  /** O-B: observation minus background. */
  readonly omb: DepartureStats;
  /** O-A: observation minus analysis (mean). */
  readonly oma: DepartureStats;
}

/**
 * A job's observation-space diagnostics: O-B and O-A over every observation in normalised units (departures over
 * their channel's s_c, so channels of different units pool), and per observed channel in physical units.
 */
export interface JobDiagnostics {
  /** Observations used. */
  readonly count: number;
  /** O-B over all observations, normalised units. */
  readonly omb: DepartureStats;
  /** O-A over all observations, normalised units. */
  readonly oma: DepartureStats;
  /** Per observed channel (in channel order), physical units. */
  readonly channels: readonly ChannelDepartures[];
}

/** Mean and RMS of the departures `pick` selects, each times `scale` (packages/world's {@link meanRms}). */
function stats(
  d: ArrayLike<number>,
  pick: (p: number) => boolean,
  scale: (p: number) => number,
): DepartureStats {
  const { mean, rms } = meanRms(d, pick, (v, p) => v * scale(p));
  return { mean, rms };
}

/**
 * O-B and O-A of normalised observations against a normalised background and analysis (both state-sized).
 * @param channels - the source's channel names, length C
 */
export function jobDiagnostics(
  o: NormalisedObservations,
  background: ArrayLike<number>,
  analysis: ArrayLike<number>,
  channels: readonly string[],
): JobDiagnostics {
  const P = o.obs.values.length;
  const departures = (x: ArrayLike<number>): Float64Array => {
    const hx = o.obs.operator.apply(x, new Float64Array(P));
    return Float64Array.from(o.obs.values, (y, p) => y - (hx[p] as number));
  };
  const dB = departures(background);
  const dA = departures(analysis);
  const all = (): boolean => true;
  const one = (): number => 1;
  const physical = (p: number): number => o.scale[p] as number;
  const perChannel: ChannelDepartures[] = [];
  channels.forEach((name, c) => {
    const mine = (p: number): boolean => o.channel[p] === c;
    const count = o.channel.reduce((n, k) => n + (k === c ? 1 : 0), 0);
    if (count === 0) return;
    perChannel.push({ channel: name, count, omb: stats(dB, mine, physical), oma: stats(dA, mine, physical) });
  });
  return { count: P, omb: stats(dB, all, one), oma: stats(dA, all, one), channels: perChannel };
}

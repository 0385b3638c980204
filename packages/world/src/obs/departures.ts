/**
 * Observation-space departures y - H(x) (pure): H selection for grid cells, bilinear interpolation for points (this
 * package's operator), NaN for observations not used (QC-flagged, or off the grid), and their statistics per channel
 * (METHOD.md section 7's O-B / O-A). One implementation for every O-B / O-A the repository reports: the ingest
 * service's background check, the reward service's O-A and O-B, and pipelines' job diagnostics.
 */
import type { Grid } from '@alignda/tensor';

import { bilinearOperator } from './bilinear.js';

/** Observations as departures need them, column-wise (length P each); an {@link ObsBatch} is one. */
export interface DepartureObs {
  /** Channel of each observation: the index of its channel in the field, [C, H, W]. */
  readonly channelIndex: ArrayLike<number>;
  readonly value: ArrayLike<number>;
  readonly errorStd: ArrayLike<number>;
  /** Grid cells (H = selection) when both are set. */
  readonly row?: ArrayLike<number> | undefined;
  readonly col?: ArrayLike<number> | undefined;
  /** Points (H = bilinear interpolation) otherwise. */
  readonly latDeg?: ArrayLike<number> | undefined;
  readonly lonDeg?: ArrayLike<number> | undefined;
}

/** Options of {@link obsEquivalents} and {@link departures}. */
export interface DepartureOptions {
  /** Whether each observation is used (e.g. passed QC). @defaultValue every observation */
  readonly used?: ArrayLike<boolean> | ((index: number) => boolean);
  /**
   * Valid-area mask [H, W]: cells where it is 0, and points whose interpolation touches one, get no H(x).
   * @defaultValue every cell
   */
  readonly validMask?: Uint8Array | undefined;
}

/** Mean and root-mean-square of some values: NaN for both when there are none. */
export interface MeanRms {
  readonly count: number;
  readonly mean: number;
  readonly rms: number;
}

/** Departure statistics of one channel: physical units, and over the observations' error stds. */
export interface ChannelDepartureStats {
  readonly channelIndex: number;
  readonly count: number;
  readonly mean: number;
  readonly rms: number;
  readonly normalisedMean: number;
  readonly normalisedRms: number;
}

/** Departures of a batch against one field. */
export interface Departures {
  /** y - H(x), length P, NaN where not used. */
  readonly departures: Float64Array;
  /** Per channel with at least one departure, in channel order. */
  readonly channels: readonly ChannelDepartureStats[];
}

function usedOf(options: DepartureOptions): (index: number) => boolean {
  const u = options.used;
  if (u === undefined) return () => true;
  if (typeof u === 'function') return u;
  return (i) => u[i] === true;
}

/**
 * H(x) of each used observation: the field at its cell (selection), or bilinearly interpolated at its point; NaN
 * for an observation not used, a cell off the grid or outside the valid area, or a point that does not locate.
 * @param field - x, [C, H, W] flattened
 */
export function obsEquivalents(
  obs: DepartureObs,
  field: ArrayLike<number>,
  grid: Grid,
  options: DepartureOptions = {},
): Float64Array {
  const P = obs.value.length;
  const H = grid.latDeg.length;
  const W = grid.lonDeg.length;
  const C = field.length / (H * W);
  const isUsed = usedOf(options);
  const mask = options.validMask;
  const hx = new Float64Array(P).fill(Number.NaN);
  if (obs.row !== undefined && obs.col !== undefined) {
    for (let p = 0; p < P; p++) {
      const [r, c] = [obs.row[p] as number, obs.col[p] as number];
      if (isUsed(p) && r >= 0 && r < H && c >= 0 && c < W && mask?.[r * W + c] !== 0)
        hx[p] = field[((obs.channelIndex[p] as number) * H + r) * W + c] as number;
    }
    return hx;
  }
  const used = [...Array(P).keys()].filter(isUsed);
  if (used.length === 0) return hx;
  const lat = obs.latDeg ?? [];
  const lon = obs.lonDeg ?? [];
  const { operator } = bilinearOperator(
    grid,
    [C, H, W],
    {
      channelIndex: used.map((p) => obs.channelIndex[p] as number),
      latDeg: used.map((p) => lat[p] as number),
      lonDeg: used.map((p) => lon[p] as number),
    },
    mask,
  );
  const y = operator.apply(field);
  operator.kept.forEach((k, q) => (hx[used[k] as number] = y[q] as number));
  return hx;
}

/**
 * Mean and RMS of `map(values[i], i)` over the indices `pick` selects, summed in index order.
 * @param map - e.g. a departure over its error std, or times its channel's scale @defaultValue the value itself
 */
export function meanRms(
  values: ArrayLike<number>,
  pick: (index: number) => boolean,
  map: (value: number, index: number) => number = (v) => v,
): MeanRms {
  let [count, s, s2] = [0, 0, 0];
  for (let i = 0; i < values.length; i++) {
    if (!pick(i)) continue;
    const v = map(values[i] as number, i);
    count++;
    s += v;
    s2 += v * v;
  }
  return { count, mean: s / count, rms: Math.sqrt(s2 / count) };
}

/**
 * Statistics of departures per channel, leaving NaN departures out: count, mean and RMS in physical units, and of
 * the departures over their error stds; channels with no departure are left out.
 * @param channels - C, how many channels `obs.channelIndex` counts in
 */
export function channelDepartureStats(
  departures: ArrayLike<number>,
  obs: Pick<DepartureObs, 'channelIndex' | 'errorStd'>,
  channels: number,
): ChannelDepartureStats[] {
  const out: ChannelDepartureStats[] = [];
  for (let c = 0; c < channels; c++) {
    const mine = (i: number): boolean => obs.channelIndex[i] === c && !Number.isNaN(departures[i]);
    const physical = meanRms(departures, mine);
    if (physical.count === 0) continue;
    const normalised = meanRms(departures, mine, (d, i) => d / (obs.errorStd[i] as number));
    out.push({
      channelIndex: c,
      count: physical.count,
      mean: physical.mean,
      rms: physical.rms,
      normalisedMean: normalised.mean,
      normalisedRms: normalised.rms,
    });
  }
  return out;
}

/**
 * y - H(x) ({@link obsEquivalents}) and its statistics per channel ({@link channelDepartureStats}).
 * @param field - x, [C, H, W] flattened, physical units
 */
export function departures(
  obs: DepartureObs,
  field: ArrayLike<number>,
  grid: Grid,
  options: DepartureOptions = {},
): Departures {
  const hx = obsEquivalents(obs, field, grid, options);
  const d = Float64Array.from(obs.value, (v, p) => v - (hx[p] as number));
  const C = field.length / (grid.latDeg.length * grid.lonDeg.length);
  return { departures: d, channels: channelDepartureStats(d, obs, C) };
}

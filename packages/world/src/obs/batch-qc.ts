/**
 * Quality control of an observation batch (pure): the background-free checks run at Submit — missing values, bad
 * error stds and locations off the grid or in its padded area (packages/world's `validateObsBatch`), physically
 * implausible values, duplicates — and the background check run at Check — O-B departures, the gross-error test and
 * per-channel departure statistics. Flags are packages/world's QC_FLAG bits, identical to `alignda.v1.QcFlag`.
 * The departures and their statistics are {@link obsEquivalents} and {@link channelDepartureStats}, the O-B / O-A
 * every other caller uses.
 */
import { AppError } from '@alignda/errors';
import type { Grid } from '@alignda/tensor';

import { channelDepartureStats, obsEquivalents } from './departures.js';
import type { ChannelDepartureStats } from './departures.js';
import { validateObsBatch } from './obs-batch.js';
import type { ObsBatch } from './obs-batch.js';
import { QC_FLAG } from './qc.js';

/**
 * Physically plausible values by unit (UDUNITS spelling), inclusive. [choice] Wide bounds that only catch wrong units
 * or corrupt records (a temperature in Celsius sent as K, a wind of 10^4 m/s): 150-350 K spans the coldest
 * stratosphere and the hottest surface ever measured; 150 m/s is above any jet-stream core. Channels in other units
 * are not range-checked.
 */
export const PLAUSIBLE_RANGES: Readonly<Record<string, readonly [number, number]>> = Object.freeze({
  K: [150, 350],
  'm s-1': [-150, 150],
});

/** What the background-free checks compare against: the dataset's grid and channel units. */
export interface QcContext {
  readonly grid: Grid;
  /** 1 where a cell holds data, [H, W]. @defaultValue every cell */
  readonly validMask?: Uint8Array;
  /** Units of each of the batch's channels, length C (for {@link PLAUSIBLE_RANGES}). */
  readonly units: readonly string[];
}

/**
 * The background-free QC of a batch: earlier flags are cleared and recomputed. Duplicates are observations of the
 * same channel at the same location (grid cell, or latitude and longitude) in the batch (one valid time): the first
 * one kept is the first that passed the other checks.
 * @throws DatasetError `MALFORMED_INPUT` (INVALID_ARGUMENT) for a structurally broken batch (empty, lengths differ,
 *   channel index out of range)
 */
export function backgroundFreeQc(batch: ObsBatch, context: QcContext): ObsBatch {
  const n = batch.value.length;
  const H = context.grid.latDeg.length;
  const W = context.grid.lonDeg.length;
  const flags = new Uint32Array(n);
  const reasons: string[] = Array.from({ length: n }, () => '');
  const reject = (i: number, flag: number, reason: string): void => {
    flags[i] = (flags[i] as number) | flag;
    reasons[i] = reasons[i] ? `${reasons[i]}; ${reason}` : reason;
  };
  // Grid points: indices off the grid, and cells outside the valid area, before the locations are checked.
  if (batch.row !== undefined && batch.col !== undefined) {
    for (let i = 0; i < n; i++) {
      const [r, c] = [batch.row[i] as number, batch.col[i] as number];
      if (!(r >= 0 && r < H && c >= 0 && c < W))
        reject(i, QC_FLAG.outsideGrid, `cell (${r}, ${c}) is off the ${H} x ${W} grid`);
      else if (context.validMask !== undefined && context.validMask[r * W + c] === 0)
        reject(i, QC_FLAG.outsideGrid, `cell (${r}, ${c}) is outside the valid area`);
    }
  }
  const validated = validateObsBatch(
    { ...batch, qcFlags: flags, qcReasons: reasons },
    { grid: context.grid, ...(context.validMask === undefined ? {} : { validMask: context.validMask }) },
  ).batch;
  const out = Uint32Array.from(validated.qcFlags);
  const why = [...validated.qcReasons];
  const flag = (i: number, bit: number, reason: string): void => {
    out[i] = (out[i] as number) | bit;
    why[i] = why[i] ? `${why[i]}; ${reason}` : reason;
  };
  for (let i = 0; i < n; i++) {
    const range = PLAUSIBLE_RANGES[context.units[batch.channelIndex[i] as number] ?? ''];
    const v = batch.value[i] as number;
    if (range !== undefined && Number.isFinite(v) && (v < range[0] || v > range[1]))
      flag(i, QC_FLAG.outOfRange, `value ${v} is outside the plausible ${range[0]}..${range[1]}`);
  }
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    if (out[i] !== 0) continue;
    const where =
      batch.row !== undefined && batch.col !== undefined
        ? `${batch.row[i]},${batch.col[i]}`
        : `${batch.latDeg[i]},${batch.lonDeg[i]}`;
    const key = `${batch.channelIndex[i]}@${where}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else flag(i, QC_FLAG.duplicate, `duplicate of observation ${first}`);
  }
  return { ...batch, qcFlags: out, qcReasons: why };
}

/** The outcome of {@link backgroundCheck}. */
export interface BackgroundCheck {
  /** The batch with gross-error flags added to its background-free flags. */
  readonly batch: ObsBatch;
  /** y - H(x_b) per observation, NaN where QC rejected it (before or by the gross-error test). */
  readonly departures: Float64Array;
  /** Per channel with at least one observation that passed QC, in channel order. */
  readonly channels: readonly ChannelDepartureStats[];
}

/** Options of {@link backgroundCheck}. */
export interface BackgroundCheckOptions {
  /** Gross-error threshold k, > 0. @defaultValue {@link DEFAULT_GROSS_ERROR_THRESHOLD} */
  readonly threshold?: number;
  /** Background error std per batch channel, length C, >= 0. @defaultValue 0 for every channel */
  readonly backgroundErrorStd?: readonly number[];
}

/** The gross-error threshold k when none is given (proto/alignda/v1/ingest.proto). */
export const DEFAULT_GROSS_ERROR_THRESHOLD = 5;

/**
 * The background check of a batch that has been through {@link backgroundFreeQc}: departures d = y - H(x_b) for the
 * observations that passed it (H selection for grid cells, bilinear for points), the gross-error flag where
 * |d| > k sqrt(sigma_o^2 + sigma_b[c]^2), and per-channel statistics of the observations that pass both.
 * @param background - x_b, [C, H, W] flattened, physical units, channels in the batch's channel order
 * @throws AppError INVALID_ARGUMENT for a threshold that is not finite and > 0, or background error stds of the
 *   wrong length or sign
 */
export function backgroundCheck(
  batch: ObsBatch,
  background: ArrayLike<number>,
  grid: Grid,
  options: BackgroundCheckOptions = {},
): BackgroundCheck {
  const k = options.threshold ?? DEFAULT_GROSS_ERROR_THRESHOLD;
  if (!(k > 0 && Number.isFinite(k)))
    throw new AppError('INVALID_ARGUMENT', `gross_error_threshold: ${k} is not finite and > 0`);
  const C = batch.channels.length;
  const sb = options.backgroundErrorStd ?? [];
  if (sb.length !== 0 && sb.length !== C)
    throw new AppError('INVALID_ARGUMENT', `background_error_std: ${sb.length} values for ${C} channels`);
  if (sb.some((s) => !(s >= 0 && Number.isFinite(s))))
    throw new AppError('INVALID_ARGUMENT', 'background_error_std: every value must be finite and >= 0');
  const n = batch.value.length;
  const used = [...Array(n).keys()].filter((i) => batch.qcFlags[i] === 0);
  const hx = obsEquivalents(batch, background, grid, { used: (i) => batch.qcFlags[i] === 0 });
  const flags = Uint32Array.from(batch.qcFlags);
  const reasons = [...batch.qcReasons];
  const departures = new Float64Array(n).fill(Number.NaN);
  for (const i of used) {
    const d = (batch.value[i] as number) - (hx[i] as number);
    const so = batch.errorStd[i] as number;
    const s = sb[batch.channelIndex[i] as number] ?? 0;
    const limit = k * Math.sqrt(so * so + s * s);
    if (!(Math.abs(d) <= limit)) {
      flags[i] = (flags[i] as number) | QC_FLAG.grossError;
      const reason = `|O - B| = ${Math.abs(d).toPrecision(4)} exceeds ${limit.toPrecision(4)}`;
      reasons[i] = reasons[i] ? `${reasons[i]}; ${reason}` : reason;
    } else departures[i] = d;
  }
  const channels = channelDepartureStats(departures, batch, C);
  return { batch: { ...batch, qcFlags: flags, qcReasons: reasons }, departures, channels };
}

/** Counts of a batch's QC outcome: total, passed, and each flag bit that occurred. */
export function qcCounts(flags: ArrayLike<number>): {
  total: number;
  passed: number;
  byFlag: Map<number, number>;
} {
  const byFlag = new Map<number, number>();
  let passed = 0;
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i] as number;
    if (f === 0) passed++;
    for (const bit of Object.values(QC_FLAG))
      if ((f & bit) !== 0) byFlag.set(bit, (byFlag.get(bit) ?? 0) + 1);
  }
  return { total: flags.length, passed, byFlag };
}

import path from 'node:path';

import type { Field, Grid } from '@alignda/tensor';

import { cfTimesToEpochMs } from './cf-time.js';
import { DatasetError } from './dataset-error.js';
import { parseIsoUtc } from './descriptor.js';
import type { DatasetDescriptor, DescriptorCoordinate, PeriodName } from './descriptor.js';
import { centredPlacement, placeAxis, placeMap, placementMask } from './pad-crop.js';
import type { Placement } from './pad-crop.js';
import { openSourceReader, SUPPORTED_DTYPES } from './source-reader.js';
import type { SourceReader, SourceVariable } from './source-reader.js';

/** A dataset opened for reading; every field is in physical units on the model (target) grid. */
export interface OpenedDataset {
  readonly descriptor: DatasetDescriptor;
  /** The model grid (target shape; padded rows/columns carry linearly extended coordinates). */
  readonly grid: Grid;
  /** The grid as stored (latitudes in stored order: NCEP keeps 75N -> 15N, north first). */
  readonly sourceGrid: Grid;
  /** How the stored grid sits in the model grid. */
  readonly placement: Placement;
  /** 1 where a model-grid cell holds data, 0 where padded; shape [H, W] of the model grid. */
  readonly validMask: Uint8Array;
  /** Valid times (UTC), one per stored time step, strictly increasing. */
  readonly times: readonly Date[];
  /** Hours between consecutive times (uniform: checked when opened); undefined for a single time. */
  readonly stepHours: number | undefined;
  /** [C, H, W] of every field read. */
  readonly shape: readonly [number, number, number];
  readonly channels: readonly string[];
  readonly units: readonly string[];
  /**
   * One time step as a field.
   * @throws DatasetError `OUT_OF_RANGE` for a bad index, `NON_FINITE_VALUES` for NaN/missing values
   */
  read(timeIndex: number): Promise<Field>;
  /** Time steps [start, end) as fields (chunk-aligned reads: each stored chunk is decoded once). */
  readRange(start: number, end: number): Promise<Field[]>;
  /** Index of an exact valid time, or -1. */
  timeIndexOf(time: Date | string): number;
  /**
   * Time indices [start, end) of a named period (inclusive ISO range in the descriptor).
   * @throws DatasetError `OUT_OF_RANGE` when the descriptor has no such period or it holds no time
   */
  period(name: PeriodName): { start: number; end: number };
}

/** Options of {@link openDataset}. */
export interface OpenDatasetOptions {
  /** Folder that a relative `source.path` is resolved against. @defaultValue process.cwd() */
  readonly baseDir?: string;
}

const fail = (
  d: DatasetDescriptor,
  code: ConstructorParameters<typeof DatasetError>[0],
  msg: string,
): never => {
  throw new DatasetError(code, `dataset ${d.name}: ${msg}`);
};

async function readCoordinate(
  d: DatasetDescriptor,
  src: SourceReader,
  spec: DescriptorCoordinate,
  field: string,
): Promise<Float64Array> {
  if ('values' in spec) return Float64Array.from(spec.values);
  if ('start' in spec) return Float64Array.from({ length: spec.count }, (_, i) => spec.start + i * spec.step);
  const v = await src.variable(spec.variable);
  if (v === undefined)
    return fail(d, 'VARIABLE_MISSING', `${field}.variable ${spec.variable} is not in the file`);
  if (v.shape.length !== 1) {
    return fail(
      d,
      'SHAPE_MISMATCH',
      `${field}.variable ${spec.variable} has shape [${v.shape.join(', ')}], expected 1-D`,
    );
  }
  const out = Float64Array.from(await src.readAll(spec.variable));
  if (out.some((x) => !Number.isFinite(x))) {
    return fail(d, 'NON_FINITE_VALUES', `${field}.variable ${spec.variable} has NaN or infinite values`);
  }
  return out;
}

function checkAxis(d: DatasetDescriptor, values: Float64Array, field: string, regular: boolean): void {
  if (values.length < 2) return;
  const step = (values[1] as number) - (values[0] as number);
  for (let i = 1; i < values.length; i++) {
    const di = (values[i] as number) - (values[i - 1] as number);
    if (di === 0 || Math.sign(di) !== Math.sign(step))
      fail(d, 'SHAPE_MISMATCH', `${field} is not strictly monotone`);
    if (regular && Math.abs(di - step) > 1e-3 * Math.abs(step)) {
      fail(d, 'SHAPE_MISMATCH', `${field} is not equally spaced (step ${step} then ${di} at index ${i})`);
    }
  }
}

async function readTimes(d: DatasetDescriptor, src: SourceReader): Promise<Float64Array> {
  const t = d.time;
  if ('start' in t) {
    const t0 = parseIsoUtc(t.start);
    return Float64Array.from({ length: t.count }, (_, i) => t0 + i * t.stepHours * 3_600_000);
  }
  const v = await src.variable(t.variable);
  if (v === undefined) return fail(d, 'VARIABLE_MISSING', `time.variable ${t.variable} is not in the file`);
  const units = v.attrs.units;
  if (typeof units !== 'string')
    return fail(d, 'MALFORMED_INPUT', `time.variable ${t.variable} has no units attribute`);
  const calendar = typeof v.attrs.calendar === 'string' ? v.attrs.calendar : 'standard';
  try {
    return cfTimesToEpochMs(await src.readAll(t.variable), units, calendar);
  } catch (err) {
    return fail(d, 'MALFORMED_INPUT', `time.variable ${t.variable}: ${(err as Error).message}`);
  }
}

const iso13 = (ms: number): string => new Date(ms).toISOString().slice(0, 16);

/**
 * The time step in hours: times strictly increasing and equally spaced (to the second, as read), since
 * forecasts, cycles and lead times count in steps of it.
 */
function timeStepHours(d: DatasetDescriptor, timesMs: Float64Array): number | undefined {
  if (timesMs.length < 2) return undefined;
  const field = 'variable' in d.time ? `time.variable ${d.time.variable}` : 'time';
  const step = (timesMs[1] as number) - (timesMs[0] as number);
  for (let i = 1; i < timesMs.length; i++) {
    if ((timesMs[i] as number) <= (timesMs[i - 1] as number)) {
      return fail(
        d,
        'SHAPE_MISMATCH',
        `${field} is not strictly increasing: ${iso13(timesMs[i] as number)} at index ${i} follows ${iso13(timesMs[i - 1] as number)}`,
      );
    }
  }
  for (let i = 1; i < timesMs.length; i++) {
    const di = (timesMs[i] as number) - (timesMs[i - 1] as number);
    if (Math.abs(di - step) > 1000) {
      return fail(
        d,
        'SHAPE_MISMATCH',
        `${field} is not uniformly spaced: step ${step / 3_600_000} h, then ${di / 3_600_000} h at index ${i} (${iso13(timesMs[i] as number)}); a dataset needs one time step`,
      );
    }
  }
  return step / 3_600_000;
}

function numberAttr(v: SourceVariable, key: string, fallback: number): number {
  const a = v.attrs[key];
  if (typeof a === 'number') return a;
  if (Array.isArray(a) && typeof a[0] === 'number') return a[0];
  return fallback;
}

/** Per-channel read plan: which stored variable, which level, how to scale. */
interface ChannelPlan {
  readonly variable: SourceVariable;
  /** Offset of the level inside one time row, in values. */
  readonly levelOffset: number;
  /** Values in one stored time row (all levels). */
  readonly rowSize: number;
  readonly scale: number;
  readonly offset: number;
  /** Decode in float32 arithmetic (see {@link decodesInFloat32}). */
  readonly float32: boolean;
}

/**
 * xarray's CF decoding rule (`_choose_float_dtype`): integers of at most 16 bits with a scale factor
 * and no offset are decoded in float32 arithmetic, float32(raw) * float32(scale). Following it makes
 * our values bit-identical to files xarray wrote from the same data (the NCEP netCDF copy is one).
 */
function decodesInFloat32(dtype: string, hasOffset: boolean): boolean {
  return /^u?int(8|16)$/.test(dtype) && !hasOffset;
}

/**
 * Opens a dataset: checks the descriptor against the file (variables present, shapes consistent with
 * the grid and the times, monotone coordinates) and returns a reader on the model grid.
 * NCEP-style files keep their stored latitude order (75N first): `grid.latDeg` is descending there, and
 * renderers and observation operators use the coordinates, not an assumed order.
 * @throws DatasetError with a one-line message naming the dataset and the field at fault
 */
export async function openDataset(
  d: DatasetDescriptor,
  opts: OpenDatasetOptions = {},
): Promise<OpenedDataset> {
  const sourcePath = path.resolve(opts.baseDir ?? process.cwd(), d.source.path);
  let src: SourceReader;
  try {
    src = await openSourceReader(d.source.format, sourcePath);
  } catch (err) {
    throw new DatasetError(
      err instanceof DatasetError ? err.reason : 'SOURCE_NOT_FOUND',
      `dataset ${d.name}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const lat = await readCoordinate(d, src, d.grid.lat, 'grid.lat');
  const lon = await readCoordinate(d, src, d.grid.lon, 'grid.lon');
  checkAxis(d, lat, 'grid.lat', false);
  checkAxis(d, lon, 'grid.lon', true);
  if (lat.some((x) => Math.abs(x) > 90)) fail(d, 'SHAPE_MISMATCH', 'grid.lat has latitudes beyond +-90');
  const timesMs = await readTimes(d, src);
  const stepHours = timeStepHours(d, timesMs);
  const H = lat.length;
  const W = lon.length;
  const T = timesMs.length;

  const plans: ChannelPlan[] = [];
  for (const [i, v] of d.variables.entries()) {
    const sv = await src.variable(v.source);
    if (sv === undefined) {
      const names = await src.names();
      return fail(
        d,
        'VARIABLE_MISSING',
        `variables[${i}].source ${v.source} is not in the file (it has ${names.join(', ')})`,
      );
    }
    if (!(SUPPORTED_DTYPES as readonly string[]).includes(sv.dtype)) {
      return fail(
        d,
        'MALFORMED_INPUT',
        `variables[${i}].source ${v.source} is stored as ${sv.dtype}, not one of ${SUPPORTED_DTYPES.join(', ')}`,
      );
    }
    const shape = sv.shape;
    const want = v.level === undefined ? `[${T}, ${H}, ${W}]` : `[${T}, levels, ${H}, ${W}]`;
    const ndim = v.level === undefined ? 3 : 4;
    if (shape.length !== ndim || shape[0] !== T || shape[ndim - 2] !== H || shape[ndim - 1] !== W) {
      const hint = shape.length === 4 && v.level === undefined ? ' (4-D: set level.index)' : '';
      return fail(
        d,
        'SHAPE_MISMATCH',
        `variables[${i}].source ${v.source} has shape [${shape.join(', ')}], expected ${want} (time x lat x lon)${hint}`,
      );
    }
    const nLevels = ndim === 4 ? (shape[1] as number) : 1;
    const levelIndex = v.level?.index ?? 0;
    if (levelIndex >= nLevels) {
      return fail(d, 'OUT_OF_RANGE', `variables[${i}].level.index ${levelIndex} outside [0, ${nLevels})`);
    }
    plans.push({
      variable: sv,
      levelOffset: levelIndex * H * W,
      rowSize: nLevels * H * W,
      scale: v.scale ?? numberAttr(sv, 'scale_factor', 1),
      offset: v.offset ?? numberAttr(sv, 'add_offset', 0),
      float32: decodesInFloat32(sv.dtype, v.offset !== undefined || sv.attrs.add_offset !== undefined),
    });
  }

  const tgtH = d.target?.height ?? H;
  const tgtW = d.target?.width ?? W;
  const fill = d.target?.fill ?? 'edge';
  const placement = centredPlacement(H, W, tgtH, tgtW);
  const validMask = placementMask(placement);
  const sourceGrid = makeGrid(d, lat, lon);
  const tgtLat = placeAxis(lat, placement.rowOffset, tgtH);
  if (tgtLat.some((x) => Math.abs(x) > 90)) {
    fail(
      d,
      'SHAPE_MISMATCH',
      `target.height ${tgtH} pads the ${H} stored latitudes beyond the pole (to ${tgtLat[0]} .. ${tgtLat[tgtH - 1]}); choose a height <= ${H} (crop) or pad only in longitude`,
    );
  }
  const grid = makeGrid(d, tgtLat, placeAxis(lon, placement.colOffset, tgtW), tgtW !== W);
  const channels = d.variables.map((v) => v.channel);
  const units = d.variables.map((v) => v.units);
  const times = Array.from(timesMs, (ms) => new Date(ms));
  const C = channels.length;

  // One cached block of time steps per channel: reads aligned to the stored chunks.
  const blocks = new Map<number, { start: number; end: number; data: ArrayLike<number> }>();
  const block = async (c: number, t: number): Promise<{ start: number; data: ArrayLike<number> }> => {
    const plan = plans[c] as ChannelPlan;
    const cached = blocks.get(c);
    if (cached && t >= cached.start && t < cached.end) return cached;
    const len = Math.max(1, plan.variable.firstAxisChunk);
    const start = Math.floor(t / len) * len;
    const end = Math.min(T, start + len);
    const data = await src.readSlab(plan.variable.name, start, end);
    const b = { start, end, data };
    blocks.set(c, b);
    return b;
  };

  const read = async (t: number): Promise<Field> => {
    if (!Number.isInteger(t) || t < 0 || t >= T) fail(d, 'OUT_OF_RANGE', `time index ${t} outside [0, ${T})`);
    const out = new Float32Array(C * tgtH * tgtW);
    const phys = new Float64Array(H * W);
    for (let c = 0; c < C; c++) {
      const plan = plans[c] as ChannelPlan;
      const b = await block(c, t);
      const base = (t - b.start) * plan.rowSize + plan.levelOffset;
      let bad = 0;
      const fills = plan.variable.fillValues;
      const scale = plan.float32 ? Math.fround(plan.scale) : plan.scale;
      for (let k = 0; k < H * W; k++) {
        const raw = b.data[base + k] as number;
        let v = plan.float32 ? Math.fround(raw * scale) : raw * plan.scale + plan.offset;
        if (fills.length > 0 && fills.includes(raw)) v = Number.NaN;
        if (!Number.isFinite(v)) bad++;
        phys[k] = v;
      }
      if (bad > 0) {
        fail(
          d,
          'NON_FINITE_VALUES',
          `${channels[c] ?? ''} (${plan.variable.name}) has ${bad} NaN or missing values at time index ${t} (${times[t]?.toISOString() ?? ''})`,
        );
      }
      placeMap(phys, placement, fill, out, c * tgtH * tgtW);
    }
    return { data: out, shape: [C, tgtH, tgtW], channels, units, grid };
  };

  return {
    descriptor: d,
    grid,
    sourceGrid,
    placement,
    validMask,
    times,
    stepHours,
    shape: [C, tgtH, tgtW],
    channels,
    units,
    read,
    async readRange(start, end) {
      if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > T || start > end) {
        fail(d, 'OUT_OF_RANGE', `time range [${start}, ${end}) outside [0, ${T})`);
      }
      const fields: Field[] = [];
      for (let t = start; t < end; t++) fields.push(await read(t));
      return fields;
    },
    timeIndexOf(time) {
      const ms = typeof time === 'string' ? parseIsoUtc(time) : time.getTime();
      return timesMs.indexOf(ms);
    },
    period(name) {
      const p = d.periods[name];
      if (p === undefined) return fail(d, 'OUT_OF_RANGE', `no period ${name} in the descriptor`);
      const lo = parseIsoUtc(p.start);
      const hi = parseIsoUtc(p.end);
      let start = -1;
      let end = -1;
      timesMs.forEach((ms, i) => {
        if (ms >= lo && ms <= hi) {
          if (start < 0) start = i;
          end = i + 1;
        }
      });
      if (start < 0)
        return fail(d, 'OUT_OF_RANGE', `period ${name} (${p.start} .. ${p.end}) holds no time step`);
      return { start, end };
    },
  };
}

function makeGrid(d: DatasetDescriptor, lat: Float64Array, lon: Float64Array, padded = false): Grid {
  if (d.grid.kind === 'latlon') {
    // A padded or cropped grid no longer wraps around the globe.
    return { kind: 'latlon', latDeg: lat, lonDeg: lon, periodicLon: d.grid.periodicLon && !padded };
  }
  return {
    kind: 'beta-plane',
    latDeg: lat,
    lonDeg: lon,
    dxM: d.grid.dxM,
    dyM: d.grid.dyM,
    f0PerS: d.grid.f0PerS,
    betaPerMS: d.grid.betaPerMS,
    periodicLon: true,
  };
}

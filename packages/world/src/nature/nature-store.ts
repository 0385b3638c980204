import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { BetaPlaneGrid, Field } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import type { DatasetDescriptorInput } from '../dataset/descriptor.js';
import { QG_CHANNELS, QG_UNITS } from '../qg/output.js';
import { DEFAULT_QG_PARAMS } from '../qg/params.js';
import type { QgParams } from '../qg/params.js';
import { generateNatureRun, NATURE_EPOCH_ISO, naturePeriods, natureStateCount } from './nature-run.js';
import type { NaturePeriods, NatureRunOptions } from './nature-run.js';
import { readZarrChunk, readZarrJson, writeZarrChunk, writeZarrMetadata } from './zarr-v2.js';
import type { ZarrArraySpec } from './zarr-v2.js';

/** Format version of the cache; bump when the model or layout changes so old caches are not reused. */
export const NATURE_CACHE_VERSION = 1;
/** States per Zarr chunk along time: 73 days, 5 chunks a year (~0.6 MB per variable chunk). */
const CHUNK_T = 292;

const LONG_NAMES: Record<string, string> = {
  z_upper: 'geopotential at the upper level',
  z_lower: 'geopotential at the lower level',
  u_upper: 'eastward wind at the upper level',
  u_lower: 'eastward wind at the lower level',
  v_upper: 'northward wind at the upper level',
  v_lower: 'northward wind at the lower level',
  t: 'layer-mean temperature from the thickness (hydrostatic)',
};
const ROLES = ['geopotential', 'geopotential', 'u', 'u', 'v', 'v', 'temperature'] as const;

/** A nature run on disk, loaded into memory. */
export interface NatureRun {
  /** Folder of the cached run (holds `nature.zarr` and `descriptor.json`). */
  readonly dir: string;
  readonly zarrPath: string;
  readonly descriptorPath: string;
  readonly descriptor: DatasetDescriptorInput;
  readonly seed: number;
  readonly years: number;
  /** Number of states (6-hourly by default). */
  readonly count: number;
  readonly grid: BetaPlaneGrid;
  readonly channels: readonly string[];
  readonly units: readonly string[];
  readonly periods: NaturePeriods;
  /** Hours since {@link NATURE_EPOCH_ISO} of every state. */
  readonly hours: Float64Array;
  /** Model parameters the run was made with. */
  readonly params: QgParams;
  /** State `index` as a Field [7, ny, nx] (a copy). */
  state(index: number): Field;
  /** One channel over time, shape [count, ny, nx] (a view, do not modify). */
  series(channel: number): Float32Array;
}

function isoAtHours(hours: number): string {
  return new Date(Date.parse(NATURE_EPOCH_ISO) + hours * 3_600_000).toISOString().replace('.000Z', 'Z');
}

/**
 * Cache folder name: seed, years and format version, plus an FNV-1a hash of any parameter or spin-up
 * override so that runs of different models never share a cache entry.
 */
function runName(opts: NatureRunOptions): string {
  const base = `qg-s${opts.seed}-y${String(opts.years).replace('.', 'p')}-v${NATURE_CACHE_VERSION}`;
  const extra = {
    params: opts.params ?? {},
    spinUpDays: opts.spinUpDays ?? null,
    outputHours: opts.outputHours ?? 6,
  };
  if (Object.keys(extra.params).length === 0 && extra.spinUpDays === null && extra.outputHours === 6)
    return base;
  let h = 0x811c9dc5;
  for (const ch of JSON.stringify(extra)) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `${base}-${h.toString(16).padStart(8, '0')}`;
}

/**
 * Generates a nature run and writes it under `dir/<name>/` as `nature.zarr` (Zarr v2, one array
 * [time, lat, lon] per channel plus time/lat/lon coordinates) and `descriptor.json` (the dataset
 * descriptor of `dataset/descriptor.ts`). Written to a temporary folder and renamed at the end, so
 * an interrupted run leaves no half cache.
 * @returns the run's folder
 */
export function writeNatureRun(dir: string, opts: NatureRunOptions): string {
  const params: QgParams = { ...DEFAULT_QG_PARAMS, ...opts.params };
  const name = runName(opts);
  const final = resolve(dir, name);
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const zarr = join(tmp, 'nature.zarr');
  const outH = opts.outputHours ?? 6;
  const count = natureStateCount(opts.years, outH);
  const { nx, ny } = params;
  const hw = nx * ny;
  const buffers = QG_CHANNELS.map(() => new Float32Array(CHUNK_T * hw)); // [C][CHUNK_T, ny, nx]
  const periods = naturePeriods(count);
  let grid: BetaPlaneGrid | undefined;
  const flush = (chunk: number, filled: number): void => {
    buffers.forEach((b, c) => {
      b.fill(Number.NaN, filled * hw);
      writeZarrChunk(zarr, QG_CHANNELS[c] as string, [chunk, 0, 0], b);
    });
  };
  mkdirSync(zarr, { recursive: true });
  const model = generateNatureRun(opts, (t, field) => {
    const slot = t % CHUNK_T;
    buffers.forEach((b, c) => b.set(field.data.subarray(c * hw, (c + 1) * hw), slot * hw));
    if (slot === CHUNK_T - 1 || t === count - 1) flush(Math.floor(t / CHUNK_T), slot + 1);
    grid = field.grid as BetaPlaneGrid;
  });
  if (grid === undefined) throw new DatasetError('OUT_OF_RANGE', 'nature run: no state recorded');
  const hours = Float64Array.from({ length: count }, (_, t) => outH * t);
  const arrays: ZarrArraySpec[] = [
    {
      name: 'time',
      dtype: '<f8',
      shape: [count],
      chunks: [count],
      dims: ['time'],
      attrs: {
        units: `hours since ${NATURE_EPOCH_ISO.slice(0, 10)} 00:00:00`,
        calendar: 'proleptic_gregorian',
        standard_name: 'time',
      },
    },
    {
      name: 'lat',
      dtype: '<f8',
      shape: [ny],
      chunks: [ny],
      dims: ['lat'],
      attrs: {
        units: 'degrees_north',
        standard_name: 'latitude',
        comment: 'assigned to the rows of a beta-plane channel',
      },
    },
    {
      name: 'lon',
      dtype: '<f8',
      shape: [nx],
      chunks: [nx],
      dims: ['lon'],
      attrs: { units: 'degrees_east', standard_name: 'longitude' },
    },
    ...QG_CHANNELS.map((ch, c) => ({
      name: ch,
      dtype: '<f4' as const,
      shape: [count, ny, nx],
      chunks: [CHUNK_T, ny, nx],
      dims: ['time', 'lat', 'lon'],
      attrs: { units: QG_UNITS[c], long_name: LONG_NAMES[ch] },
    })),
  ];
  const groupAttrs = {
    title: 'alignda two-layer quasi-geostrophic nature run',
    model: 'Phillips two-layer QG, beta-plane, doubly periodic, pseudo-spectral IF-RK4',
    seed: opts.seed,
    years: opts.years,
    spin_up_days: opts.spinUpDays ?? 150,
    output_hours: outH,
    cache_version: NATURE_CACHE_VERSION,
    params: JSON.stringify(params),
    grid: JSON.stringify({ ...grid, latDeg: Array.from(grid.latDeg), lonDeg: Array.from(grid.lonDeg) }),
    periods: JSON.stringify(periods),
    pressure_levels_hPa: [params.pUpperHPa, params.pLowerHPa],
    Conventions: 'CF-1.8',
  };
  writeZarrMetadata(zarr, groupAttrs, arrays);
  writeZarrChunk(zarr, 'time', [0], hours);
  writeZarrChunk(zarr, 'lat', [0], Float64Array.from(grid.latDeg));
  writeZarrChunk(zarr, 'lon', [0], Float64Array.from(grid.lonDeg));
  const period = ([a, b]: readonly [number, number]): { start: string; end: string } => ({
    start: isoAtHours(outH * a),
    end: isoAtHours(outH * (b - 1)),
  });
  const descriptor: DatasetDescriptorInput = {
    name,
    title: `Two-layer QG nature run, seed ${opts.seed}, ${opts.years} year(s), every ${outH} h`,
    source: { format: 'zarr', path: 'nature.zarr' },
    variables: QG_CHANNELS.map((ch, c) => ({
      channel: ch,
      source: ch,
      units: QG_UNITS[c] as string,
      longName: LONG_NAMES[ch],
      role: ROLES[c],
    })),
    grid: {
      kind: 'beta-plane',
      lat: { variable: 'lat' },
      lon: { variable: 'lon' },
      dxM: grid.dxM,
      dyM: grid.dyM,
      f0PerS: grid.f0PerS,
      betaPerMS: grid.betaPerMS,
    },
    time: { variable: 'time' },
    periods: {
      train: period(periods.train),
      alignment: period(periods.alignment),
      test: period(periods.test),
    },
    diagnostics: ['geostrophic', 'hydrostatic'],
    attribution: `alignda synthetic world (seed ${opts.seed}); model ${model.params.nx}x${model.params.ny}`,
  };
  writeFileSync(join(tmp, 'descriptor.json'), JSON.stringify(descriptor, null, 2));
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  return final;
}

/** Loads a run written by {@link writeNatureRun} from its folder. */
export function openNatureRun(runDir: string): NatureRun {
  const zarr = join(runDir, 'nature.zarr');
  const attrs = readZarrJson(zarr, '.zattrs') as {
    seed: number;
    years: number;
    params: string;
    grid: string;
    periods: string;
  };
  const params = JSON.parse(attrs.params) as QgParams;
  const g = JSON.parse(attrs.grid) as BetaPlaneGrid & { latDeg: number[]; lonDeg: number[] };
  const grid: BetaPlaneGrid = {
    ...g,
    latDeg: Float64Array.from(g.latDeg),
    lonDeg: Float64Array.from(g.lonDeg),
  };
  const meta = readZarrJson(zarr, 'z_upper/.zarray') as {
    shape: [number, number, number];
    chunks: [number, number, number];
  };
  const [count, ny, nx] = meta.shape;
  const ct = meta.chunks[0];
  const hw = nx * ny;
  const data = QG_CHANNELS.map((ch) => {
    const out = new Float32Array(count * hw);
    for (let k = 0; k * ct < count; k++) {
      const chunk = readZarrChunk(zarr, ch, [k, 0, 0], '<f4');
      out.set(chunk.subarray(0, Math.min(ct, count - k * ct) * hw), k * ct * hw);
    }
    return out;
  });
  const hours = readZarrChunk(zarr, 'time', [0], '<f8') as Float64Array;
  const descriptorPath = join(runDir, 'descriptor.json');
  const descriptor = readZarrJson(runDir, 'descriptor.json') as DatasetDescriptorInput;
  return {
    dir: runDir,
    zarrPath: zarr,
    descriptorPath,
    descriptor,
    seed: attrs.seed,
    years: attrs.years,
    count,
    grid,
    channels: [...QG_CHANNELS],
    units: [...QG_UNITS],
    periods: JSON.parse(attrs.periods) as NaturePeriods,
    hours,
    params,
    state(index) {
      if (!Number.isInteger(index) || index < 0 || index >= count)
        throw new DatasetError('OUT_OF_RANGE', `nature run: state index ${index} outside 0..${count - 1}`);
      const out = new Float32Array(QG_CHANNELS.length * hw); // [7, ny, nx]
      data.forEach((d, c) => out.set(d.subarray(index * hw, (index + 1) * hw), c * hw));
      return {
        data: out,
        shape: [QG_CHANNELS.length, ny, nx],
        channels: [...QG_CHANNELS],
        units: [...QG_UNITS],
        grid,
      };
    },
    series(channel) {
      const d = data[channel];
      if (d === undefined)
        throw new DatasetError(
          'OUT_OF_RANGE',
          `nature run: channel ${channel} outside 0..${QG_CHANNELS.length - 1}`,
        );
      return d;
    },
  };
}

/**
 * The nature run for (`seed`, `years`) from the cache folder `dir`, generated and cached on first use.
 * @param opts.dir - cache folder (created when absent); the run lives in `dir/qg-s<seed>-y<years>-v<version>[-<hash of overrides>]/`
 */
export function loadOrGenerateNatureRun(opts: NatureRunOptions & { readonly dir: string }): NatureRun {
  const runDir = resolve(opts.dir, runName(opts));
  if (existsSync(join(runDir, 'descriptor.json'))) {
    const cached = openNatureRun(runDir);
    // The cache name covers overrides only: a run made by a version with other default parameters is stale.
    if (sameParams(cached.params, { ...DEFAULT_QG_PARAMS, ...opts.params })) return cached;
  }
  writeNatureRun(opts.dir, opts);
  return openNatureRun(runDir);
}

function sameParams(a: QgParams, b: QgParams): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof QgParams>;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}

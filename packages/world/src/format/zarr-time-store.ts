/**
 * A Zarr v2 store on disk that a long run fills one time at a time (a reanalysis: K streams writing their analyses
 * as they go): `analysis` is float32 [time, channel, y, x] in one uncompressed little-endian chunk per time
 * (`analysis/<t>.0.0.0`), missing chunks read as the fill value NaN, so a reader sees the times written so far;
 * `time` (hours since the epoch of `timeUnits`) is written whole at creation. Metadata is consolidated
 * (`.zmetadata`) and never changes after creation, so writers need no lock: each chunk is written to a temporary
 * file and renamed into place, and writing a chunk again with the same values is a no-op for readers.
 * `xr.open_zarr(dir)` decodes it (tests/e2e-free check: packages/world's test reads it back with zarrita).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { DatasetError } from '../dataset/dataset-error.js';

/** What a store holds. */
export interface ZarrTimeStoreSpec {
  /** Times, as numbers in `timeUnits` (CF, e.g. `hours since 2001-01-01 00:00:00`). */
  readonly times: readonly number[];
  readonly timeUnits: string;
  readonly channels: readonly string[];
  readonly units: readonly string[];
  /** Rows and columns of each field. */
  readonly height: number;
  readonly width: number;
  /** Group attributes (title, history, the run's settings...). */
  readonly attributes?: Readonly<Record<string, string | number>>;
}

const json = (v: unknown): string => JSON.stringify(v, null, 1);

/** Creates the store at `dir` (the folder must not hold one already, unless `spec` is the same: a resume). */
export function createZarrTimeStore(dir: string, spec: ZarrTimeStoreSpec): void {
  const [T, C, H, W] = [spec.times.length, spec.channels.length, spec.height, spec.width];
  if (T < 1 || C < 1 || H < 1 || W < 1)
    throw new DatasetError('SHAPE_MISMATCH', `zarr store ${dir}: empty shape [${T}, ${C}, ${H}, ${W}]`);
  const group = { zarr_format: 2 };
  const groupAttrs = { Conventions: 'CF-1.8', ...spec.attributes };
  const analysis = {
    zarr_format: 2,
    shape: [T, C, H, W],
    chunks: [1, C, H, W],
    dtype: '<f4',
    compressor: null,
    fill_value: 'NaN',
    order: 'C',
    filters: null,
    dimension_separator: '.',
  };
  const analysisAttrs = {
    _ARRAY_DIMENSIONS: ['time', 'channel', 'y', 'x'],
    long_name: 'analysis (ensemble mean)',
    channels: [...spec.channels],
    units: [...spec.units],
  };
  const time = { ...analysis, shape: [T], chunks: [T], dtype: '<f8', fill_value: null };
  const timeAttrs = { _ARRAY_DIMENSIONS: ['time'], units: spec.timeUnits, calendar: 'standard' };
  const metadata = {
    zarr_consolidated_format: 1,
    metadata: {
      '.zgroup': group,
      '.zattrs': groupAttrs,
      'analysis/.zarray': analysis,
      'analysis/.zattrs': analysisAttrs,
      'time/.zarray': time,
      'time/.zattrs': timeAttrs,
    },
  };
  const meta = path.join(dir, '.zmetadata');
  if (existsSync(meta)) {
    if (readFileSync(meta, 'utf8') === json(metadata)) return;
    throw new DatasetError('MALFORMED_INPUT', `zarr store ${dir} exists with another shape or attributes`);
  }
  mkdirSync(path.join(dir, 'analysis'), { recursive: true });
  mkdirSync(path.join(dir, 'time'), { recursive: true });
  for (const [key, value] of Object.entries(metadata.metadata)) writeFileSync(path.join(dir, key), json(value));
  const t = new Float64Array(spec.times);
  writeFileSync(path.join(dir, 'time', '0'), new Uint8Array(t.buffer));
  // Last, renamed into place: its presence says the store is whole, and a stream creating the store at the same
  // moment reads either no file or all of it.
  const tmp = `${meta}.${process.pid}.tmp`;
  writeFileSync(tmp, json(metadata));
  renameSync(tmp, meta);
}

/**
 * Writes time `t`'s field (physical units, [C, H, W] flattened) into the store at `dir`.
 * @throws DatasetError `SHAPE_MISMATCH` for a time outside the store or a field of another size
 */
export function writeZarrTime(dir: string, t: number, field: Float32Array): void {
  const meta = JSON.parse(readFileSync(path.join(dir, '.zmetadata'), 'utf8')) as {
    metadata: { 'analysis/.zarray': { shape: number[] } };
  };
  const [T = 0, C = 0, H = 0, W = 0] = meta.metadata['analysis/.zarray'].shape;
  if (!(Number.isInteger(t) && t >= 0 && t < T))
    throw new DatasetError('SHAPE_MISMATCH', `zarr store ${dir}: time index ${t} is outside [0, ${T})`);
  if (field.length !== C * H * W)
    throw new DatasetError('SHAPE_MISMATCH', `zarr store ${dir}: a field of ${field.length} values, not ${C * H * W}`);
  const file = path.join(dir, 'analysis', `${t}.0.0.0`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, new Uint8Array(field.buffer, field.byteOffset, field.byteLength));
  renameSync(tmp, file);
}

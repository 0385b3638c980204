import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import FileSystemStore from '@zarrita/storage/fs';
import { NetCDFReader } from 'netcdfjs';
import * as zarr from 'zarrita';

import { DatasetError } from './dataset-error.js';
import { isHdf5File, openHdf5 } from './hdf5-reader.js';
import type { SourceReader } from './source-types.js';

export type { SourceReader, SourceVariable } from './source-types.js';

function fillValuesOf(attrs: Record<string, unknown>, extra: unknown): number[] {
  const out: number[] = [];
  for (const v of [attrs._FillValue, attrs.missing_value, extra]) {
    if (typeof v === 'number' && !Number.isNaN(v)) out.push(v);
    else if (Array.isArray(v)) for (const x of v) if (typeof x === 'number' && !Number.isNaN(x)) out.push(x);
  }
  return out;
}

/** Opens a Zarr v2 group folder. */
function openZarr(dir: string): SourceReader {
  const store = new FileSystemStore(dir);
  const root = zarr.root(store);
  const cache = new Map<string, zarr.Array<zarr.DataType, FileSystemStore> | null>();
  const open = async (name: string): Promise<zarr.Array<zarr.DataType, FileSystemStore> | null> => {
    if (!cache.has(name)) {
      try {
        cache.set(name, await zarr.open.v2(root.resolve(name), { kind: 'array' }));
      } catch {
        cache.set(name, null);
      }
    }
    return cache.get(name) ?? null;
  };
  const mustOpen = async (name: string): Promise<zarr.Array<zarr.DataType, FileSystemStore>> => {
    const arr = await open(name);
    if (arr === null) throw new DatasetError('VARIABLE_MISSING', `zarr ${dir}: no array ${name}`);
    return arr;
  };
  const asNumbers = (data: unknown, name: string): ArrayLike<number> => {
    // xarray writes CF times as int64 (`hours since ...`): exact as doubles up to 2^53.
    if (data instanceof BigInt64Array || data instanceof BigUint64Array)
      return Float64Array.from(data, Number);
    if (ArrayBuffer.isView(data) && !(data instanceof BigInt64Array) && !(data instanceof BigUint64Array)) {
      return data as unknown as ArrayLike<number>;
    }
    throw new DatasetError('MALFORMED_INPUT', `zarr ${dir}: array ${name} is not numeric`);
  };
  return {
    format: 'zarr',
    async names() {
      const entries = await readdir(dir, { withFileTypes: true });
      const names: string[] = [];
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        try {
          await stat(path.join(dir, e.name, '.zarray'));
          names.push(e.name);
        } catch {
          // a sub-group or an unrelated folder
        }
      }
      return names.sort();
    },
    async variable(name) {
      const arr = await open(name);
      if (arr === null) return undefined;
      const attrs = arr.attrs as Record<string, unknown>;
      const dimAttr = attrs._ARRAY_DIMENSIONS;
      const dims = Array.isArray(dimAttr) ? dimAttr.map(String) : arr.shape.map(() => '');
      return {
        name,
        shape: arr.shape,
        dtype: String(arr.dtype),
        dims,
        attrs,
        fillValues: fillValuesOf(attrs, arr.fillValue),
        firstAxisChunk: arr.chunks[0] ?? 1,
      };
    },
    async readAll(name) {
      const arr = await mustOpen(name);
      return asNumbers((await zarr.get(arr)).data, name);
    },
    async readSlab(name, start, end) {
      const arr = await mustOpen(name);
      const sel = [zarr.slice(start, end), ...arr.shape.slice(1).map(() => null)];
      return asNumbers((await zarr.get(arr, sel)).data, name);
    },
  };
}

/** netCDF3 external types in numpy spelling. */
const NETCDF_DTYPES: Readonly<Record<string, string>> = {
  byte: 'int8',
  char: 'char',
  short: 'int16',
  int: 'int32',
  float: 'float32',
  double: 'float64',
};

/** Byte size of the netCDF3 numeric types. */
const NETCDF_BYTES: Readonly<Record<string, number>> = { byte: 1, short: 2, int: 4, float: 4, double: 8 };

/**
 * A fixed-size (non-record) netCDF3 variable read straight from the file buffer: contiguous,
 * big-endian, starting at the variable's `begin` offset (netCDF classic format specification).
 * netcdfjs's generic path builds a JS array element by element, ~50x slower on the NCEP file.
 */
function readFixedVariable(buf: Buffer, offset: number, type: string, size: number, n: number): Float64Array {
  const bytes = NETCDF_BYTES[type];
  if (bytes === undefined || size < n * bytes || offset + n * bytes > buf.byteLength) {
    throw new DatasetError(
      'MALFORMED_INPUT',
      `netcdf variable of type ${type} at offset ${offset} is truncated or not numeric`,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset + offset, n * bytes);
  const out = new Float64Array(n);
  const read: (k: number) => number =
    type === 'byte'
      ? (k) => view.getInt8(k)
      : type === 'short'
        ? (k) => view.getInt16(2 * k)
        : type === 'int'
          ? (k) => view.getInt32(4 * k)
          : type === 'float'
            ? (k) => view.getFloat32(4 * k)
            : (k) => view.getFloat64(8 * k);
  for (let k = 0; k < n; k++) out[k] = read(k);
  return out;
}

/** A record variable through netcdfjs (one entry per record, possibly arrays), flattened row-major. */
function readRecordVariable(reader: NetCDFReader, v: NetCDFReader['variables'][number]): Float64Array {
  const rows = reader.getDataVariable(v);
  return Float64Array.from(
    rows.some((r) => Array.isArray(r)) ? (rows.flat() as number[]) : (rows as number[]),
  );
}

/** Opens a netCDF3 file (read into memory whole: netcdfjs parses from one buffer). */
async function openNetcdf(file: string): Promise<SourceReader> {
  let reader: NetCDFReader;
  let buf: Buffer;
  try {
    buf = await readFile(file);
    reader = new NetCDFReader(buf);
  } catch (err) {
    throw new DatasetError(
      'SOURCE_NOT_FOUND',
      `netcdf ${file}: not a readable netCDF3 file (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
  const dims = reader.dimensions;
  const values = new Map<string, Float64Array>();
  const find = (name: string) => reader.variables.find((v) => v.name === name);
  const fixedLength = (v: { dimensions: number[] }): number =>
    v.dimensions.reduce((n, id) => n * (dims[id]?.size ?? 0), 1);
  const readAll = (name: string): Float64Array => {
    const cached = values.get(name);
    if (cached) return cached;
    const v = find(name);
    if (v === undefined) throw new DatasetError('VARIABLE_MISSING', `netcdf ${file}: no variable ${name}`);
    if (v.type === 'char')
      throw new DatasetError('MALFORMED_INPUT', `netcdf ${file}: variable ${name} is not numeric`);
    const out = v.record
      ? readRecordVariable(reader, v)
      : readFixedVariable(buf, v.offset, v.type, v.size, fixedLength(v));
    values.set(name, out);
    return out;
  };
  return {
    format: 'netcdf',
    names() {
      return Promise.resolve(reader.variables.map((v) => v.name).sort());
    },
    variable(name) {
      const v = find(name);
      if (v === undefined) return Promise.resolve(undefined);
      const attrs: Record<string, unknown> = {};
      // netcdfjs types `attributes` as `[]`; at run time they are {name, type, value} records.
      for (const a of v.attributes as unknown as { name: string; value: unknown }[]) attrs[a.name] = a.value;
      const shape = v.dimensions.map((id) => {
        const d = dims[id];
        // The record (unlimited) dimension reports size 0 in the header; its length is the record count.
        return d === undefined
          ? 0
          : id === reader.recordDimension.id
            ? reader.recordDimension.length
            : d.size;
      });
      return Promise.resolve({
        name,
        shape,
        dtype: NETCDF_DTYPES[v.type] ?? v.type,
        dims: v.dimensions.map((id) => dims[id]?.name ?? ''),
        attrs,
        fillValues: fillValuesOf(attrs, undefined),
        firstAxisChunk: shape[0] ?? 1,
      });
    },
    readAll(name) {
      return Promise.resolve(readAll(name));
    },
    readSlab(name, start, end) {
      const all = readAll(name);
      const first = find(name)?.dimensions[0];
      const n0 =
        first === undefined
          ? 1
          : first === reader.recordDimension.id
            ? reader.recordDimension.length
            : (dims[first]?.size ?? 1);
      const row = n0 === 0 ? 0 : all.length / n0;
      return Promise.resolve(all.subarray(start * row, end * row));
    },
  };
}

/**
 * Element types a dataset's variables may be stored as (numpy spelling): integers up to 32 bits and floats.
 * 64-bit integers are accepted for coordinates only (times), where they are converted to doubles.
 */
export const SUPPORTED_DTYPES = [
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'float32',
  'float64',
] as const;

/**
 * Opens a Zarr v2 folder or a netCDF file: classic (netCDF3, through netcdfjs) or netCDF-4 (HDF5, through h5wasm),
 * told apart by the file's signature.
 * @throws DatasetError `SOURCE_NOT_FOUND` when the path does not exist or is of the wrong kind
 */
export async function openSourceReader(format: 'zarr' | 'netcdf', sourcePath: string): Promise<SourceReader> {
  let isDir: boolean;
  try {
    isDir = (await stat(sourcePath)).isDirectory();
  } catch (err) {
    throw new DatasetError('SOURCE_NOT_FOUND', `${format} source ${sourcePath} does not exist`, {
      cause: err,
    });
  }
  if (format === 'zarr') {
    if (!isDir) throw new DatasetError('SOURCE_NOT_FOUND', `zarr source ${sourcePath} is not a folder`);
    try {
      await stat(path.join(sourcePath, '.zgroup'));
    } catch (err) {
      throw new DatasetError(
        'SOURCE_NOT_FOUND',
        `zarr source ${sourcePath} has no .zgroup (not a Zarr v2 group)`,
        {
          cause: err,
        },
      );
    }
    return openZarr(sourcePath);
  }
  if (isDir)
    throw new DatasetError('SOURCE_NOT_FOUND', `netcdf source ${sourcePath} is a folder, not a file`);
  return (await isHdf5File(sourcePath)) ? openHdf5(sourcePath) : openNetcdf(sourcePath);
}

/**
 * netCDF-4 files (HDF5 underneath) behind the {@link SourceReader} interface, through h5wasm (the HDF5 C library
 * compiled to WebAssembly, kept by NIST: https://github.com/usnistgov/h5wasm). netCDF-4 stores each variable as an
 * HDF5 dataset at the root group with its attributes; dimensions are HDF5 dimension scales, which this reader does
 * not need (shapes come from the datasets themselves).
 */
import { open } from 'node:fs/promises';

import { Dataset, File as H5File, ready } from 'h5wasm/node';

import { DatasetError } from './dataset-error.js';
import type { SourceReader, SourceVariable } from './source-types.js';

/** The first 8 bytes of every HDF5 file (and so of every netCDF-4 file), "HDF5 File Format Specification" 3.0. */
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/** HDF5 type classes of h5wasm's metadata (`H5T_class_t`). */
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;

/** Whether a file starts with the HDF5 signature (a netCDF-4 file rather than a classic one). */
export async function isHdf5File(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(HDF5_SIGNATURE.length);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return bytesRead === buf.length && HDF5_SIGNATURE.every((b, i) => buf[i] === b);
  } finally {
    await fh.close();
  }
}

/** numpy spelling of an HDF5 element type (`int16`, `float32`, ...); `other` for strings, compounds, references. */
function dtypeOf(meta: { type: number; size: number; signed: boolean }): string {
  if (meta.type === H5T_FLOAT) return `float${8 * meta.size}`;
  if (meta.type === H5T_INTEGER) return `${meta.signed ? 'int' : 'uint'}${8 * meta.size}`;
  return 'other';
}

/** Attribute values as netcdfjs and Zarr give them: text, a number, or an array of numbers. */
function plainAttr(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const arr = Array.from(value as unknown as ArrayLike<number | bigint>, Number);
    return arr.length === 1 ? arr[0] : arr;
  }
  return value;
}

/** Numbers as doubles (int64 time coordinates arrive as BigInt64Array). */
function asNumbers(data: unknown, file: string, name: string): ArrayLike<number> {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float64Array.from(data, Number);
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) return data as unknown as ArrayLike<number>;
  if (typeof data === 'number') return [data];
  throw new DatasetError('MALFORMED_INPUT', `netcdf ${file}: variable ${name} is not numeric`);
}

/**
 * Opens a netCDF-4 (HDF5) file for reading. The file stays open for the reader's life (h5wasm reads it through
 * Node's file system, chunk by chunk, never whole).
 * @throws DatasetError `SOURCE_NOT_FOUND` when h5wasm cannot open it
 */
export async function openHdf5(file: string): Promise<SourceReader> {
  await ready;
  let h5: H5File;
  try {
    h5 = new H5File(file, 'r');
  } catch (err) {
    throw new DatasetError('SOURCE_NOT_FOUND', `netcdf ${file}: not a readable netCDF-4/HDF5 file`, {
      cause: err,
    });
  }
  const dataset = (name: string): Dataset | undefined => {
    if (name.includes('/')) return undefined;
    const e = h5.get(name);
    return e instanceof Dataset ? e : undefined;
  };
  const mustGet = (name: string): Dataset => {
    const ds = dataset(name);
    if (ds === undefined) throw new DatasetError('VARIABLE_MISSING', `netcdf ${file}: no variable ${name}`);
    return ds;
  };
  return {
    format: 'netcdf',
    names() {
      return Promise.resolve(
        h5
          .keys()
          .filter((k) => dataset(k) !== undefined)
          .sort(),
      );
    },
    variable(name): Promise<SourceVariable | undefined> {
      const ds = dataset(name);
      if (ds === undefined) return Promise.resolve(undefined);
      const attrs: Record<string, unknown> = {};
      for (const [k, a] of Object.entries(ds.attrs)) {
        // netCDF-4 bookkeeping (dimension scales), not CF attributes.
        if (k === 'DIMENSION_LIST' || k === 'REFERENCE_LIST' || k === 'CLASS' || k === 'NAME') continue;
        attrs[k] = plainAttr(a.value);
      }
      const shape = ds.shape ?? [];
      const fillValues: number[] = [];
      for (const v of [attrs._FillValue, attrs.missing_value]) {
        if (typeof v === 'number' && !Number.isNaN(v)) fillValues.push(v);
        else if (Array.isArray(v))
          for (const x of v) if (typeof x === 'number' && !Number.isNaN(x)) fillValues.push(x);
      }
      return Promise.resolve({
        name,
        shape,
        dtype: dtypeOf(ds.metadata),
        dims: shape.map(() => ''),
        attrs,
        fillValues,
        firstAxisChunk: ds.metadata.chunks?.[0] ?? shape[0] ?? 1,
      });
    },
    readAll(name) {
      return Promise.resolve(asNumbers(mustGet(name).value, file, name));
    },
    readSlab(name, start, end) {
      const ds = mustGet(name);
      const rest = (ds.shape ?? []).slice(1).map((): [] => []);
      return Promise.resolve(asNumbers(ds.slice([[start, end], ...rest]), file, name));
    },
  };
}

/**
 * The contents of a netCDF file ({@link NcFile}) as a Zarr v2 store in one zip archive
 * (https://zarr-specs.readthedocs.io/en/latest/v2/v2.0.html): one group with consolidated metadata (`.zmetadata`),
 * each variable an array of one uncompressed little-endian chunk in C order, its dimensions in xarray's
 * `_ARRAY_DIMENSIONS` attribute, its `_FillValue` as the array's `fill_value`, the other attributes (units, CF time
 * units, `coordinates`) unchanged, so `xr.open_zarr(zarr.storage.ZipStore(path))` decodes it as it decodes the netCDF.
 * The zip entries are stored, not deflated (a reader maps chunks straight out of the archive), with a fixed
 * modification time, so the same contents always give the same bytes (a stable ETag, consistent range requests).
 */
import { unzipSync, zipSync } from 'fflate';
import type { Zippable } from 'fflate';

import { DatasetError } from '../dataset/dataset-error.js';
import type { NcAttributeValue, NcFile, NcTypedAttribute, NcVariableType } from './netcdf-classic.js';

/** Zarr v2 dtypes of the netCDF types {@link writeNetcdfClassic} writes. */
const DTYPE: Readonly<Record<NcVariableType, string>> = { int: '<i4', float: '<f4', double: '<f8' };
const BYTES: Readonly<Record<NcVariableType, number>> = { int: 4, float: 4, double: 8 };

/** The modification time of every entry: the zip format's epoch, so the bytes depend on the contents only. */
const ZIP_EPOCH = new Date(1980, 0, 1);

/** An attribute as JSON: a string, one number, or a list of numbers. */
function jsonAttribute(value: NcAttributeValue): string | number | number[] {
  if (typeof value === 'string' || typeof value === 'number') return value;
  // An array has a `values` method too: test for the array first.
  const values = Array.isArray(value)
    ? [...(value as readonly number[])]
    : Array.from((value as NcTypedAttribute).values);
  return values.length === 1 ? (values[0] as number) : values;
}

/** The little-endian bytes of `data` as `type`. */
function chunkBytes(type: NcVariableType, data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(data.length * BYTES[type]);
  const view = new DataView(out.buffer);
  for (let k = 0; k < data.length; k++) {
    const v = data[k] as number;
    if (type === 'int') view.setInt32(k * 4, v, true);
    else if (type === 'float') view.setFloat32(k * 4, v, true);
    else view.setFloat64(k * 8, v, true);
  }
  return out;
}

const utf8 = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value, null, 1));

/**
 * The Zarr v2 store of `file`, as a zip archive whose entries are the store's keys (`.zgroup`, `.zattrs`,
 * `.zmetadata`, `<variable>/.zarray`, `<variable>/.zattrs`, `<variable>/0.0.0`).
 * @throws DatasetError `SHAPE_MISMATCH` when a variable's values do not fill its dimensions, `MALFORMED_INPUT` when
 *   it names an unknown dimension
 */
export function zarrZipOfNetcdf(file: NcFile): Uint8Array {
  const sizes = new Map(file.dimensions.map((d) => [d.name, d.size]));
  const groupAttrs = Object.fromEntries(
    Object.entries(file.attributes ?? {}).map(([k, v]) => [k, jsonAttribute(v)]),
  );
  const metadata: Record<string, unknown> = { '.zgroup': { zarr_format: 2 }, '.zattrs': groupAttrs };
  const entries: Zippable = {
    '.zgroup': utf8({ zarr_format: 2 }),
    '.zattrs': utf8(groupAttrs),
  };
  for (const v of file.variables) {
    const shape = v.dimensions.map((d) => {
      const size = sizes.get(d);
      if (size === undefined)
        throw new DatasetError('MALFORMED_INPUT', `zarrZipOfNetcdf: ${v.name} names unknown dimension ${d}`);
      return size;
    });
    const count = shape.reduce((n, s) => n * s, 1);
    if (v.data.length !== count)
      throw new DatasetError(
        'SHAPE_MISMATCH',
        `zarrZipOfNetcdf: ${v.name} has ${v.data.length} values; its dimensions (${shape.join(' x ')}) hold ${count}`,
      );
    const { _FillValue: fill, ...rest } = v.attributes ?? {};
    const fillValue = fill === undefined ? null : jsonAttribute(fill);
    const zarray = {
      zarr_format: 2,
      shape,
      chunks: shape,
      dtype: DTYPE[v.type],
      compressor: null,
      fill_value: typeof fillValue === 'number' ? fillValue : null,
      order: 'C',
      filters: null,
      dimension_separator: '.',
    };
    const zattrs = {
      ...Object.fromEntries(Object.entries(rest).map(([k, a]) => [k, jsonAttribute(a)])),
      _ARRAY_DIMENSIONS: v.dimensions,
    };
    metadata[`${v.name}/.zarray`] = zarray;
    metadata[`${v.name}/.zattrs`] = zattrs;
    entries[`${v.name}/.zarray`] = utf8(zarray);
    entries[`${v.name}/.zattrs`] = utf8(zattrs);
    // One chunk per variable: its key is the chunk index along each dimension ("0.0.0" for a 3-D array; "0" for a
    // scalar, as zarr-python keys one).
    const key = shape.length === 0 ? '0' : shape.map(() => 0).join('.');
    entries[`${v.name}/${key}`] = chunkBytes(v.type, v.data);
  }
  entries['.zmetadata'] = utf8({ zarr_consolidated_format: 1, metadata });
  return zipSync(entries, { level: 0, mtime: ZIP_EPOCH });
}

/**
 * The entries of a zip archive by name (a Zarr store written by {@link zarrZipOfNetcdf}, for one).
 * @throws DatasetError `MALFORMED_INPUT` when `bytes` is not a zip archive
 */
export function zipEntries(bytes: Uint8Array): Record<string, Uint8Array> {
  try {
    return unzipSync(bytes);
  } catch (err) {
    throw new DatasetError('MALFORMED_INPUT', `not a zip archive: ${String(err)}`, { cause: err });
  }
}

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Minimal Zarr v2 (https://zarr-specs.readthedocs.io/en/latest/v2/v2.0.html) for the nature runs:
 * uncompressed little-endian chunks, C order, one group with consolidated metadata (`.zmetadata`),
 * xarray's `_ARRAY_DIMENSIONS` convention. Written by hand because zarrita writes Zarr v3 only.
 */
export interface ZarrArraySpec {
  readonly name: string;
  readonly dtype: '<f4' | '<f8';
  readonly shape: readonly number[];
  readonly chunks: readonly number[];
  readonly dims: readonly string[];
  readonly attrs: Record<string, unknown>;
}

function zarrayJson(spec: ZarrArraySpec): Record<string, unknown> {
  return {
    zarr_format: 2,
    shape: spec.shape,
    chunks: spec.chunks,
    dtype: spec.dtype,
    compressor: null,
    fill_value: 'NaN',
    order: 'C',
    filters: null,
    dimension_separator: '.',
  };
}

/** Writes the group's `.zgroup`, `.zattrs`, each array's `.zarray`/`.zattrs` and `.zmetadata`. */
export function writeZarrMetadata(
  dir: string,
  groupAttrs: Record<string, unknown>,
  arrays: readonly ZarrArraySpec[],
): void {
  mkdirSync(dir, { recursive: true });
  const meta: Record<string, unknown> = { '.zgroup': { zarr_format: 2 }, '.zattrs': groupAttrs };
  writeFileSync(join(dir, '.zgroup'), JSON.stringify({ zarr_format: 2 }));
  writeFileSync(join(dir, '.zattrs'), JSON.stringify(groupAttrs, null, 1));
  for (const a of arrays) {
    mkdirSync(join(dir, a.name), { recursive: true });
    const attrs = { ...a.attrs, _ARRAY_DIMENSIONS: a.dims };
    writeFileSync(join(dir, a.name, '.zarray'), JSON.stringify(zarrayJson(a), null, 1));
    writeFileSync(join(dir, a.name, '.zattrs'), JSON.stringify(attrs, null, 1));
    meta[`${a.name}/.zarray`] = zarrayJson(a);
    meta[`${a.name}/.zattrs`] = attrs;
  }
  writeFileSync(join(dir, '.zmetadata'), JSON.stringify({ zarr_consolidated_format: 1, metadata: meta }));
}

/** Writes one chunk (`index` per dimension) of a little-endian typed array. */
export function writeZarrChunk(
  dir: string,
  name: string,
  index: readonly number[],
  data: Float32Array | Float64Array,
): void {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(
    join(dir, name, index.join('.')),
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
}

/** Reads one chunk written by {@link writeZarrChunk} (little-endian hosts; Node on x86/arm is). */
export function readZarrChunk(
  dir: string,
  name: string,
  index: readonly number[],
  dtype: '<f4' | '<f8',
): Float32Array | Float64Array {
  const buf = readFileSync(join(dir, name, index.join('.')));
  const bytes = new Uint8Array(buf.byteLength);
  bytes.set(buf);
  return dtype === '<f4' ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
}

/** Reads a JSON metadata file of the store, e.g. `.zattrs` or `t/.zarray`. */
export function readZarrJson(dir: string, key: string): unknown {
  return JSON.parse(readFileSync(join(dir, key), 'utf8')) as unknown;
}

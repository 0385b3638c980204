/**
 * A small reader of netCDF classic files (CDF-1 and CDF-2) with fixed-size variables, written from the format
 * specification independently of {@link writeNetcdfClassic}'s code: what the tests and doors use to read back what
 * they wrote (the datasets' sources are read through netcdfjs). Checks the tags, the zero padding and that every
 * variable lies inside the file.
 */
import { DatasetError } from '../dataset/dataset-error.js';

/** An attribute read back: text, or numbers of any numeric type. */
export type NcReadAttribute = string | number[];

/** A variable read back, its values as float64 (bytes and shorts widened). */
export interface NcReadVariable {
  readonly name: string;
  readonly dimensions: readonly string[];
  readonly attributes: Readonly<Record<string, NcReadAttribute>>;
  /** nc_type: 1 byte, 2 char, 3 short, 4 int, 5 float, 6 double. */
  readonly type: number;
  readonly vsize: number;
  readonly begin: number;
  readonly data: Float64Array;
}

/** A netCDF classic file read back. */
export interface NcReadFile {
  /** 1: classic, 2: 64-bit offsets. */
  readonly version: number;
  readonly numrecs: number;
  readonly dimensions: readonly { readonly name: string; readonly size: number }[];
  readonly attributes: Readonly<Record<string, NcReadAttribute>>;
  readonly variables: readonly NcReadVariable[];
}

const TYPE_SIZE: Readonly<Record<number, number>> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 8 };

/**
 * Reads a netCDF classic file.
 * @throws DatasetError `MALFORMED_INPUT` for a file that is not netCDF classic, is truncated, has non-zero padding or a
 *   record dimension (not read here)
 */
export function readNetcdfClassic(bytes: Uint8Array): NcReadFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why: string): never => {
    throw new DatasetError('MALFORMED_INPUT', `netCDF: ${why}`);
  };
  let at = 0;
  const need = (n: number): void => {
    if (at + n > bytes.length)
      fail(`truncated at byte ${at} (${n} more bytes needed, the file has ${bytes.length})`);
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(at);
    at += 4;
    return v;
  };
  const skipPad = (n: number): void => {
    const pad = (4 - (n % 4)) % 4;
    need(pad);
    for (let k = 0; k < pad; k++) if (bytes[at + k] !== 0) fail(`non-zero padding at byte ${at + k}`);
    at += pad;
  };
  const text = (n: number): string => {
    need(n);
    const s = new TextDecoder().decode(bytes.subarray(at, at + n));
    at += n;
    skipPad(n);
    return s;
  };
  const values = (type: number, n: number): Float64Array => {
    const size = TYPE_SIZE[type];
    if (size === undefined || type === 2) return fail(`unknown numeric type ${type} at byte ${at}`);
    need(n * size);
    const out = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const p = at + k * size;
      out[k] =
        type === 1
          ? view.getInt8(p)
          : type === 3
            ? view.getInt16(p)
            : type === 4
              ? view.getInt32(p)
              : type === 5
                ? view.getFloat32(p)
                : view.getFloat64(p);
    }
    at += n * size;
    skipPad(n * size);
    return out;
  };
  const list = (tag: number, what: string): number => {
    const t = u32();
    const n = u32();
    if (t === 0 && n === 0) return 0;
    if (t !== tag) fail(`expected the ${what} list tag ${tag} at byte ${at - 8}, found ${t}`);
    return n;
  };
  const attributes = (): Record<string, NcReadAttribute> => {
    const out: Record<string, NcReadAttribute> = {};
    for (let k = list(0x0c, 'attribute'); k > 0; k--) {
      const key = text(u32());
      const type = u32();
      const n = u32();
      out[key] = type === 2 ? text(n) : Array.from(values(type, n));
    }
    return out;
  };

  if (bytes.length < 4 || bytes[0] !== 0x43 || bytes[1] !== 0x44 || bytes[2] !== 0x46)
    fail('not a netCDF classic file (no CDF magic)');
  const version = bytes[3] as number;
  if (version !== 1 && version !== 2) fail(`version ${version} is not 1 (classic) or 2 (64-bit offsets)`);
  at = 4;
  const numrecs = u32();
  const dimensions: { name: string; size: number }[] = [];
  for (let k = list(0x0a, 'dimension'); k > 0; k--) {
    const name = text(u32());
    const size = u32();
    if (size === 0) fail(`dimension ${name} is a record dimension, not read here`);
    dimensions.push({ name, size });
  }
  const globals = attributes();
  const headers: Omit<NcReadVariable, 'data'>[] = [];
  for (let k = list(0x0b, 'variable'); k > 0; k--) {
    const name = text(u32());
    const rank = u32();
    const dims: string[] = [];
    for (let r = 0; r < rank; r++) {
      const id = u32();
      const d = dimensions[id];
      if (d === undefined) return fail(`variable ${name} names dimension ${id} of ${dimensions.length}`);
      dims.push(d.name);
    }
    const attrs = attributes();
    const type = u32();
    const vsize = u32();
    need(version === 2 ? 8 : 4);
    const begin = version === 2 ? Number(view.getBigUint64(at)) : view.getUint32(at);
    at += version === 2 ? 8 : 4;
    headers.push({ name, dimensions: dims, attributes: attrs, type, vsize, begin });
  }
  const variables = headers.map((h) => {
    at = h.begin;
    const count = h.dimensions.reduce((n, d) => n * (dimensions.find((x) => x.name === d)?.size ?? 0), 1);
    return { ...h, data: values(h.type, count) };
  });
  return { version, numrecs, dimensions, attributes: globals, variables };
}

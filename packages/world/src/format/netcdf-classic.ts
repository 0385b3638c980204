/**
 * A writer of netCDF classic files in the 64-bit offset format (CDF-2), as a pure function of the file's contents.
 * No npm package writes netCDF; this one follows the format specification ("The NetCDF Classic Format
 * Specification", https://docs.unidata.ucar.edu/netcdf-c/current/file_format_specifications.html): a big-endian
 * header (magic `CDF\x02`, number of records, dimensions, global attributes, variables with their attributes, type,
 * size and 64-bit begin offset), then each variable's values in order, every part padded to 4 bytes. Every
 * dimension has a fixed size (no record dimension), which every reader (netCDF-C, scipy, xarray, netcdfjs) takes.
 */
import { DatasetError } from '../dataset/dataset-error.js';

/** The external types this writer stores variables as. */
export const NC_VARIABLE_TYPES = ['int', 'float', 'double'] as const;
export type NcVariableType = (typeof NC_VARIABLE_TYPES)[number];

/** A numeric attribute with its type; a bare number is written as a double (or, for the attributes CF requires to
 * have the variable's type — `_FillValue`, `missing_value`, `valid_min`, `valid_max`, `valid_range` — as that). */
export interface NcTypedAttribute {
  readonly type: NcVariableType;
  readonly values: ArrayLike<number>;
}

/** An attribute value: text (NC_CHAR), one or more numbers, or numbers with their type. */
export type NcAttributeValue = string | number | readonly number[] | NcTypedAttribute;

/** A dimension: a name and a fixed size >= 1. */
export interface NcDimension {
  readonly name: string;
  readonly size: number;
}

/** A variable: its dimensions by name (slowest first), type, attributes and values (row-major, C order). */
export interface NcVariable {
  readonly name: string;
  readonly dimensions: readonly string[];
  readonly type: NcVariableType;
  /** Attributes in the order they are written. @defaultValue none */
  readonly attributes?: Readonly<Record<string, NcAttributeValue>>;
  /** Values, length = product of the dimensions' sizes (1 for a scalar). */
  readonly data: ArrayLike<number>;
}

/** The contents of a netCDF file. */
export interface NcFile {
  readonly dimensions: readonly NcDimension[];
  readonly variables: readonly NcVariable[];
  /** Global attributes. @defaultValue none */
  readonly attributes?: Readonly<Record<string, NcAttributeValue>>;
}

const NC_DIMENSION = 0x0a;
const NC_VARIABLE = 0x0b;
const NC_ATTRIBUTE = 0x0c;
/** nc_type codes of the format. */
const NC_CHAR = 2;
const TYPE_CODE: Readonly<Record<NcVariableType, number>> = { int: 4, float: 5, double: 6 };
const TYPE_SIZE: Readonly<Record<NcVariableType, number>> = { int: 4, float: 4, double: 8 };
/** Attributes CF requires to have their variable's type. */
const VARIABLE_TYPED = new Set(['_FillValue', 'missing_value', 'valid_min', 'valid_max', 'valid_range']);
/** Names as netCDF-C accepts them (a conservative subset: ASCII, no leading digit, no slash). */
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.@+-]*$/;

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** Big-endian byte sink that grows as written. */
class Sink {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v);
    this.length += 4;
  }
  u64(v: number): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v));
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length + pad4(b.length));
    this.buf.set(b, this.length);
    this.length += b.length;
    this.length += pad4(b.length); // zero padding: the buffer starts zeroed and is never rewritten
  }
  numbers(type: NcVariableType, values: ArrayLike<number>): void {
    const size = TYPE_SIZE[type];
    this.reserve(values.length * size + 4);
    for (let k = 0; k < values.length; k++) {
      const v = values[k] as number;
      if (type === 'int') this.view.setInt32(this.length, v);
      else if (type === 'float') this.view.setFloat32(this.length, v);
      else this.view.setFloat64(this.length, v);
      this.length += size;
    }
    this.length += pad4(values.length * size);
  }
  name(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u32(b.length);
    this.bytes(b);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function checkName(what: string, name: string): void {
  if (!NAME_RE.test(name))
    throw new DatasetError(
      'MALFORMED_INPUT',
      `netCDF: ${what} name '${name}' must be ASCII letters, digits and _.@+- not starting with a digit`,
    );
}

function checkNumbers(what: string, type: NcVariableType, values: ArrayLike<number>): void {
  for (let k = 0; k < values.length; k++) {
    const v = values[k] as number;
    if (type === 'int' ? !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31 : typeof v !== 'number')
      throw new DatasetError('MALFORMED_INPUT', `netCDF: ${what}[${k}] = ${v} is not a valid ${type}`);
  }
}

function writeAttributes(
  out: Sink,
  owner: string,
  attrs: Readonly<Record<string, NcAttributeValue>> | undefined,
  variableType?: NcVariableType,
): void {
  const entries = Object.entries(attrs ?? {});
  if (entries.length === 0) {
    out.u32(0); // ABSENT = ZERO ZERO
    out.u32(0);
    return;
  }
  out.u32(NC_ATTRIBUTE);
  out.u32(entries.length);
  for (const [name, value] of entries) {
    checkName(`${owner} attribute`, name);
    out.name(name);
    if (typeof value === 'string') {
      const text = new TextEncoder().encode(value);
      out.u32(NC_CHAR);
      out.u32(text.length);
      out.bytes(text);
      continue;
    }
    const typed: NcTypedAttribute =
      typeof value === 'number' || Array.isArray(value)
        ? {
            type: variableType !== undefined && VARIABLE_TYPED.has(name) ? variableType : 'double',
            values: typeof value === 'number' ? [value] : (value as readonly number[]),
          }
        : (value as NcTypedAttribute);
    if (typed.values.length === 0)
      throw new DatasetError('MALFORMED_INPUT', `netCDF: ${owner} attribute ${name} has no values`);
    checkNumbers(`${owner} attribute ${name}`, typed.type, typed.values);
    out.u32(TYPE_CODE[typed.type]);
    out.u32(typed.values.length);
    out.numbers(typed.type, typed.values);
  }
}

/**
 * Encodes `file` as a netCDF classic file in the 64-bit offset format (CDF-2).
 * @returns the file's bytes
 * @throws DatasetError `MALFORMED_INPUT` for an invalid or repeated name, a dimension size that is not an integer
 *   >= 1, an unknown dimension, or a value that does not fit its type; `SHAPE_MISMATCH` when a variable's data does
 *   not hold the product of its dimensions' sizes
 */
export function writeNetcdfClassic(file: NcFile): Uint8Array {
  const dimIndex = new Map<string, number>();
  for (const [k, d] of file.dimensions.entries()) {
    checkName('dimension', d.name);
    if (dimIndex.has(d.name))
      throw new DatasetError('MALFORMED_INPUT', `netCDF: dimension ${d.name} is repeated`);
    if (!Number.isInteger(d.size) || d.size < 1 || d.size >= 2 ** 31)
      throw new DatasetError(
        'MALFORMED_INPUT',
        `netCDF: dimension ${d.name} has size ${d.size}, not an integer >= 1`,
      );
    dimIndex.set(d.name, k);
  }
  const seen = new Set<string>();
  const layout = file.variables.map((v) => {
    checkName('variable', v.name);
    if (seen.has(v.name)) throw new DatasetError('MALFORMED_INPUT', `netCDF: variable ${v.name} is repeated`);
    seen.add(v.name);
    if (!(NC_VARIABLE_TYPES as readonly string[]).includes(v.type))
      throw new DatasetError('MALFORMED_INPUT', `netCDF: variable ${v.name} has unknown type ${v.type}`);
    const ids = v.dimensions.map((name) => {
      const id = dimIndex.get(name);
      if (id === undefined)
        throw new DatasetError(
          'MALFORMED_INPUT',
          `netCDF: variable ${v.name} names unknown dimension ${name}`,
        );
      return id;
    });
    const count = ids.reduce((n, id) => n * (file.dimensions[id]?.size ?? 0), 1);
    if (v.data.length !== count)
      throw new DatasetError(
        'SHAPE_MISMATCH',
        `netCDF: variable ${v.name} has ${v.data.length} values; its dimensions (${v.dimensions.join(', ')}) hold ${count}`,
      );
    if (v.type === 'int') checkNumbers(`variable ${v.name}`, 'int', v.data);
    const bytes = count * TYPE_SIZE[v.type];
    return { ids, bytes, vsize: bytes + pad4(bytes) };
  });

  // The header first with placeholder offsets, to learn its length; then again with the real ones.
  const header = (begins: readonly number[]): Sink => {
    const out = new Sink();
    out.bytes(new Uint8Array([0x43, 0x44, 0x46, 0x02])); // 'CDF' and version 2 (64-bit offsets)
    out.u32(0); // numrecs: no record dimension
    if (file.dimensions.length === 0) {
      out.u32(0);
      out.u32(0);
    } else {
      out.u32(NC_DIMENSION);
      out.u32(file.dimensions.length);
      for (const d of file.dimensions) {
        out.name(d.name);
        out.u32(d.size);
      }
    }
    writeAttributes(out, 'global', file.attributes);
    if (file.variables.length === 0) {
      out.u32(0);
      out.u32(0);
    } else {
      out.u32(NC_VARIABLE);
      out.u32(file.variables.length);
      for (const [k, v] of file.variables.entries()) {
        const l = layout[k] as (typeof layout)[number];
        out.name(v.name);
        out.u32(l.ids.length);
        for (const id of l.ids) out.u32(id);
        writeAttributes(out, `variable ${v.name}`, v.attributes, v.type);
        out.u32(TYPE_CODE[v.type]);
        // vsize is 32-bit; a variable of 4 GiB or more stores 2^32 - 1, as the specification allows for the last.
        out.u32(Math.min(l.vsize, 0xffff_ffff));
        out.u64(begins[k] ?? 0);
      }
    }
    return out;
  };
  const headerLength = header([]).length;
  const begins: number[] = [];
  let offset = headerLength;
  for (const l of layout) {
    begins.push(offset);
    offset += l.vsize;
  }
  const out = header(begins);
  for (const v of file.variables) out.numbers(v.type, v.data);
  return out.result();
}

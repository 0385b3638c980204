/**
 * The safetensors file format (https://github.com/huggingface/safetensors, README "Format"), pure
 * bytes in and out:
 *
 *   8 bytes   N, the header length, unsigned 64-bit little-endian
 *   N bytes   a UTF-8 JSON object starting with '{', maybe padded with spaces:
 *             { "__metadata__": { string: string }?,  "<name>": { "dtype": "F32", "shape": [2, 3],
 *               "data_offsets": [begin, end] }, ... }  (offsets relative to the data section)
 *   rest      the data section: every byte belongs to exactly one tensor (no holes, no overlap),
 *             row-major, little-endian.
 *
 * No npm package implements it well (`safetensors` on npm is an unmaintained 0.0.1), so this file
 * implements the format with the reference implementation's checks: header at most 100 MB, dtype
 * known, byte count = prod(shape) * itemsize, offsets contiguous from 0 to the end of the file.
 * JSON.parse keeps the last of duplicate keys; duplicate names are therefore not detected.
 */

import { AppError } from '@alignda/errors';

/** Element types of the format, with their byte widths. F16 and BF16 are carried as raw 16-bit words. */
const DTYPES = {
  F64: { bytes: 8, array: Float64Array },
  I64: { bytes: 8, array: BigInt64Array },
  U64: { bytes: 8, array: BigUint64Array },
  F32: { bytes: 4, array: Float32Array },
  I32: { bytes: 4, array: Int32Array },
  U32: { bytes: 4, array: Uint32Array },
  F16: { bytes: 2, array: Uint16Array },
  BF16: { bytes: 2, array: Uint16Array },
  I16: { bytes: 2, array: Int16Array },
  U16: { bytes: 2, array: Uint16Array },
  I8: { bytes: 1, array: Int8Array },
  U8: { bytes: 1, array: Uint8Array },
  BOOL: { bytes: 1, array: Uint8Array },
} as const;

/** A dtype name of the format. */
export type SafetensorsDtype = keyof typeof DTYPES;

/** The typed arrays that hold tensor data (F16/BF16 as raw Uint16Array words, BOOL as Uint8Array). */
export type SafetensorsData =
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Uint16Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** One tensor: dtype, row-major shape and data of length prod(shape). */
export interface SafetensorsTensor {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: SafetensorsData;
}

/** A decoded file: tensors by name (in data-offset order) and the `__metadata__` strings. */
export interface SafetensorsContents {
  readonly tensors: Record<string, SafetensorsTensor>;
  readonly metadata: Record<string, string>;
}

/** Why a buffer is not a valid safetensors file. */
export const SAFETENSORS_ERROR_CODES = [
  'TRUNCATED',
  'BAD_HEADER_LENGTH',
  'BAD_HEADER',
  'BAD_METADATA',
  'BAD_DTYPE',
  'BAD_SHAPE',
  'BAD_OFFSETS',
  'OVERLAP',
  'HOLE',
  'BAD_TENSOR',
] as const;

/** A reason of {@link SAFETENSORS_ERROR_CODES}. */
export type SafetensorsErrorCode = (typeof SAFETENSORS_ERROR_CODES)[number];

/**
 * A malformed file, or a tensor that cannot be written: an `AppError` with code `INVALID_ARGUMENT` (the
 * bytes or tensors were the caller's) whose `reason` says which check failed (also in `details.reason`).
 */
export class SafetensorsError extends AppError {
  override readonly name = 'SafetensorsError';
  /** The failed check. */
  readonly reason: SafetensorsErrorCode;

  /**
   * @param reason - the failed check
   * @param message - what was found and what was expected
   */
  constructor(reason: SafetensorsErrorCode, message: string) {
    super('INVALID_ARGUMENT', `safetensors: ${message}`, { details: { reason } });
    this.reason = reason;
  }
}

/** The reference implementation's limit on the header size. */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new AppError('UNIMPLEMENTED', 'safetensors: this module assumes a little-endian host');
}

function isDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, s);
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(name: string, shape: unknown): readonly number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new SafetensorsError(
      'BAD_SHAPE',
      `tensor '${name}': shape must be an array of integers >= 0, got ${JSON.stringify(shape)}`,
    );
  }
  return shape as number[];
}

/**
 * Serialises tensors and metadata. Tensors are laid out by decreasing itemsize (then in the order
 * given), and the header is padded with spaces to a multiple of 8 bytes, so every tensor's data is
 * aligned to its itemsize in the file.
 * @param tensors - by name; a name must be non-empty and not `__metadata__`
 * @param metadata - free-form strings, e.g. a model config as JSON
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, SafetensorsTensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string')
      throw new SafetensorsError('BAD_METADATA', `metadata '${k}' must be a string, got ${typeof v}`);
  }
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '' || name === METADATA_KEY)
      throw new SafetensorsError('BAD_TENSOR', `invalid tensor name '${name}'`);
    if (!isDtype(t.dtype))
      throw new SafetensorsError('BAD_DTYPE', `tensor '${name}': unknown dtype ${String(t.dtype)}`);
    const shape = checkShape(name, t.shape);
    const spec = DTYPES[t.dtype];
    if (!(t.data instanceof spec.array)) {
      throw new SafetensorsError(
        'BAD_TENSOR',
        `tensor '${name}': dtype ${t.dtype} needs a ${spec.array.name}, got ${t.data.constructor.name}`,
      );
    }
    if (t.data.length !== numel(shape)) {
      throw new SafetensorsError(
        'BAD_SHAPE',
        `tensor '${name}': shape [${shape.join(', ')}] has ${numel(shape)} elements, data has ${t.data.length}`,
      );
    }
  }
  // Stable sort: wider items first keeps every tensor aligned when the data section starts 8-aligned.
  const ordered = entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => DTYPES[b.e[1].dtype].bytes - DTYPES[a.e[1].dtype].bytes || a.i - b.i)
    .map(({ e }) => e);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const [name, t] of ordered) {
    const end = offset + t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, end] };
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8;
  if (headerLen > MAX_HEADER_BYTES)
    throw new SafetensorsError(
      'BAD_HEADER_LENGTH',
      `header of ${headerLen} bytes exceeds ${MAX_HEADER_BYTES}`,
    );
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let at = 8 + headerLen;
  for (const [, t] of ordered) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  begin: number;
  end: number;
}

function parseEntry(name: string, raw: unknown): Entry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SafetensorsError('BAD_HEADER', `tensor '${name}': header entry must be an object`);
  }
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (!isDtype(dtype))
    throw new SafetensorsError('BAD_DTYPE', `tensor '${name}': unknown dtype ${JSON.stringify(dtype)}`);
  const dims = checkShape(name, shape);
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) ||
    (offsets[0] as number) > (offsets[1] as number)
  ) {
    throw new SafetensorsError(
      'BAD_OFFSETS',
      `tensor '${name}': data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  const need = numel(dims) * DTYPES[dtype].bytes;
  if (end - begin !== need) {
    throw new SafetensorsError(
      'BAD_OFFSETS',
      `tensor '${name}': ${dtype} [${dims.join(', ')}] needs ${need} bytes, data_offsets [${begin}, ${end}] give ${end - begin}`,
    );
  }
  return { name, dtype, shape: dims, begin, end };
}

/**
 * Parses and validates a safetensors file. Every tensor's data is copied into a fresh, aligned
 * array, bit for bit (NaN payloads included), so the result does not alias `bytes`.
 * @param bytes - the whole file
 * @throws SafetensorsError naming the first failed check and the numbers involved
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsContents {
  if (bytes.length < 8)
    throw new SafetensorsError(
      'TRUNCATED',
      `file is ${bytes.length} bytes, shorter than the 8-byte header length`,
    );
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      'BAD_HEADER_LENGTH',
      `header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit: not a safetensors file or corrupt`,
    );
  }
  const n = Number(n64);
  if (n > bytes.length - 8) {
    throw new SafetensorsError(
      'BAD_HEADER_LENGTH',
      `header length ${n} exceeds the ${bytes.length - 8} bytes that follow it: the file is truncated or its header length is corrupt`,
    );
  }
  if (n < 2 || bytes[8] !== 0x7b)
    throw new SafetensorsError('BAD_HEADER', `header (${n} bytes) does not start with '{'`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    throw new SafetensorsError(
      'BAD_HEADER',
      `header (${n} bytes) is not valid UTF-8 JSON: ${(err as Error).message}`,
    );
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError('BAD_HEADER', 'header must be a JSON object');
  }
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [key, value] of Object.entries(header as Record<string, unknown>)) {
    if (key === METADATA_KEY) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new SafetensorsError('BAD_METADATA', '__metadata__ must be an object of strings');
      }
      for (const [mk, mv] of Object.entries(value as Record<string, unknown>)) {
        if (typeof mv !== 'string')
          throw new SafetensorsError(
            'BAD_METADATA',
            `__metadata__ '${mk}' must be a string, got ${typeof mv}`,
          );
        metadata[mk] = mv;
      }
    } else {
      entries.push(parseEntry(key, value));
    }
  }
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous = '(start of data)';
  for (const e of entries) {
    if (e.begin < expected) {
      throw new SafetensorsError(
        'OVERLAP',
        `tensor '${e.name}' [${e.begin}, ${e.end}) overlaps '${previous}' which ends at ${expected}`,
      );
    }
    if (e.begin > expected) {
      throw new SafetensorsError(
        'HOLE',
        `bytes [${expected}, ${e.begin}) between '${previous}' and '${e.name}' belong to no tensor`,
      );
    }
    expected = e.end;
    previous = e.name;
  }
  if (expected > dataLen) {
    throw new SafetensorsError(
      'TRUNCATED',
      `data section is ${dataLen} bytes but tensor '${previous}' ends at ${expected}: the file is truncated`,
    );
  }
  if (expected < dataLen) {
    throw new SafetensorsError(
      'HOLE',
      `${dataLen - expected} trailing bytes after the last tensor '${previous}' belong to no tensor`,
    );
  }
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const e of entries) {
    const spec = DTYPES[e.dtype];
    const data = new spec.array((e.end - e.begin) / spec.bytes);
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data };
  }
  return { tensors, metadata };
}

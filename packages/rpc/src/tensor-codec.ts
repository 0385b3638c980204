import type { Tensor as ArrayTensor } from '@alignda/tensor';
import { Dtype, type Tensor } from './generated/alignda/v1/common.js';
import { InvalidMessageError, invalidMessage, type MessageIssue } from './invalid-message-error.js';
import { copyAsLittleEndian } from './internal/byte-order.js';

/** Bytes per element of each dtype that has a fixed size. */
const ITEM_BYTES: Readonly<Record<Exclude<Dtype, Dtype.UNSPECIFIED | Dtype.UNRECOGNIZED>, number>> = {
  [Dtype.FLOAT32]: 4,
  [Dtype.FLOAT64]: 8,
  [Dtype.INT32]: 4,
  [Dtype.UINT8]: 1,
};

/** Largest dimension a Tensor.shape entry (uint32) can hold. */
const MAX_DIM = 0xffff_ffff;

/** Formats a shape as `[2, 3, 4]` for error messages. */
export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

/** The dtype's enum name (`FLOAT32`), or its number when unknown. */
function dtypeName(dtype: Dtype): string {
  return Dtype[dtype] ?? String(dtype);
}

/**
 * Checks a shape and returns its element count (1 for the empty shape, a scalar).
 * @throws InvalidMessageError when a dimension is not an integer in [0, 2^32) or the count is unsafe
 */
export function elementCount(shape: readonly number[], path = 'tensor.shape'): number {
  let count = 1;
  shape.forEach((dim, axis) => {
    if (!Number.isInteger(dim) || dim < 0 || dim > MAX_DIM) {
      invalidMessage(`${path}[${axis}]`, `dimension ${dim} is not an integer in [0, ${MAX_DIM}]`);
    }
    count *= dim;
  });
  if (!Number.isSafeInteger(count)) invalidMessage(path, `shape ${formatShape(shape)} has too many elements`);
  return count;
}

function encode(
  data: Float32Array | Float64Array,
  shape: readonly number[],
  dtype: Dtype,
  path: string,
): Tensor {
  const count = elementCount(shape, `${path}.shape`);
  if (data.length !== count) {
    invalidMessage(path, `${data.length} values do not fill shape ${formatShape(shape)} (${count} elements)`);
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { shape: [...shape], dtype, data: copyAsLittleEndian(bytes, data.BYTES_PER_ELEMENT) };
}

/**
 * The issue of values that hold NaN or an infinity (a received field or latent: the platform's states are finite), or
 * undefined when all are finite.
 * @param path - where the values are, e.g. `background_latent.data`
 */
export function nonFiniteIssue(values: ArrayLike<number>, path: string): MessageIssue | undefined {
  let count = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++)
    if (!Number.isFinite(values[i])) {
      if (count++ === 0) first = i;
    }
  return count === 0
    ? undefined
    : {
        path,
        message: `${count} values are NaN or infinite (the first is element ${first}): send finite values`,
      };
}

/**
 * Throws unless every value is finite (see {@link nonFiniteIssue}).
 * @throws InvalidMessageError naming how many values are NaN or infinite and the first one
 */
export function assertFinite(values: ArrayLike<number>, path: string): void {
  const issue = nonFiniteIssue(values, path);
  if (issue !== undefined) throw new InvalidMessageError([issue]);
}

/**
 * Wraps float32 values as a FLOAT32 Tensor message, bytes little-endian whatever the host. Copies the
 * data; NaN payloads are preserved bit for bit.
 * @param data - values, row-major, length = product(shape)
 * @param shape - dimensions, e.g. [C, H, W]
 * @param path - name of the tensor in error messages. @defaultValue 'tensor'
 * @throws InvalidMessageError when the length does not match the shape
 */
export function tensorFromFloat32(data: Float32Array, shape: readonly number[], path = 'tensor'): Tensor {
  return encode(data, shape, Dtype.FLOAT32, path);
}

/** As {@link tensorFromFloat32}, for float64 values (a FLOAT64 Tensor). */
export function tensorFromFloat64(data: Float64Array, shape: readonly number[], path = 'tensor'): Tensor {
  return encode(data, shape, Dtype.FLOAT64, path);
}

/** Validates presence, dtype, shape and byte length; returns the tensor, now known to be set. */
function checkTensor(tensor: Tensor | undefined, dtype: Dtype, path: string): Tensor {
  if (tensor === undefined) return invalidMessage(path, 'is required');
  if (tensor.dtype !== dtype) {
    invalidMessage(`${path}.dtype`, `is ${dtypeName(tensor.dtype)}, expected ${dtypeName(dtype)}`);
  }
  const itemBytes = ITEM_BYTES[dtype as keyof typeof ITEM_BYTES];
  const count = elementCount(tensor.shape, `${path}.shape`);
  const expected = count * itemBytes;
  if (tensor.data.byteLength !== expected) {
    invalidMessage(
      `${path}.data`,
      `has ${tensor.data.byteLength} bytes, but shape ${formatShape(tensor.shape)} of ${dtypeName(dtype)} ` +
        `needs ${expected} (${count} elements x ${itemBytes} bytes)`,
    );
  }
  return tensor;
}

/** Checks `shape` against an expected one, where `null` matches any size. */
function checkShape(
  shape: readonly number[],
  expected: readonly (number | null)[] | undefined,
  path: string,
): void {
  if (expected === undefined) return;
  const ok = shape.length === expected.length && expected.every((dim, i) => dim === null || dim === shape[i]);
  if (!ok) {
    const want = formatShape(expected.map((d) => d ?? '*'));
    invalidMessage(`${path}.shape`, `is ${formatShape(shape)}, expected ${want}`);
  }
}

/**
 * Reads a FLOAT32 Tensor message into a fresh, aligned Float32Array in host order.
 * @param tensor - the message; `undefined` (an unset message field) is rejected as missing
 * @param path - name of the tensor in error messages, e.g. `background_latent`. @defaultValue 'tensor'
 * @param expectedShape - optional shape to require; `null` entries match any size, e.g. [null, 4, 8, 16]
 * @returns `{ data, shape }` as used by @alignda/tensor
 * @throws InvalidMessageError when the tensor is missing, not FLOAT32, has a bad shape or the byte
 *   length does not equal product(shape) x 4
 */
export function float32FromTensor(
  tensor: Tensor | undefined,
  path = 'tensor',
  expectedShape?: readonly (number | null)[],
): ArrayTensor<Float32Array> {
  const t = checkTensor(tensor, Dtype.FLOAT32, path);
  checkShape(t.shape, expectedShape, path);
  const bytes = copyAsLittleEndian(t.data, 4);
  return { data: new Float32Array(bytes.buffer, 0, bytes.byteLength / 4), shape: [...t.shape] };
}

/** As {@link float32FromTensor}, for a FLOAT64 Tensor message. */
export function float64FromTensor(
  tensor: Tensor | undefined,
  path = 'tensor',
  expectedShape?: readonly (number | null)[],
): ArrayTensor<Float64Array> {
  const t = checkTensor(tensor, Dtype.FLOAT64, path);
  checkShape(t.shape, expectedShape, path);
  const bytes = copyAsLittleEndian(t.data, 8);
  return { data: new Float64Array(bytes.buffer, 0, bytes.byteLength / 8), shape: [...t.shape] };
}

import type { FloatArray } from '../field.js';
import { TensorError } from '../tensor-error.js';

export type { FloatArray };

/** Formats a shape for error messages, e.g. `[2, 3, 4]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Number of elements of a shape (1 for the scalar shape `[]`). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Throws unless every dimension is a non-negative integer and `data.length` matches the shape. */
export function checkTensor(
  fn: string,
  name: string,
  t: { data: ArrayLike<number>; shape: readonly number[] },
): void {
  for (const d of t.shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new TensorError('SHAPE_MISMATCH', `${fn}: ${name} has an invalid shape ${fmtShape(t.shape)}`);
    }
  }
  const n = shapeSize(t.shape);
  if (t.data.length !== n) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `${fn}: ${name} has shape ${fmtShape(t.shape)} (${n} elements) but data of length ${t.data.length}`,
    );
  }
}

/** Throws unless the two shapes are equal, naming both. */
export function checkSameShape(
  fn: string,
  nameA: string,
  a: readonly number[],
  nameB: string,
  b: readonly number[],
): void {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `${fn}: ${nameA} has shape ${fmtShape(a)} but ${nameB} has shape ${fmtShape(b)}`,
    );
  }
}

/** A new zeroed array of the same element type as `like`. */
export function allocLike<T extends FloatArray>(like: T, length: number): T {
  return (like instanceof Float32Array ? new Float32Array(length) : new Float64Array(length)) as T;
}

/**
 * Returns `out` after checking its length, or a fresh zeroed array of the same element type as `like`.
 * `fn` and `name` label the error.
 */
export function outOrAlloc<T extends FloatArray>(fn: string, like: T, length: number, out?: T): T {
  if (out === undefined) return allocLike(like, length);
  if (out.length !== length) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `${fn}: out has length ${out.length} but ${length} elements are needed`,
    );
  }
  return out;
}

import type { Tensor } from './field.js';
import { fmtShape, outOrAlloc, shapeSize } from './internal/shape.js';
import type { FloatArray } from './internal/shape.js';
import { TensorError } from './tensor-error.js';

/** Element type of a new tensor. */
export type DType = 'float32' | 'float64';

/**
 * A zero-filled tensor.
 * @param shape - any shape of non-negative integers
 * @param dtype - element type; @defaultValue 'float32' (model inputs and outputs are float32)
 */
export function zeros(shape: readonly number[]): Tensor<Float32Array>;
export function zeros(shape: readonly number[], dtype: 'float32'): Tensor<Float32Array>;
export function zeros(shape: readonly number[], dtype: 'float64'): Tensor<Float64Array>;
export function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor<FloatArray> {
  if (shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new TensorError('SHAPE_MISMATCH', `zeros: invalid shape ${fmtShape(shape)}`);
  const n = shapeSize(shape);
  return { data: dtype === 'float64' ? new Float64Array(n) : new Float32Array(n), shape: [...shape] };
}

/**
 * Element-wise difference a - b.
 * @param a - length n
 * @param b - length n
 * @param out - length n, may alias `a` or `b`; @defaultValue a new array of the element type of `a`
 */
export function sub<T extends FloatArray>(a: T, b: FloatArray, out?: T): T {
  sameLength('sub', a, b);
  const y = outOrAlloc('sub', a, a.length, out);
  for (let i = 0; i < a.length; i++) y[i] = (a[i] as number) - (b[i] as number);
  return y;
}

/**
 * BLAS axpy in place: y <- alpha x + y. Returns `y`.
 * @param x - length n
 * @param y - length n, overwritten
 */
export function axpy<T extends FloatArray>(alpha: number, x: FloatArray, y: T): T {
  sameLength('axpy', x, y);
  for (let i = 0; i < y.length; i++) y[i] = (y[i] as number) + alpha * (x[i] as number);
  return y;
}

/**
 * Inner product sum_i a_i b_i, accumulated in float64.
 * @param a - length n
 * @param b - length n
 */
export function dot(a: FloatArray, b: FloatArray): number {
  sameLength('dot', a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/**
 * Euclidean norm sqrt(sum_i a_i^2), accumulated in float64 (Math.hypot would be slower and is not needed
 * for the magnitudes of geophysical fields: float64 squares overflow only beyond 1e154).
 * @param a - length n
 */
export function norm2(a: FloatArray): number {
  return Math.sqrt(dot(a, a));
}

function sameLength(fn: string, a: FloatArray, b: FloatArray): void {
  if (a.length !== b.length)
    throw new TensorError('SHAPE_MISMATCH', `${fn}: arrays of lengths ${a.length} and ${b.length}`);
}

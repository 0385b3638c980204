import type { FloatArray, Tensor } from '@alignda/tensor';
import { fmtShape, invalidArgument } from './errors.js';

/**
 * Reads fields of shape [N, C, H, W] or [C, H, W] (N = 1) and returns N, C, H, W.
 * @throws AppError INVALID_ARGUMENT on another rank or a data length that does not match
 */
export function stackDims(fn: string, what: string, t: Tensor<FloatArray>): [number, number, number, number] {
  const s = t.shape;
  if ((s.length !== 3 && s.length !== 4) || s.some((x) => !Number.isInteger(x) || x < 1))
    throw invalidArgument(fn, `${what} must have shape [N, C, H, W] or [C, H, W], got ${fmtShape(s)}`);
  const dims = (s.length === 4 ? s : [1, ...s]) as [number, number, number, number];
  if (t.data.length !== dims[0] * dims[1] * dims[2] * dims[3])
    throw invalidArgument(fn, `${what} has ${t.data.length} values but shape ${fmtShape(s)}`);
  return dims;
}

/** Checks a channel index of a balance role against C. */
export function checkChannel(fn: string, role: string, c: number | undefined, C: number): number {
  if (c === undefined || !Number.isInteger(c) || c < 0 || c >= C)
    throw invalidArgument(fn, `${role} = ${c} is not a channel (the fields have ${C} channels, 0..${C - 1})`);
  return c;
}

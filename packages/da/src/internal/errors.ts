import { AppError } from '@alignda/errors';
import type { AppErrorDetails } from '@alignda/errors';

/**
 * The error every bad input to packages/da gets: an {@link AppError} with code INVALID_ARGUMENT whose
 * message starts with the function that rejected it.
 */
export function invalidArgument(fn: string, message: string, details?: AppErrorDetails): AppError {
  return new AppError('INVALID_ARGUMENT', `${fn}: ${message}`, details === undefined ? {} : { details });
}

/** Formats a shape for messages, e.g. `[2, 3, 4]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Number of elements of a shape. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Throws unless every entry of `shape` is a positive integer. */
export function checkShape(fn: string, name: string, shape: readonly number[]): void {
  if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw invalidArgument(
      fn,
      `${name} must be a non-empty list of positive integers, got ${fmtShape(shape)}`,
    );
  }
}

/** Throws unless `a` and `b` are the same shape, naming both. */
export function checkSameShape(
  fn: string,
  nameA: string,
  a: readonly number[],
  nameB: string,
  b: readonly number[],
): void {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw invalidArgument(fn, `${nameA} has shape ${fmtShape(a)} but ${nameB} has shape ${fmtShape(b)}`);
  }
}

/** Throws unless a port returned an array of the expected length. */
export function checkPortOutput(
  fn: string,
  port: string,
  got: ArrayLike<number>,
  expected: number,
  shape: string,
): void {
  if (got.length !== expected) {
    throw invalidArgument(
      fn,
      `the ${port} returned ${got.length} values but ${expected} (${shape}) were expected`,
    );
  }
}

import { AppError } from '@alignda/errors';
import type { AppErrorCode } from '@alignda/errors';

/**
 * Why a kernel, grid, field or statistics call rejected its input: the reason behind the platform code.
 * Every reason is a caller mistake (the kernels check their input once at entry), never retryable.
 */
export const TENSOR_ERROR_CODES = [
  /** Shapes, lengths or channel counts disagree, or a shape is not a list of positive integers. */
  'SHAPE_MISMATCH',
  /** A number, index or name outside its allowed values (a seed, a scale, a latitude, a channel name). */
  'OUT_OF_RANGE',
  /** NaN or infinite values where finite ones are required. */
  'NON_FINITE_VALUES',
  /** Structured input that breaks its rules: parsed statistics, channel names, coordinate order or spacing. */
  'MALFORMED_INPUT',
  /** Well-formed input on which the computation has no answer (weights summing to 0, an all-masked grid). */
  'DEGENERATE',
] as const;

/** One of {@link TENSOR_ERROR_CODES}. */
export type TensorErrorCode = (typeof TENSOR_ERROR_CODES)[number];

/** The platform code (`@alignda/errors`) each reason maps to; exhaustive. */
const APP_CODE_BY_TENSOR_CODE: Readonly<Record<TensorErrorCode, AppErrorCode>> = {
  SHAPE_MISMATCH: 'INVALID_ARGUMENT',
  OUT_OF_RANGE: 'INVALID_ARGUMENT',
  NON_FINITE_VALUES: 'INVALID_ARGUMENT',
  MALFORMED_INPUT: 'INVALID_ARGUMENT',
  DEGENERATE: 'INVALID_ARGUMENT',
};

/**
 * The `AppError` of `@alignda/tensor`: `code` is the platform code the edges map to a status, `reason`
 * the specific reason (also in `details.reason`). The message starts with the function that rejected
 * the input and names the shapes or values involved, e.g. `ddx: need at least 3 columns, grid is [4, 2]`.
 */
export class TensorError extends AppError {
  override readonly name = 'TensorError';
  /** What was wrong with the input. */
  readonly reason: TensorErrorCode;

  constructor(reason: TensorErrorCode, message: string) {
    super(APP_CODE_BY_TENSOR_CODE[reason], message, { details: { reason } });
    this.reason = reason;
  }
}

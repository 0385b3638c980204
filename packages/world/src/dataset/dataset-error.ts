import { AppError } from '@alignda/errors';
import type { AppErrorCode } from '@alignda/errors';

/**
 * Why a call of `@alignda/world` (datasets, observations, rendering, the QG model and nature runs)
 * failed: the specific reason behind the platform code. Every reason is a client fault (a bad
 * descriptor, file, observation, parameter or argument), never retryable.
 */
export const DATASET_ERROR_CODES = [
  /** The descriptor JSON does not match the schema. */
  'DESCRIPTOR_INVALID',
  /** The descriptor's source file or folder does not exist or cannot be opened. */
  'SOURCE_NOT_FOUND',
  /** A declared variable or coordinate is absent from the file. */
  'VARIABLE_MISSING',
  /** Variable, coordinate, grid or target shapes are inconsistent. */
  'SHAPE_MISMATCH',
  /** NaN or infinite values in a read slice, or a simulated state that blew up. */
  'NON_FINITE_VALUES',
  /** An index, range, fraction, option or model parameter outside its allowed values. */
  'OUT_OF_RANGE',
  /** A dataset name is not registered. */
  'UNKNOWN_DATASET',
  /** A dataset name is already taken by a built-in dataset. */
  'DATASET_EXISTS',
  /** A malformed row, value or batch (observations, CSV, CF attributes). */
  'MALFORMED_INPUT',
  /** A source path outside the data root (ALIGNDA_DATA_DIR): `..`, another absolute path, a symlink out of it. */
  'PATH_NOT_ALLOWED',
] as const;

/** One of {@link DATASET_ERROR_CODES}. */
export type DatasetErrorCode = (typeof DATASET_ERROR_CODES)[number];

/** The platform code (`@alignda/errors`) each reason maps to; exhaustive. */
export const APP_CODE_BY_DATASET_CODE: Readonly<Record<DatasetErrorCode, AppErrorCode>> = {
  DESCRIPTOR_INVALID: 'INVALID_ARGUMENT',
  SOURCE_NOT_FOUND: 'NOT_FOUND',
  VARIABLE_MISSING: 'INVALID_ARGUMENT',
  SHAPE_MISMATCH: 'INVALID_ARGUMENT',
  NON_FINITE_VALUES: 'INVALID_ARGUMENT',
  OUT_OF_RANGE: 'INVALID_ARGUMENT',
  UNKNOWN_DATASET: 'NOT_FOUND',
  DATASET_EXISTS: 'ALREADY_EXISTS',
  MALFORMED_INPUT: 'INVALID_ARGUMENT',
  PATH_NOT_ALLOWED: 'INVALID_ARGUMENT',
};

/**
 * The `AppError` of `@alignda/world`: `code` is the platform code the edges map to a status, `reason`
 * the specific reason (also in `details.reason`). The message is one line naming the dataset (or
 * model) and the offending field, e.g. `descriptor ncep-air: variables[0].units is required`.
 */
export class DatasetError extends AppError {
  readonly reason: DatasetErrorCode;

  constructor(reason: DatasetErrorCode, message: string, options?: { cause?: unknown }) {
    super(APP_CODE_BY_DATASET_CODE[reason], message, { details: { reason }, cause: options?.cause });
    this.reason = reason;
  }
}

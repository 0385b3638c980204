/**
 * Stable error codes of the dataset layer. The platform's AppError maps these at the edges
 * (all are client errors: a bad descriptor or a bad file, never a retryable fault).
 */
export const DATASET_ERROR_CODES = [
  /** The descriptor JSON does not match the schema. */
  'DESCRIPTOR_INVALID',
  /** The descriptor's source file or folder does not exist or cannot be opened. */
  'SOURCE_NOT_FOUND',
  /** A declared variable or coordinate is absent from the file. */
  'VARIABLE_MISSING',
  /** Variable, coordinate or target shapes are inconsistent. */
  'SHAPE_MISMATCH',
  /** NaN or infinite values in a read slice. */
  'NON_FINITE_VALUES',
  /** A time index or range outside the dataset. */
  'OUT_OF_RANGE',
  /** A dataset name is unknown to the registry, or registered twice. */
  'UNKNOWN_DATASET',
  /** A malformed row or value in an observation file. */
  'MALFORMED_INPUT',
] as const;

/** One of {@link DATASET_ERROR_CODES}. */
export type DatasetErrorCode = (typeof DATASET_ERROR_CODES)[number];

/**
 * The one error type of `@alignda/world`'s dataset, observation and rendering code. The message is one
 * line that names the dataset and the offending field, e.g.
 * `descriptor ncep-air: variables[0].units is required`.
 */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  readonly code: DatasetErrorCode;

  constructor(code: DatasetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

import { AppError } from '@alignda/errors';
import type { AppErrorCode } from '@alignda/errors';

/** Why training (or loading a trained model) stopped with an error: the reason behind the platform code. */
export const TRAIN_ERROR_CODES = [
  /** `resume: true` and no checkpoint file. */
  'CHECKPOINT_MISSING',
  /** The checkpoint file is unreadable, truncated, not a training checkpoint, or lacks optimizer/EMA state. */
  'CHECKPOINT_CORRUPT',
  /** The checkpoint was written for another model, training config or data normalisation. */
  'CHECKPOINT_MISMATCH',
  /** A step produced a NaN or infinite loss. */
  'NON_FINITE_LOSS',
] as const;

/** One of {@link TRAIN_ERROR_CODES}. */
export type TrainErrorCode = (typeof TRAIN_ERROR_CODES)[number];

/** The platform code (`@alignda/errors`) each reason maps to; exhaustive. */
const APP_CODE_BY_TRAIN_CODE: Readonly<Record<TrainErrorCode, AppErrorCode>> = {
  CHECKPOINT_MISSING: 'NOT_FOUND',
  // The file exists but cannot serve: the stored state, not the request, must change.
  CHECKPOINT_CORRUPT: 'FAILED_PRECONDITION',
  CHECKPOINT_MISMATCH: 'FAILED_PRECONDITION',
  // Divergence is no fault in the request's form, and the same request diverges again: a server-side failure.
  NON_FINITE_LOSS: 'INTERNAL',
};

/**
 * A training failure: `code` is the platform code the edges map to a status, `reason` the specific
 * training reason (also in `details.reason`); the message is one line naming the file or step.
 */
export class TrainError extends AppError {
  override readonly name = 'TrainError';
  /** What went wrong. */
  readonly reason: TrainErrorCode;

  constructor(reason: TrainErrorCode, message: string, options?: { cause?: unknown }) {
    super(APP_CODE_BY_TRAIN_CODE[reason], message, { details: { reason }, cause: options?.cause });
    this.reason = reason;
  }
}

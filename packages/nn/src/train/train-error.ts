/** Why training stopped with an error; a closed table so callers (the CLI) can map codes to messages and exits. */
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

/** A training failure with a stable code and a one-line message naming the file or step. */
export class TrainError extends Error {
  override readonly name = 'TrainError';
  /** What went wrong. */
  readonly code: TrainErrorCode;

  constructor(code: TrainErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

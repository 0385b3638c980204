import { AppError } from '@alignda/errors';

/** One problem found in a received message, located by a path in the message (proto field names). */
export interface MessageIssue {
  /** Where the problem is, e.g. `initial.tensor.data` or `observations.channel_index[17]`. */
  readonly path: string;
  /** What is wrong, in one sentence without a trailing full stop. */
  readonly message: string;
}

/** How many issues the error message spells out; the rest are counted. */
const MAX_ISSUES_IN_MESSAGE = 5;

/**
 * A received message (or a value about to be sent) breaks its contract: wrong byte length, missing
 * required field, inconsistent lengths. Always the caller's fault: an `AppError` with code
 * `INVALID_ARGUMENT`, which a gRPC handler answers with {@link InvalidMessageError.message}, naming the
 * first problems. It adds the full list of `issues`, not a reason: the paths say what is wrong.
 */
export class InvalidMessageError extends AppError {
  override readonly name = 'InvalidMessageError';
  /** Every problem found, in message order. Never empty. */
  readonly issues: readonly MessageIssue[];

  /** @param issues - the problems found; at least one. */
  constructor(issues: readonly MessageIssue[]) {
    const shown = issues.slice(0, MAX_ISSUES_IN_MESSAGE).map((i) => `${i.path}: ${i.message}`);
    const more =
      issues.length > MAX_ISSUES_IN_MESSAGE ? ` (and ${issues.length - MAX_ISSUES_IN_MESSAGE} more)` : '';
    super('INVALID_ARGUMENT', `${shown.join('; ')}${more}`);
    this.issues = issues;
  }
}

/** Throws an {@link InvalidMessageError} for one issue. */
export function invalidMessage(path: string, message: string): never {
  throw new InvalidMessageError([{ path, message }]);
}

import { toAppError } from './app-error.js';
import type { AppErrorCode } from './app-error.js';

/**
 * gRPC canonical status codes, defined here so this package has no dependency on a gRPC library.
 * Numbers from https://github.com/grpc/grpc/blob/master/doc/statuscodes.md.
 */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status number. */
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** gRPC status sent for each code; exhaustive by type. Use only at gRPC edges. */
export const GRPC_STATUS_BY_CODE: Readonly<Record<AppErrorCode, GrpcStatusCode>> = Object.freeze({
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  CONFLICT: GrpcStatus.ABORTED,
  FAILED_PRECONDITION: GrpcStatus.FAILED_PRECONDITION,
  // A server with a bad config is not the client's fault and cannot serve: same as INTERNAL.
  CONFIG_INVALID: GrpcStatus.INTERNAL,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  DEADLINE_EXCEEDED: GrpcStatus.DEADLINE_EXCEEDED,
  CANCELLED: GrpcStatus.CANCELLED,
  RESOURCE_EXHAUSTED: GrpcStatus.RESOURCE_EXHAUSTED,
  // grpc-js itself reports over-size messages as RESOURCE_EXHAUSTED.
  PAYLOAD_TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  UNIMPLEMENTED: GrpcStatus.UNIMPLEMENTED,
  INTERNAL: GrpcStatus.INTERNAL,
});

/** HTTP status sent for each code; exhaustive by type. Use only at HTTP edges. */
export const HTTP_STATUS_BY_CODE: Readonly<Record<AppErrorCode, number>> = Object.freeze({
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  // 412 is reserved for conditional-request headers (RFC 9110 15.5.13); a state precondition is 409,
  // as in the Google API design guide's mapping of FAILED_PRECONDITION.
  FAILED_PRECONDITION: 409,
  CONFIG_INVALID: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  // 499 "client closed request" (nginx; Google API design guide) — no standard status exists.
  CANCELLED: 499,
  RESOURCE_EXHAUSTED: 429,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
});

/**
 * Process exit statuses, defined here so CLIs and workers share them: the BSD `sysexits.h` values
 * (https://man.freebsd.org/cgi/man.cgi?query=sysexits) plus 130, what a shell reports for a command
 * stopped by SIGINT (128 + 2).
 */
export const ExitStatus = {
  /** EX_USAGE: the command was used incorrectly (a bad flag, argument or value). */
  USAGE: 64,
  /** EX_DATAERR: the user's input data was incorrect in some way. */
  DATAERR: 65,
  /** EX_NOINPUT: an input file (not a system file) did not exist or was not readable. */
  NOINPUT: 66,
  /** EX_UNAVAILABLE: a service or support program is unavailable, or a feature is missing. */
  UNAVAILABLE: 69,
  /** EX_SOFTWARE: an internal software error. */
  SOFTWARE: 70,
  /** EX_CANTCREAT: a (user specified) output could not be created. */
  CANTCREAT: 73,
  /** EX_TEMPFAIL: a temporary failure; the user is invited to retry later. */
  TEMPFAIL: 75,
  /** EX_NOPERM: insufficient permission (not a file-system problem). */
  NOPERM: 77,
  /** EX_CONFIG: something was found in an unconfigured or misconfigured state. */
  CONFIG: 78,
  /** 128 + SIGINT: the user interrupted the command. */
  INTERRUPTED: 130,
} as const;

/** A process exit status of {@link ExitStatus}. */
export type ExitStatusCode = (typeof ExitStatus)[keyof typeof ExitStatus];

/**
 * Exit status a process (CLI, worker) ends with for each code; exhaustive by type. Use only at process
 * edges, through {@link exitStatusOf}. The choices, where sysexits offers more than one:
 * - `INVALID_ARGUMENT` is 64 (usage), not 65 (data): the catalog has one code for every caller mistake,
 *   and at a process edge the caller's request is its command line — flags, values and the files it
 *   names. 64 tells a script "change the invocation", which is the fix for all of them.
 * - `FAILED_PRECONDITION` is 65 (data): the request was well formed but the stored state it needs is
 *   wrong (a corrupt or mismatched checkpoint, a model trained on other data) — the user's data, not the
 *   invocation, must change. `PAYLOAD_TOO_LARGE` is 65 for the same reason: the input must shrink.
 * - `NOT_FOUND` is 66 (no input): what is missing is an input the command reads (checkpoint, dataset).
 * - `UNAVAILABLE` is 69 and `UNIMPLEMENTED` is 69 too: a service or feature this command needs is not
 *   there; retrying the same invocation at once will not help.
 * - `DEADLINE_EXCEEDED`, `CONFLICT` and `RESOURCE_EXHAUSTED` are 75 (temporary failure): the same
 *   invocation may succeed when retried later (slow peer, lost race, rate limit).
 * - `ALREADY_EXISTS` is 73 (cannot create): what the command would create (a dataset name) is taken.
 * - `UNAUTHENTICATED` and `PERMISSION_DENIED` are 77 (no permission); `INTERNAL` is 70 (software error)
 *   and `CONFIG_INVALID` 78 (configuration error), sysexits' own meanings.
 * - `CANCELLED` is 130, as a shell reports a command stopped by Ctrl-C, so scripts treat both alike.
 */
export const EXIT_STATUS_BY_CODE: Readonly<Record<AppErrorCode, ExitStatusCode>> = Object.freeze({
  INVALID_ARGUMENT: ExitStatus.USAGE,
  NOT_FOUND: ExitStatus.NOINPUT,
  ALREADY_EXISTS: ExitStatus.CANTCREAT,
  CONFLICT: ExitStatus.TEMPFAIL,
  FAILED_PRECONDITION: ExitStatus.DATAERR,
  CONFIG_INVALID: ExitStatus.CONFIG,
  UNAVAILABLE: ExitStatus.UNAVAILABLE,
  DEADLINE_EXCEEDED: ExitStatus.TEMPFAIL,
  CANCELLED: ExitStatus.INTERRUPTED,
  RESOURCE_EXHAUSTED: ExitStatus.TEMPFAIL,
  PAYLOAD_TOO_LARGE: ExitStatus.DATAERR,
  UNAUTHENTICATED: ExitStatus.NOPERM,
  PERMISSION_DENIED: ExitStatus.NOPERM,
  UNIMPLEMENTED: ExitStatus.UNAVAILABLE,
  INTERNAL: ExitStatus.SOFTWARE,
});

/**
 * The exit status for anything thrown: its {@link toAppError} code through {@link EXIT_STATUS_BY_CODE}
 * (an `AbortError` is 130, an unknown error 70).
 */
export function exitStatusOf(err: unknown): ExitStatusCode {
  return EXIT_STATUS_BY_CODE[toAppError(err).code];
}

/**
 * The code a gRPC client should raise for a status received from a server (inverse of
 * {@link GRPC_STATUS_BY_CODE} where it is one-to-one; ambiguous statuses pick the general code).
 */
export function appErrorCodeFromGrpcStatus(status: number): AppErrorCode {
  switch (status) {
    case GrpcStatus.CANCELLED:
      return 'CANCELLED';
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.OUT_OF_RANGE:
      return 'INVALID_ARGUMENT';
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 'DEADLINE_EXCEEDED';
    case GrpcStatus.NOT_FOUND:
      return 'NOT_FOUND';
    case GrpcStatus.ALREADY_EXISTS:
      return 'ALREADY_EXISTS';
    case GrpcStatus.PERMISSION_DENIED:
      return 'PERMISSION_DENIED';
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return 'RESOURCE_EXHAUSTED';
    case GrpcStatus.FAILED_PRECONDITION:
      return 'FAILED_PRECONDITION';
    case GrpcStatus.ABORTED:
      return 'CONFLICT';
    case GrpcStatus.UNIMPLEMENTED:
      return 'UNIMPLEMENTED';
    case GrpcStatus.UNAVAILABLE:
      return 'UNAVAILABLE';
    case GrpcStatus.UNAUTHENTICATED:
      return 'UNAUTHENTICATED';
    default:
      return 'INTERNAL';
  }
}

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

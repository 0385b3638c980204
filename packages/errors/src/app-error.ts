/**
 * The closed table of error codes used across alignda.
 *
 * Names follow the gRPC canonical codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html)
 * where one fits, so the edge mapping is obvious; three codes exist because the edges need to tell
 * them apart:
 * - `CONFLICT`: a concurrent update lost a race (optimistic locking, job state changed underneath);
 *   gRPC calls this ABORTED, HTTP 409. Callers may retry the whole read-modify-write.
 * - `CONFIG_INVALID`: the process was started with a bad environment; it stops at boot and is never
 *   sent to a client as a client error.
 * - `PAYLOAD_TOO_LARGE`: a request body or tensor over a size limit (HTTP 413, gRPC RESOURCE_EXHAUSTED),
 *   distinct from rate limiting (`RESOURCE_EXHAUSTED`, HTTP 429) because the client must shrink the
 *   request rather than wait.
 *
 * Not included: gRPC UNKNOWN (every unknown error becomes `INTERNAL`), OUT_OF_RANGE (a kind of
 * `INVALID_ARGUMENT` here) and DATA_LOSS (no code path can detect it distinctly).
 */
export const APP_ERROR_CODES = [
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'CONFLICT',
  'FAILED_PRECONDITION',
  'CONFIG_INVALID',
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'CANCELLED',
  'RESOURCE_EXHAUSTED',
  'PAYLOAD_TOO_LARGE',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'UNIMPLEMENTED',
  'INTERNAL',
] as const;

/** One of {@link APP_ERROR_CODES}. */
export type AppErrorCode = (typeof APP_ERROR_CODES)[number];

/** Structured, JSON-serialisable context attached to an error (ids, variable names, shapes). */
export type AppErrorDetails = Readonly<Record<string, unknown>>;

/** Options of the {@link AppError} constructor. */
export interface AppErrorOptions {
  /** Structured context for logs and API bodies. @defaultValue `undefined` */
  details?: AppErrorDetails;
  /** The underlying failure; anything thrown is accepted and normalised to an `Error`. @defaultValue `undefined` */
  cause?: unknown;
}

/**
 * Marks every {@link AppError} instance (non-enumerable, so bodies and logs never show it), letting
 * {@link isAppError} recognise errors built by another copy of this module, subclasses included, whose
 * `instanceof` fails. `Symbol.for` makes the key the same in every copy.
 */
const APP_ERROR_BRAND: unique symbol = Symbol.for('@alignda/errors.AppError');

/**
 * The one error class of alignda. Domain code throws it with a stable `code`; edges (HTTP, gRPC, CLI,
 * job records) map the code to their own status with `HTTP_STATUS_BY_CODE` / `GRPC_STATUS_BY_CODE` /
 * `EXIT_STATUS_BY_CODE`.
 *
 * A package whose callers need a finer distinction subclasses it and adds only a typed `reason` (its own
 * closed table, mapped exhaustively to a code, also put in `details.reason`) and, where useful, a
 * field locating the fault; it may set its own `name` for logs. `DatasetError` of `@alignda/world` is
 * the pattern.
 */
export class AppError extends Error {
  /** `'AppError'`, or the subclass's name. */
  override readonly name: string = 'AppError';
  /** Stable machine-readable code. */
  readonly code: AppErrorCode;
  /** Structured context, frozen. */
  readonly details: AppErrorDetails | undefined;
  /** The underlying failure, always an `Error` when present. */
  declare readonly cause: Error | undefined;

  constructor(code: AppErrorCode, message: string, options: AppErrorOptions = {}) {
    const cause = normaliseCause(options.cause);
    super(message, cause === undefined ? undefined : { cause });
    if (!(APP_ERROR_CODES as readonly string[]).includes(code)) {
      throw new TypeError(`AppError: unknown code ${JSON.stringify(code)}`);
    }
    this.code = code;
    this.details = options.details === undefined ? undefined : Object.freeze({ ...options.details });
    Object.defineProperty(this, 'cause', { value: cause, enumerable: false, writable: false });
    Object.defineProperty(this, APP_ERROR_BRAND, { value: true, enumerable: false, writable: false });
  }

  /** The body edges send: code, message and details; never the stack or the cause. */
  toJSON(): { code: AppErrorCode; message: string; details?: AppErrorDetails } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Whether `value` is an {@link AppError} or a subclass. An error from another copy of this module (where
 * `instanceof` fails) is recognised by the brand every `AppError` carries, or by the name `'AppError'`
 * (copies older than the brand), and in both cases only with a `code` from the table.
 */
export function isAppError(value: unknown): value is AppError {
  if (value instanceof AppError) return true;
  if (!(value instanceof Error)) return false;
  const branded = (value as { [APP_ERROR_BRAND]?: unknown })[APP_ERROR_BRAND] === true;
  if (!branded && value.name !== 'AppError') return false;
  const code: unknown = (value as { code?: unknown }).code;
  return typeof code === 'string' && (APP_ERROR_CODES as readonly string[]).includes(code);
}

/**
 * Converts anything thrown into an {@link AppError}: an `AppError` is returned unchanged, an
 * `AbortError` becomes `CANCELLED`, a `TimeoutError` becomes `DEADLINE_EXCEEDED`, and anything else
 * becomes `INTERNAL` with the original as `cause`.
 */
export function toAppError(value: unknown): AppError {
  if (isAppError(value)) return value;
  if (value instanceof Error) {
    if (value.name === 'AbortError') return new AppError('CANCELLED', value.message, { cause: value });
    if (value.name === 'TimeoutError')
      return new AppError('DEADLINE_EXCEEDED', value.message, { cause: value });
    return new AppError('INTERNAL', value.message || value.name, { cause: value });
  }
  return new AppError('INTERNAL', `non-error value thrown: ${describe(value)}`, { cause: value });
}

function normaliseCause(cause: unknown): Error | undefined {
  if (cause === undefined) return undefined;
  if (cause instanceof Error) return cause;
  return new Error(describe(cause));
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

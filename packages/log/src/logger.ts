import { pino } from 'pino';
import type { DestinationStream, Logger, LoggerOptions } from 'pino';
import { REDACTED, redactSecrets } from './redact.js';

/** Log levels, most to least severe; `silent` turns logging off. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Minimum level written. @defaultValue `'info'` */
  level?: LogLevel;
  /** The service or process name bound to every line (e.g. `'gateway'`, `'cli'`). */
  service: string;
  /** Where lines go; tests pass a stream to read them back. @defaultValue standard output */
  destination?: DestinationStream;
}

/** A structured logger (pino). */
export type { Logger };

// Keys whose values are secrets wherever they appear (one level of nesting covers request objects).
const SECRET_KEYS = ['password', 'apiKey', 'authorization', 'token', 'secret'];
const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.headers.${k}`]);
// Deep enough for `{ config: { databaseUrl } }`-shaped objects; deeper nesting is not logged here.
const MAX_SCRUB_DEPTH = 4;

/**
 * Creates the process logger bound to `{ service }`. Passwords inside URLs are replaced by `***` in
 * messages and in string fields; keys named password/apiKey/authorization/token/secret are censored;
 * `err` fields are serialised with type, message, stack, `code` and `details` of an AppError, and cause.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const loggerOptions: LoggerOptions = {
    level: options.level ?? 'info',
    base: { service: options.service },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: { err: serializeError },
    formatters: { log: (obj) => scrub(obj, 0) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        const clean = args.map((a: unknown) => (typeof a === 'string' ? redactSecrets(a) : a));
        method.apply(this, clean as Parameters<typeof method>);
      },
    },
  };
  return options.destination === undefined ? pino(loggerOptions) : pino(loggerOptions, options.destination);
}

/** A child logger for one gRPC call or HTTP route: every line carries `rpc`. */
export function rpcLogger(parent: Logger, rpc: string): Logger {
  return parent.child({ rpc });
}

/** A child logger for one queued job: every line carries `jobId`. */
export function jobLogger(parent: Logger, jobId: string): Logger {
  return parent.child({ jobId });
}

/** Serialised form of an error in a log line. */
export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  code?: unknown;
  details?: unknown;
  cause?: SerializedError;
}

/** The `err` serializer: AppError `code`/`details` kept, causes followed (up to 5), secrets redacted. */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { type: typeof err, message: redactSecrets(String(err)) };
  const out: SerializedError = { type: err.name, message: redactSecrets(err.message) };
  if (err.stack !== undefined) out.stack = redactSecrets(err.stack);
  const { code, details } = err as { code?: unknown; details?: unknown };
  if (code !== undefined) out.code = code;
  if (details !== undefined) out.details = scrub(details, 0);
  if (err.cause !== undefined && depth < 5) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (depth >= MAX_SCRUB_DEPTH || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value; // left to the err serializer
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

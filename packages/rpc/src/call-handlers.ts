import { randomUUID } from 'node:crypto';
import { GRPC_STATUS_BY_CODE, toAppError } from '@alignda/errors';
import {
  Metadata,
  status,
  type ServerUnaryCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
} from '@grpc/grpc-js';

/** What every server call offers (grpc-js does not export its `ServerSurfaceCall`). */
type ServerSurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getPath' | 'on'>;

/** Metadata key of the id that ties the log lines of one request together across services. */
export const CORRELATION_ID_KEY = 'x-correlation-id';

/** Longest correlation id taken from a caller; a longer or non-printable one is replaced by a fresh id. */
const MAX_CORRELATION_ID_LENGTH = 128;

/**
 * The logger the handlers write to: the part of a pino `Logger` they use (structural, so this package needs no
 * logging dependency; `@alignda/log`'s `createLogger` returns one).
 */
export interface CallLogger {
  child(bindings: Record<string, unknown>): CallLogger;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What a handler gets besides its request. */
export interface CallContext {
  /** A child logger bound to `{ rpc, correlationId }`. */
  readonly log: CallLogger;
  /** The caller's `x-correlation-id`, or a fresh UUID when it sent none (or an unusable one). */
  readonly correlationId: string;
  /** Aborted when the client cancels the call, its deadline passes or the server force-stops. */
  readonly signal: AbortSignal;
  /** The request metadata. */
  readonly metadata: Metadata;
}

/** The context of a server-streaming handler: {@link CallContext} and a way to send messages. */
export interface StreamContext<TResponse> extends CallContext {
  /**
   * Writes one message; resolves once grpc-js has buffer room for the next one (or at once when the call has ended
   * or been cancelled, in which case the message is dropped).
   */
  send(message: TResponse): Promise<void>;
}

/** A gRPC status to end a failed call with. */
export interface CallStatus {
  readonly code: status;
  readonly details: string;
}

/**
 * The status a handler's error ends its call with: the catalog code of an `AppError` mapped by `GRPC_STATUS_BY_CODE`
 * with its message; an `AbortError` is CANCELLED; anything else is INTERNAL with a generic message naming the
 * correlation id (the error itself is logged, never sent: no stack traces or internals to clients).
 */
export function callStatusOf(err: unknown, correlationId: string): CallStatus {
  const app = toAppError(err);
  const internal = app.code === 'INTERNAL' || app.code === 'CONFIG_INVALID';
  return {
    code: GRPC_STATUS_BY_CODE[app.code],
    details: internal ? `internal error (correlation id ${correlationId})` : app.message,
  };
}

/** The correlation id of a call: the caller's, when it is usable, else a fresh UUID. */
export function correlationIdOf(metadata: Metadata): string {
  const value = metadata.get(CORRELATION_ID_KEY)[0];
  if (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_CORRELATION_ID_LENGTH &&
    /^[\x21-\x7e]+$/.test(value)
  )
    return value;
  return randomUUID();
}

/** `alignda.v1.EncoderService/Encode` from the call's path `/alignda.v1.EncoderService/Encode`. */
function rpcName(call: ServerSurfaceCall): string {
  return call.getPath().replace(/^\//, '');
}

/** The per-call context: logger, correlation id and an abort signal tied to the call's cancellation. */
function contextOf(parent: CallLogger, call: ServerSurfaceCall): CallContext {
  const correlationId = correlationIdOf(call.metadata);
  const abort = new AbortController();
  call.on('cancelled', () => abort.abort(new DOMException('the call was cancelled', 'AbortError')));
  return {
    log: parent.child({ rpc: rpcName(call), correlationId }),
    correlationId,
    signal: abort.signal,
    metadata: call.metadata,
  };
}

/** Logs the end of a call: INTERNAL failures with their error at `error`, others at `info`. */
function logOutcome(ctx: CallContext, started: number, err?: unknown): CallStatus | undefined {
  const ms = Math.round(performance.now() - started);
  if (err === undefined) {
    ctx.log.info({ ms, code: 'OK' }, 'call done');
    return undefined;
  }
  const s = callStatusOf(err, ctx.correlationId);
  const code = status[s.code];
  if (s.code === status.INTERNAL) ctx.log.error({ err, ms, code }, 'call failed');
  else ctx.log.info({ ms, code, details: s.details }, 'call failed');
  return s;
}

/**
 * Wraps an async unary handler for grpc-js: binds the call's logger and correlation id, answers with the value it
 * resolves to, or ends the call with {@link callStatusOf} of what it throws.
 * @example encode: unaryHandler(log, (request, ctx) => encodeFields(models, request, ctx))
 */
export function unaryHandler<TRequest, TResponse>(
  log: CallLogger,
  handle: (request: TRequest, ctx: CallContext) => Promise<TResponse>,
): handleUnaryCall<TRequest, TResponse> {
  return (call, callback) => {
    const ctx = contextOf(log, call);
    const started = performance.now();
    ctx.log.debug({}, 'call');
    // A handler that throws before its first await rejects like one that throws after it.
    new Promise<TResponse>((resolve) => resolve(handle(call.request, ctx))).then(
      (response) => {
        logOutcome(ctx, started);
        callback(null, response);
      },
      (err: unknown) => {
        const s = logOutcome(ctx, started, err);
        callback(s ?? { code: status.UNKNOWN, details: 'unknown' }, null);
      },
    );
  };
}

/**
 * Wraps an async server-streaming handler for grpc-js: binds the call's logger and correlation id, gives it `send`
 * and an abort signal (the client cancelled or the server is force-stopping), ends the stream when it resolves, or
 * ends the call with {@link callStatusOf} of what it throws. Nothing is sent after a cancellation.
 */
export function serverStreamHandler<TRequest, TResponse>(
  log: CallLogger,
  handle: (request: TRequest, ctx: StreamContext<TResponse>) => Promise<void>,
): handleServerStreamingCall<TRequest, TResponse> {
  return (call) => {
    const base = contextOf(log, call);
    const started = performance.now();
    const send = (message: TResponse): Promise<void> => {
      if (call.cancelled || base.signal.aborted) return Promise.resolve();
      if (call.write(message)) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = (): void => {
          call.off('drain', done);
          base.signal.removeEventListener('abort', done);
          resolve();
        };
        call.once('drain', done);
        base.signal.addEventListener('abort', done, { once: true });
      });
    };
    const ctx: StreamContext<TResponse> = { ...base, send };
    ctx.log.debug({}, 'call');
    new Promise<void>((resolve) => resolve(handle(call.request, ctx))).then(
      () => {
        logOutcome(ctx, started);
        if (!call.cancelled) call.end();
      },
      (err: unknown) => {
        const s = logOutcome(ctx, started, err);
        if (!call.cancelled && s !== undefined) call.emit('error', s);
      },
    );
  };
}

/** Metadata carrying a correlation id, for a call made on behalf of another (so their log lines join). */
export function correlationMetadata(correlationId: string): Metadata {
  const metadata = new Metadata();
  metadata.set(CORRELATION_ID_KEY, correlationId);
  return metadata;
}

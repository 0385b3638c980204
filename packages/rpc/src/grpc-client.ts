import {
  InterceptingCall,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type Client,
  type ClientOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type Interceptor,
  type ServiceError,
} from '@grpc/grpc-js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './grpc-server.js';
import { grpcClientSecurity } from './grpc-tls.js';

/** Default deadline of a call that sets none, ms. Long enough for a sampling or rollout stream on CPU. */
export const DEFAULT_DEADLINE_MS = 10 * 60 * 1000;

/** A generated client constructor, e.g. `ForecastServiceClient`. */
export type ClientConstructor<TClient extends Client> = new (
  address: string,
  credentials: ChannelCredentials,
  options?: Partial<ClientOptions>,
) => TClient;

/** Options of {@link createGrpcClient}. */
export interface CreateGrpcClientOptions {
  /**
   * Transport security.
   * @defaultValue the environment's (`grpcClientSecurity()`, grpc-tls.ts): plaintext unless ALIGNDA_GRPC_TLS_* is set
   */
  readonly credentials?: ChannelCredentials;
  /**
   * Deadline applied to every call that does not set its own (`{ deadline }` in the call options), ms.
   * `Infinity` = no default deadline.
   * @defaultValue {@link DEFAULT_DEADLINE_MS}
   */
  readonly defaultDeadlineMs?: number;
  /** Largest message sent or received, bytes. @defaultValue {@link DEFAULT_MAX_MESSAGE_BYTES} */
  readonly maxMessageBytes?: number;
  /** Further client options (`grpc.*` keys, interceptors); they win over the ones above. @defaultValue {} */
  readonly clientOptions?: Partial<ClientOptions>;
}

/** A Date `ms` milliseconds from now, for a call's `deadline` option. */
export function deadlineAfter(ms: number): Date {
  return new Date(Date.now() + ms);
}

/** An interceptor that gives calls without a deadline one `ms` from the moment they start. */
export function defaultDeadlineInterceptor(ms: number): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(
      nextCall(options.deadline === undefined ? { ...options, deadline: deadlineAfter(ms) } : options),
    );
}

/**
 * Creates a client of a generated service for `address` (`host:port`) with a default deadline on
 * every call. Close it with `client.close()`.
 * @example const forecast = createGrpcClient(ForecastServiceClient, '127.0.0.1:50051', { defaultDeadlineMs: 60_000 })
 */
export function createGrpcClient<TClient extends Client>(
  Ctor: ClientConstructor<TClient>,
  address: string,
  options: CreateGrpcClientOptions = {},
): TClient {
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const deadlineMs = options.defaultDeadlineMs ?? DEFAULT_DEADLINE_MS;
  const extra = options.clientOptions ?? {};
  const interceptors = [
    ...(Number.isFinite(deadlineMs) ? [defaultDeadlineInterceptor(deadlineMs)] : []),
    ...(extra.interceptors ?? []),
  ];
  // The environment's TLS only when the caller brings no credentials of its own (its server name goes with it).
  const security =
    options.credentials === undefined
      ? grpcClientSecurity()
      : { credentials: options.credentials, channelOptions: {} };
  return new Ctor(address, security.credentials, {
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
    ...security.channelOptions,
    ...extra,
    interceptors,
  });
}

/** A generated client's unary method in its full (request, metadata, options, callback) form. */
export type UnaryMethod<TRequest, TResponse> = (
  request: TRequest,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: TResponse) => void,
) => ClientUnaryCall;

/**
 * Calls a unary method and resolves with its response.
 * @example const res = await unaryCall(encoder.encode.bind(encoder), request, { deadline: deadlineAfter(5000) })
 * @throws the ServiceError the call ends with (its `code` is the gRPC status)
 */
export function unaryCall<TRequest, TResponse>(
  method: UnaryMethod<TRequest, TResponse>,
  request: TRequest,
  options: Partial<CallOptions> = {},
  metadata: Metadata = new Metadata(),
): Promise<TResponse> {
  return new Promise((resolve, reject) => {
    method(request, metadata, options, (error, response) =>
      error === null ? resolve(response) : reject(error),
    );
  });
}

/**
 * The messages of a server-streaming call as an async iterable. Iteration throws the ServiceError the
 * call ends with; leaving the loop early cancels the call.
 */
export async function* streamMessages<T>(call: ClientReadableStream<T>): AsyncGenerator<T, void, undefined> {
  try {
    for await (const message of call) yield message as T;
  } finally {
    // grpc-js does not cancel on stream destruction; cancelling after the status arrived is a no-op.
    call.cancel();
  }
}

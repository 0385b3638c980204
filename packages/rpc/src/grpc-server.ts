import {
  Server,
  type ServerCredentials,
  type ChannelOptions,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { HealthImplementation } from 'grpc-health-check';
import { grpcServerCredentials } from './grpc-tls.js';
import { tolerateUndecodableRequests } from './undecodable-request.js';

/** Default largest message, in bytes, a server or client sends or accepts (grpc-js's own is 4 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** A service definition (generated `XServiceService`) with the handlers that implement it. */
export interface ServiceBinding {
  /** The generated service definition, e.g. `ForecastServiceService`. */
  readonly definition: ServiceDefinition;
  /** The handlers, e.g. an object typed `ForecastServiceServer`. */
  readonly implementation: UntypedServiceImplementation;
}

/**
 * Pairs a generated service definition with its handlers, type-checking that every rpc has one. A request that does
 * not decode as its rpc's message is answered INVALID_ARGUMENT before a handler sees it (undecodable-request.ts).
 * @example bindService(ForecastServiceService, { rollout: (call) => { ... } } satisfies ForecastServiceServer)
 */
export function bindService<TImpl extends UntypedServiceImplementation>(
  definition: ServiceDefinition<TImpl>,
  implementation: TImpl,
): ServiceBinding {
  return tolerateUndecodableRequests(definition, implementation);
}

/** Options of {@link startGrpcServer}. */
export interface StartGrpcServerOptions {
  /** Interface to listen on. @defaultValue '127.0.0.1' (loopback only; use '0.0.0.0' in a container) */
  readonly host?: string;
  /** Port; 0 picks a free one, reported in {@link RunningGrpcServer.port}. @defaultValue 0 */
  readonly port?: number;
  /**
   * Transport security.
   * @defaultValue the environment's (`grpcServerCredentials()`, grpc-tls.ts): plaintext unless ALIGNDA_GRPC_TLS_* is set
   */
  readonly credentials?: ServerCredentials;
  /** Largest message sent or received, bytes. @defaultValue {@link DEFAULT_MAX_MESSAGE_BYTES} */
  readonly maxMessageBytes?: number;
  /** Further grpc-js channel options (`grpc.*` keys); they win over the ones above. @defaultValue {} */
  readonly channelOptions?: ChannelOptions;
  /**
   * The `grpc.health.v1.Health` service to register beside `services` (see `startGrpcService`, which sets one up).
   * @defaultValue none
   */
  readonly health?: Pick<HealthImplementation, 'addToServer'>;
}

/** A listening server. */
export interface RunningGrpcServer {
  /** The grpc-js server. */
  readonly server: Server;
  /** The port actually bound. */
  readonly port: number;
  /** `host:port` to give to clients. */
  readonly address: string;
  /**
   * Stops accepting calls and waits for running ones to end; after `graceMs` cancels those still
   * running.
   * @param graceMs - how long running calls may take to finish. @defaultValue 5000
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Creates a grpc-js server with the given services and binds it (grpc-js >= 1.10 serves once bound).
 * @throws the bind error, e.g. EADDRINUSE
 */
export async function startGrpcServer(
  services: readonly ServiceBinding[],
  options: StartGrpcServerOptions = {},
): Promise<RunningGrpcServer> {
  const host = options.host ?? '127.0.0.1';
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const server = new Server({
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
    ...options.channelOptions,
  });
  for (const { definition, implementation } of services) server.addService(definition, implementation);
  options.health?.addToServer(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${host}:${options.port ?? 0}`,
      options.credentials ?? grpcServerCredentials(),
      (error, boundPort) => (error === null ? resolve(boundPort) : reject(error)),
    );
  });
  return {
    server,
    port,
    address: `${host}:${port}`,
    close: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

import { HealthImplementation } from 'grpc-health-check';
import type { ServiceDefinition } from '@grpc/grpc-js';
import type { CallLogger } from './call-handlers.js';
import { startGrpcServer, type RunningGrpcServer, type ServiceBinding } from './grpc-server.js';
import type { StartGrpcServerOptions } from './grpc-server.js';

/** How long a drain waits for running calls before it cancels them, ms. */
export const DEFAULT_DRAIN_GRACE_MS = 10_000;

/** Options of {@link startGrpcService}: those of `startGrpcServer` less the health service it adds itself. */
export type StartGrpcServiceOptions = Omit<StartGrpcServerOptions, 'health'>;

/** Options of {@link GrpcService.drain}. */
export interface DrainOptions {
  /**
   * How long running calls may take to finish before they are cancelled (forceShutdown), ms.
   * @defaultValue {@link DEFAULT_DRAIN_GRACE_MS}
   */
  readonly graceMs?: number;
  /**
   * How long to keep answering health checks with NOT_SERVING (and accepting calls) before the server stops
   * accepting new ones, ms: time for a load balancer to take the instance out of rotation.
   * @defaultValue 0
   */
  readonly notServingMs?: number;
}

/** How a drain ended: every running call finished in time, or the rest were cancelled at the deadline. */
export type DrainOutcome = 'graceful' | 'forced';

/** A listening gRPC server with `grpc.health.v1.Health` and a graceful drain. */
export interface GrpcService {
  /** The listening server. */
  readonly running: RunningGrpcServer;
  /** `host:port` to give to clients. */
  readonly address: string;
  /** Fully qualified names of the served services (`alignda.v1.EncoderService`), as health checks name them. */
  readonly serviceNames: readonly string[];
  /** Health checks answer SERVING for the server ('') and every served service. */
  setServing(): void;
  /** Health checks answer NOT_SERVING for the server ('') and every served service. */
  setNotServing(): void;
  /**
   * Sets NOT_SERVING, waits `notServingMs`, stops accepting calls and waits up to `graceMs` for the running ones
   * (tryShutdown), then cancels those left (forceShutdown): their handlers see their abort signal. Idempotent: a
   * second call returns the first one's promise.
   */
  drain(options?: DrainOptions): Promise<DrainOutcome>;
}

/**
 * The fully qualified service name of a generated definition, from its methods' paths
 * (`/alignda.v1.EncoderService/Encode` -> `alignda.v1.EncoderService`).
 */
export function serviceNameOf(definition: ServiceDefinition): string {
  const first = Object.values(definition)[0];
  const match = first === undefined ? null : /^\/([^/]+)\//.exec(first.path);
  return match?.[1] ?? '';
}

/**
 * Starts a gRPC server with `services` and the standard health service (grpc-health-check). Health starts as
 * NOT_SERVING; call {@link GrpcService.setServing} when the service can answer (models loaded).
 * @throws the bind error, e.g. EADDRINUSE
 */
export async function startGrpcService(
  services: readonly ServiceBinding[],
  options: StartGrpcServiceOptions = {},
): Promise<GrpcService> {
  const serviceNames = services.map((s) => serviceNameOf(s.definition));
  const names = ['', ...serviceNames];
  const health = new HealthImplementation(Object.fromEntries(names.map((n) => [n, 'NOT_SERVING'])));
  const running = await startGrpcServer(services, { ...options, health });
  const setAll = (value: 'SERVING' | 'NOT_SERVING'): void => {
    for (const n of names) health.setStatus(n, value);
  };
  let draining: Promise<DrainOutcome> | undefined;
  const drain = async (o: DrainOptions): Promise<DrainOutcome> => {
    setAll('NOT_SERVING');
    if ((o.notServingMs ?? 0) > 0) await new Promise((r) => setTimeout(r, o.notServingMs));
    return new Promise<DrainOutcome>((resolve) => {
      const force = setTimeout(() => {
        running.server.forceShutdown();
        resolve('forced');
      }, o.graceMs ?? DEFAULT_DRAIN_GRACE_MS);
      running.server.tryShutdown(() => {
        clearTimeout(force);
        resolve('graceful');
      });
    });
  };
  return {
    running,
    address: running.address,
    serviceNames,
    setServing: () => {
      if (draining === undefined) setAll('SERVING');
    },
    setNotServing: () => setAll('NOT_SERVING'),
    drain: (o = {}) => (draining ??= drain(o)),
  };
}

/** Options of {@link drainOnSignals}. */
export interface DrainOnSignalsOptions extends DrainOptions {
  /** Where the drain is reported. */
  readonly log: Pick<CallLogger, 'info' | 'warn'>;
  /** Signals that start the drain. @defaultValue ['SIGTERM', 'SIGINT'] */
  readonly signals?: readonly NodeJS.Signals[];
  /**
   * Called with the exit status once drained, when something still holds the event loop a second later (a process
   * with nothing left exits by itself). @defaultValue process.exit
   */
  readonly exit?: (code: number) => void;
}

/**
 * Process wiring for a service's `main.ts`: on SIGTERM (or SIGINT) drain `service` (NOT_SERVING, tryShutdown with a
 * deadline, then forceShutdown) and let the process end with status 0.
 * @returns a function that removes the signal handlers
 */
export function drainOnSignals(service: GrpcService, options: DrainOnSignalsOptions): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const onSignal = (signal: NodeJS.Signals): void => {
    options.log.info({ signal }, 'draining');
    void service.drain(options).then((outcome) => {
      if (outcome === 'forced') options.log.warn({ outcome }, 'stopped: running calls were cancelled');
      else options.log.info({ outcome }, 'stopped');
      process.exitCode = 0;
      setTimeout(() => exit(0), 1000).unref();
    });
  };
  for (const s of signals) process.once(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}

/**
 * Process wiring for a worker service's `main.ts` (the orchestrator, the cycle service, the trainer): on the first
 * SIGINT or SIGTERM run `stop` once, then exit 0, or 1 with the error logged when it failed.
 */
export function stopOnSignals(
  stop: (signal: NodeJS.Signals) => Promise<void>,
  log: { error(obj: object, msg: string): void },
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      stop(signal).then(
        () => exit(0),
        (err: unknown) => {
          log.error({ err }, 'unclean shutdown');
          exit(1);
        },
      );
    });
}

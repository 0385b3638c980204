/**
 * The orchestrator's own environment: where the five services listen and how its worker runs. Parsed once at boot;
 * every bad variable is named in one CONFIG_INVALID line. (The flags it shares with the services — model folder,
 * source, health port — are packages/rpc's `parseServiceArgs`.)
 */
import { AppError } from '@alignda/errors';

import type { ServiceAddresses } from './adapters/grpc-services.js';
import type { OrchestratorSettings } from './app.js';

/** The orchestrator's health port (grpc.health.v1 only) when GRPC_PORT is not set: after the services' 50051-50055. */
export const ORCHESTRATOR_PORT = 50056;

/** Each service's address variable and its default: the service's own default port on this host. */
export const ADDRESS_VARIABLES: Readonly<Record<keyof ServiceAddresses, readonly [string, string]>> = {
  encoder: ['ALIGNDA_ENCODER_ADDRESS', '127.0.0.1:50051'],
  sampler: ['ALIGNDA_SAMPLER_ADDRESS', '127.0.0.1:50052'],
  forecast: ['ALIGNDA_FORECAST_ADDRESS', '127.0.0.1:50053'],
  reward: ['ALIGNDA_REWARD_ADDRESS', '127.0.0.1:50054'],
  ingest: ['ALIGNDA_INGEST_ADDRESS', '127.0.0.1:50055'],
};

/** The worker's variables: name, setting, least and most value. */
const WORKER_VARIABLES = [
  ['ALIGNDA_ORCHESTRATOR_CONCURRENCY', 'concurrency', 1, 64],
  ['ALIGNDA_ORCHESTRATOR_ATTEMPTS', 'attempts', 1, 100],
  ['ALIGNDA_ORCHESTRATOR_RETRY_DELAY_MS', 'retryDelayMs', 0, 3_600_000],
  ['ALIGNDA_ORCHESTRATOR_LOCK_MS', 'lockDurationMs', 5_000, 3_600_000],
] as const;

/**
 * How the sampling step reaches a sampler (ALIGNDA_SAMPLER_TRANSPORT): `queue` (the default) adds a job to the
 * `sample` queue that any sampler replica takes; `grpc` calls the one sampler at ALIGNDA_SAMPLER_ADDRESS directly.
 */
export type SamplerTransport = 'queue' | 'grpc';

/** What {@link loadOrchestratorEnv} reads. */
export interface OrchestratorEnv {
  readonly addresses: ServiceAddresses;
  readonly worker: OrchestratorSettings;
  readonly samplerTransport: SamplerTransport;
}

/**
 * Reads the services' addresses (`host:port`) and the worker's settings from `env`; unset or empty = the default.
 * @throws AppError CONFIG_INVALID naming every bad variable
 */
export function loadOrchestratorEnv(env: NodeJS.ProcessEnv): OrchestratorEnv {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const addresses = Object.fromEntries(
    Object.entries(ADDRESS_VARIABLES).map(([service, [name, fallback]]) => {
      const v = read(name) ?? fallback;
      if (!/^[^\s:]+:\d{1,5}$/.test(v) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(v))
        problems.push(`${name}=${JSON.stringify(v)}: expected host:port`);
      return [service, v];
    }),
  ) as unknown as ServiceAddresses;
  const worker: { -readonly [K in keyof OrchestratorSettings]: number } = {};
  for (const [name, key, min, max] of WORKER_VARIABLES) {
    const raw = read(name);
    if (raw === undefined) continue;
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (n >= min && n <= max) worker[key] = n;
    else problems.push(`${name}=${JSON.stringify(raw)}: expected an integer in [${min}, ${max}]`);
  }
  const transport = read('ALIGNDA_SAMPLER_TRANSPORT') ?? 'queue';
  if (transport !== 'queue' && transport !== 'grpc')
    problems.push(`ALIGNDA_SAMPLER_TRANSPORT=${JSON.stringify(transport)}: expected queue or grpc`);
  if (problems.length > 0)
    throw new AppError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`);
  return Object.freeze({ addresses, worker, samplerTransport: transport === 'grpc' ? 'grpc' : 'queue' });
}

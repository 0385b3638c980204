/**
 * The sampler's own environment: whether the replica consumes the `sample` queue and how its worker holds jobs.
 * Parsed once at boot; every bad variable is named in one CONFIG_INVALID line.
 */
import { AppError } from '@alignda/errors';

import type { SampleWorkerSettings } from './sample-worker.js';

/** What {@link loadSamplerEnv} reads. */
export interface SamplerEnv {
  /** ALIGNDA_SAMPLER_QUEUE: `on` (default) consumes the `sample` queue beside the gRPC Sample rpc; `off`, gRPC only. */
  readonly queue: boolean;
  readonly worker: SampleWorkerSettings;
}

/** The worker's variables: name, setting, least and most value. */
const WORKER_VARIABLES = [
  ['ALIGNDA_SAMPLE_LOCK_MS', 'lockDurationMs', 1_000, 3_600_000],
  ['ALIGNDA_SAMPLE_STALLED_INTERVAL_MS', 'stalledIntervalMs', 500, 3_600_000],
  ['ALIGNDA_SAMPLE_MAX_STALLS', 'maxStalledCount', 0, 100],
] as const;

/**
 * Reads the sampler's variables from `env`; unset or empty = the default.
 * @throws AppError CONFIG_INVALID naming every bad variable
 */
export function loadSamplerEnv(env: NodeJS.ProcessEnv): SamplerEnv {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const queueRaw = read('ALIGNDA_SAMPLER_QUEUE') ?? 'on';
  if (queueRaw !== 'on' && queueRaw !== 'off')
    problems.push(`ALIGNDA_SAMPLER_QUEUE=${JSON.stringify(queueRaw)}: expected on or off`);
  const worker: { -readonly [K in keyof SampleWorkerSettings]: number } = {};
  for (const [name, key, min, max] of WORKER_VARIABLES) {
    const raw = read(name);
    if (raw === undefined) continue;
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (n >= min && n <= max) worker[key] = n;
    else problems.push(`${name}=${JSON.stringify(raw)}: expected an integer in [${min}, ${max}]`);
  }
  if (problems.length > 0)
    throw new AppError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`);
  return Object.freeze({ queue: queueRaw === 'on', worker });
}

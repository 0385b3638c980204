/**
 * The trainer's own environment: how its workers run. Parsed once at boot; every bad variable is named in one
 * CONFIG_INVALID line. (The flags it shares with the other services — health port, drain grace — are packages/rpc's
 * `parseServiceArgs`.)
 */
import { AppError } from '@alignda/errors';

import type { TrainerSettings } from './app.js';

/** The trainer's health port (grpc.health.v1 only) when GRPC_PORT is not set: after the cycle service's. */
export const TRAINER_PORT = 50058;

/** The workers' variables: name, setting, least and most value. */
const WORKER_VARIABLES = [
  ['ALIGNDA_TRAINER_CONCURRENCY', 'concurrency', 1, 64],
  ['ALIGNDA_TRAINER_ATTEMPTS', 'attempts', 1, 100],
  ['ALIGNDA_TRAINER_LOCK_MS', 'lockDurationMs', 5_000, 3_600_000],
] as const;

/**
 * Reads the workers' settings from `env`; unset or empty = the default.
 * @throws AppError CONFIG_INVALID naming every bad variable
 */
export function loadTrainerEnv(env: NodeJS.ProcessEnv): { readonly worker: TrainerSettings } {
  const problems: string[] = [];
  const worker: { -readonly [K in keyof TrainerSettings]: number } = {};
  for (const [name, key, min, max] of WORKER_VARIABLES) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (n >= min && n <= max) worker[key] = n;
    else problems.push(`${name}=${JSON.stringify(raw)}: expected an integer in [${min}, ${max}]`);
  }
  if (problems.length > 0)
    throw new AppError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`);
  return Object.freeze({ worker });
}

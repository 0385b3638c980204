/**
 * The trainer's own environment: how its workers run. Parsed once at boot; every bad variable is named in one
 * CONFIG_INVALID line. (The flags it shares with the other services — health port, drain grace — are packages/rpc's
 * `parseServiceArgs`.)
 */
import { readWorkerEnv } from '@alignda/queue';

import type { TrainerSettings } from './app.js';

/** The trainer's health port (grpc.health.v1 only) when GRPC_PORT is not set: after the cycle service's. */
export const TRAINER_PORT = 50058;

/**
 * Reads the worker's settings from `env` (ALIGNDA_TRAINER_CONCURRENCY, _ATTEMPTS, _LOCK_MS); unset or empty = the
 * default.
 * @throws AppError CONFIG_INVALID naming every bad variable
 */
export function loadTrainerEnv(env: NodeJS.ProcessEnv): { readonly worker: TrainerSettings } {
  return Object.freeze({ worker: readWorkerEnv(env, 'TRAINER') });
}

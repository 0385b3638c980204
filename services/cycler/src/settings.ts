/**
 * The cycle service's own environment: how its worker runs. Parsed once at boot; every bad variable is named in one
 * CONFIG_INVALID line. (The flags it shares with the other services — health port, drain grace — are packages/rpc's
 * `parseServiceArgs`.)
 */
import { readWorkerEnv } from '@alignda/queue';

import type { CyclerSettings } from './app.js';

/** The cycle service's health port (grpc.health.v1 only) when GRPC_PORT is not set: after the orchestrator's. */
export const CYCLER_PORT = 50057;

/**
 * Reads the worker's settings from `env` (ALIGNDA_CYCLER_CONCURRENCY, _ATTEMPTS, _LOCK_MS); unset or empty = the
 * default.
 * @throws AppError CONFIG_INVALID naming every bad variable
 */
export function loadCyclerEnv(env: NodeJS.ProcessEnv): { readonly worker: CyclerSettings } {
  return Object.freeze({ worker: readWorkerEnv(env, 'CYCLER') });
}

/**
 * The settings every BullMQ worker service reads from its environment, `ALIGNDA_<SERVICE>_CONCURRENCY`, `_ATTEMPTS`
 * and `_LOCK_MS`, parsed once at boot; every bad variable is named in one CONFIG_INVALID line.
 */
import { AppError } from '@alignda/errors';

/** A worker's settings; absent = the service's default. */
export interface WorkerEnvSettings {
  /** Jobs one process runs at once. */
  readonly concurrency?: number;
  /** Runs of a job before a failure is final. */
  readonly attempts?: number;
  /** How long a job's lock lasts without renewal, ms. */
  readonly lockDurationMs?: number;
}

/**
 * Reads `ALIGNDA_<prefix>_CONCURRENCY` (1..64), `_ATTEMPTS` (1..100) and `_LOCK_MS` (5,000..3,600,000) from `env`;
 * unset or empty = absent.
 * @throws AppError CONFIG_INVALID naming every bad variable
 */
export function readWorkerEnv(env: NodeJS.ProcessEnv, prefix: string): WorkerEnvSettings {
  const variables = [
    [`ALIGNDA_${prefix}_CONCURRENCY`, 'concurrency', 1, 64],
    [`ALIGNDA_${prefix}_ATTEMPTS`, 'attempts', 1, 100],
    [`ALIGNDA_${prefix}_LOCK_MS`, 'lockDurationMs', 5_000, 3_600_000],
  ] as const;
  const problems: string[] = [];
  const worker: { -readonly [K in keyof WorkerEnvSettings]: number } = {};
  for (const [name, key, min, max] of variables) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (n >= min && n <= max) worker[key] = n;
    else problems.push(`${name}=${JSON.stringify(raw)}: expected an integer in [${min}, ${max}]`);
  }
  if (problems.length > 0)
    throw new AppError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`);
  return Object.freeze(worker);
}

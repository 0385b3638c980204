import { z } from 'zod';
import { AppError } from '@alignda/errors';

/** The gateway's limits. {@link DEFAULT_LIMITS} gives each one a working default. */
export interface GatewayLimits {
  /**
   * Largest request body, in bytes; a larger one is 413. GATEWAY_BODY_LIMIT_BYTES.
   * @defaultValue 8 MiB: the largest job (100 000 point observations, about 80 bytes of JSON each) fits.
   */
  readonly bodyLimitBytes: number;
  /**
   * Waiting jobs on the assimilate queue at which a new submission is refused with 429 and Retry-After
   * (the backlog never grows past it through this gateway). GATEWAY_MAX_WAITING_JOBS.
   * @defaultValue 1000: hours of work for a few sampler replicas; a client should back off well before.
   */
  readonly maxWaitingJobs: number;
  /** Retry-After sent with a 429 for a full queue, in seconds. GATEWAY_RETRY_AFTER_S. @defaultValue 30 */
  readonly queueFullRetryAfterS: number;
  /**
   * Requests one API key may make per {@link rateLimitWindowMs} (keys marked exempt are not counted).
   * GATEWAY_RATE_LIMIT_MAX. @defaultValue 120: two a second, far above a person and enough for a script.
   */
  readonly rateLimitMax: number;
  /** The rate limit's window, in milliseconds. GATEWAY_RATE_LIMIT_WINDOW_MS. @defaultValue 60 000 */
  readonly rateLimitWindowMs: number;
  /**
   * How long a request waits for Redis or the database before it is answered 503 (and /readyz reports
   * the dependency down), in milliseconds. GATEWAY_BACKEND_TIMEOUT_MS.
   * @defaultValue 2000: a healthy local server answers in milliseconds; a client should not hang on a dead one.
   */
  readonly backendTimeoutMs: number;
  /**
   * How often the result sweeper removes results past ALIGNDA_RESULT_TTL_HOURS, in milliseconds.
   * GATEWAY_RESULT_SWEEP_INTERVAL_MS. @defaultValue 600 000 (ten minutes): an expired result is gone soon after
   * its time, and a sweep (one query, a few folder removals) costs next to nothing.
   */
  readonly resultSweepIntervalMs: number;
}

/** The defaults of {@link GatewayLimits} (each documented there). */
export const DEFAULT_LIMITS: GatewayLimits = Object.freeze({
  bodyLimitBytes: 8 * 1024 * 1024,
  maxWaitingJobs: 1000,
  queueFullRetryAfterS: 30,
  rateLimitMax: 120,
  rateLimitWindowMs: 60_000,
  backendTimeoutMs: 2000,
  resultSweepIntervalMs: 600_000,
});

/** The environment variable of each limit. */
export const LIMIT_VARIABLES: Readonly<Record<keyof GatewayLimits, string>> = Object.freeze({
  bodyLimitBytes: 'GATEWAY_BODY_LIMIT_BYTES',
  maxWaitingJobs: 'GATEWAY_MAX_WAITING_JOBS',
  queueFullRetryAfterS: 'GATEWAY_RETRY_AFTER_S',
  rateLimitMax: 'GATEWAY_RATE_LIMIT_MAX',
  rateLimitWindowMs: 'GATEWAY_RATE_LIMIT_WINDOW_MS',
  backendTimeoutMs: 'GATEWAY_BACKEND_TIMEOUT_MS',
  resultSweepIntervalMs: 'GATEWAY_RESULT_SWEEP_INTERVAL_MS',
});

const positiveInt = z
  .string()
  .regex(/^\d+$/)
  .transform(Number)
  .pipe(z.number().int().min(1).max(Number.MAX_SAFE_INTEGER));

/**
 * Reads the limits from `env` (unset or empty: the default). Every bad value is reported in one
 * single-line `AppError('CONFIG_INVALID')` at boot, e.g. `GATEWAY_MAX_WAITING_JOBS="-1": expected a
 * positive integer`.
 */
export function loadGatewayLimits(env: NodeJS.ProcessEnv = process.env): GatewayLimits {
  const out: Record<string, number> = {};
  const problems: string[] = [];
  for (const [key, name] of Object.entries(LIMIT_VARIABLES) as [keyof GatewayLimits, string][]) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') {
      out[key] = DEFAULT_LIMITS[key];
      continue;
    }
    const parsed = positiveInt.safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else problems.push(`${name}=${JSON.stringify(raw)}: expected a positive integer`);
  }
  if (problems.length > 0)
    throw new AppError('CONFIG_INVALID', `invalid gateway configuration: ${problems.join('; ')}`);
  return Object.freeze(out as unknown as GatewayLimits);
}

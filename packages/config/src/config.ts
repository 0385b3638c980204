import path from 'node:path';
import { z } from 'zod';
import { AppError } from '@alignda/errors';
import { LOG_LEVELS, redactUrl } from '@alignda/log';
import type { LogLevel } from '@alignda/log';

/** Where inference runs. `auto` means CUDA when the runtime reports it, else CPU (resolved by packages/graph). */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'auto'] as const;
/** One of {@link EXECUTION_PROVIDERS}. */
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** The database engine selected by the DATABASE_URL scheme. */
export type DatabaseProvider = 'sqlite' | 'postgresql';

/** The validated, frozen configuration of an alignda process. Built once by {@link loadConfig}. */
export interface Config {
  /** LOG_LEVEL. @defaultValue `'info'`: lifecycle and job events without per-step noise. */
  readonly logLevel: LogLevel;
  /**
   * ALIGNDA_HOME, absolute: the SQLite file, artifacts and caches live here.
   * @defaultValue `<cwd>/.alignda`: a fresh clone works without set-up and `.alignda/` is git-ignored.
   */
  readonly homeDir: string;
  /**
   * DATABASE_URL (`file:` paths made absolute).
   * @defaultValue `file:<homeDir>/alignda.db`: embedded SQLite needs no server.
   */
  readonly databaseUrl: string;
  /** Derived from the DATABASE_URL scheme: `file:` -> sqlite, `postgres:`/`postgresql:` -> postgresql. */
  readonly databaseProvider: DatabaseProvider;
  /** REDIS_URL. @defaultValue `'redis://127.0.0.1:6379'`: the port a local `redis-server` listens on. */
  readonly redisUrl: string;
  /**
   * ALIGNDA_DATA_DIR, absolute: where real datasets are read (never written).
   * @defaultValue `<cwd>/../shared/data`: the read-only data checkout beside the repository.
   */
  readonly dataDir: string;
  /** ALIGNDA_EXECUTION_PROVIDER. @defaultValue `'auto'`: use a GPU when one is present, no set-up otherwise. */
  readonly executionProvider: ExecutionProvider;
  /**
   * ALIGNDA_INTRA_OP_THREADS: threads per inference session.
   * @defaultValue `1`: fastest per process on small CPUs, where several services share the cores.
   */
  readonly intraOpThreads: number;
  /** HTTP_PORT of the gateway; `0` picks a free port. @defaultValue `8080`: the usual unprivileged HTTP port. */
  readonly httpPort: number;
  /**
   * ALIGNDA_STARTUP_PROBE_TIMEOUT_MS: how long start-up waits for Redis / PostgreSQL to answer.
   * @defaultValue `5000`: a local server answers in milliseconds; a wrong host fails well before a user gives up.
   */
  readonly startupProbeTimeoutMs: number;
  /**
   * ALIGNDA_RESULT_TTL_HOURS: how long a finished job's result files (`<homeDir>/results/<jobId>/`) are kept, in
   * hours; then they are removed and the analysis answers 410 Gone (its rows, provenance included, stay).
   * @defaultValue `168`: a week, time to fetch a result without the disk filling with them.
   */
  readonly resultTtlHours: number;
}

/** Documentation of one environment variable, for README tables and `alignda config`. */
export interface ConfigVariable {
  readonly name: string;
  readonly key: keyof Config;
  readonly expected: string;
  readonly defaultValue: string;
}

const DEC_INT = /^\d+$/;

/** A positive decimal number up to `max`, e.g. "0.5" or "168"; "1e3", "-1", "0" and ".5" are rejected. */
function positiveDecimalUpTo(max: number) {
  return z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .transform(Number)
    .pipe(z.number().positive().max(max));
}

/** A decimal integer in [min, max]; "8o80", "1e3", "8080.5" and "-1" are rejected. */
function intIn(min: number, max: number) {
  return z.string().regex(DEC_INT).transform(Number).pipe(z.number().int().min(min).max(max));
}

/** One knob: the variable, the schema over its trimmed string value, what it expects, and its default. */
interface Knob<TKey extends keyof Config> {
  name: string;
  key: TKey;
  expected: string;
  defaultValue: string;
  schema: z.ZodType<Config[TKey], string>;
}

function knob<TKey extends keyof Config>(k: Knob<TKey>): Knob<TKey> {
  return k;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Directory that relative paths and path defaults are resolved from. @defaultValue `process.cwd()` */
  cwd?: string;
}

/**
 * Parses `env` once into a frozen {@link Config}. Empty values count as unset (so `HTTP_PORT=` in a
 * compose file means the default). Every invalid variable is reported in one single-line
 * `AppError('CONFIG_INVALID')`, e.g. `HTTP_PORT="8o80": expected an integer port from 0 to 65535`.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const problems: { variable: string; value: string; expected: string }[] = [];

  function read<TKey extends keyof Config>(k: Knob<TKey>): Config[TKey] {
    const raw = env[k.name]?.trim();
    const value = raw === undefined || raw === '' ? k.defaultValue : raw;
    const parsed = k.schema.safeParse(value);
    if (parsed.success) return parsed.data;
    problems.push({ variable: k.name, value: raw ?? '', expected: k.expected });
    return undefined as never; // only read when problems is empty
  }

  const homeDir = read(knob({ ...HOME, defaultValue: path.join(cwd, '.alignda') }));
  const dataDir = read(knob({ ...DATA_DIR, defaultValue: path.resolve(cwd, '../shared/data') }));
  const databaseUrl = read(
    knob({ ...DATABASE_URL, defaultValue: `file:${path.join(homeDir ?? cwd, 'alignda.db')}` }),
  );
  const config: Config = {
    logLevel: read(LOG_LEVEL),
    homeDir: homeDir && path.resolve(cwd, homeDir),
    databaseUrl: databaseUrl && absoluteFileUrl(databaseUrl, cwd),
    databaseProvider: databaseUrl?.startsWith('file:') ? 'sqlite' : 'postgresql',
    redisUrl: read(REDIS_URL),
    dataDir: dataDir && path.resolve(cwd, dataDir),
    executionProvider: read(EXECUTION_PROVIDER),
    intraOpThreads: read(INTRA_OP_THREADS),
    httpPort: read(HTTP_PORT),
    startupProbeTimeoutMs: read(STARTUP_PROBE_TIMEOUT_MS),
    resultTtlHours: read(RESULT_TTL_HOURS),
  };
  if (problems.length > 0) {
    const message = problems
      .map((p) => `${p.variable}=${JSON.stringify(redactUrl(p.value))}: expected ${p.expected}`)
      .join('; ');
    throw new AppError('CONFIG_INVALID', `invalid configuration: ${message}`, {
      details: { problems: problems.map((p) => ({ ...p, value: redactUrl(p.value) })) },
    });
  }
  return Object.freeze(config);
}

/**
 * One line for a CLI or `main.ts` to print when start-up fails: `error CODE: message`, never a stack
 * trace. Anything that is not an AppError is reported as INTERNAL with its message; secrets in URLs
 * are redacted and line breaks folded.
 */
export function formatStartupError(err: unknown): string {
  const { code, message } = describeError(err);
  return `error ${code}: ${redactUrl(message).replace(/\s*[\r\n]+\s*/g, ' ')}`;
}

function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: 'INTERNAL', message: err.message || err.name };
  return { code: 'INTERNAL', message: String(err) };
}

/** `file:rel/x.db` -> `file:/abs/rel/x.db`; other URLs unchanged. */
function absoluteFileUrl(url: string, cwd: string): string {
  if (!url.startsWith('file:')) return url;
  const rest = url.slice('file:'.length).replace(/^\/\/(?=\/)/, ''); // file:///a -> /a
  if (rest === ':memory:') return url;
  return `file:${path.resolve(cwd, rest)}`;
}

const nonEmptyPath = z.string().min(1);

const LOG_LEVEL = knob({
  name: 'LOG_LEVEL',
  key: 'logLevel',
  expected: `one of ${LOG_LEVELS.join(', ')}`,
  defaultValue: 'info',
  schema: z.enum(LOG_LEVELS),
});
const HOME = {
  name: 'ALIGNDA_HOME',
  key: 'homeDir',
  expected: 'a directory path',
  schema: nonEmptyPath,
} as const;
const DATA_DIR = {
  name: 'ALIGNDA_DATA_DIR',
  key: 'dataDir',
  expected: 'a directory path',
  schema: nonEmptyPath,
} as const;
const DATABASE_URL = {
  name: 'DATABASE_URL',
  key: 'databaseUrl',
  expected: 'a URL with scheme file: (SQLite), postgres: or postgresql: (PostgreSQL)',
  schema: z.string().refine(isDatabaseUrl),
} as const;
const REDIS_URL = knob({
  name: 'REDIS_URL',
  key: 'redisUrl',
  expected: 'a URL with scheme redis: or rediss: and a host',
  defaultValue: 'redis://127.0.0.1:6379',
  schema: z.string().refine((u) => hasHost(u, ['redis:', 'rediss:'])),
});
const EXECUTION_PROVIDER = knob({
  name: 'ALIGNDA_EXECUTION_PROVIDER',
  key: 'executionProvider',
  expected: `one of ${EXECUTION_PROVIDERS.join(', ')}`,
  defaultValue: 'auto',
  schema: z.enum(EXECUTION_PROVIDERS),
});
const INTRA_OP_THREADS = knob({
  name: 'ALIGNDA_INTRA_OP_THREADS',
  key: 'intraOpThreads',
  expected: 'an integer from 1 to 1024',
  defaultValue: '1',
  schema: intIn(1, 1024),
});
const HTTP_PORT = knob({
  name: 'HTTP_PORT',
  key: 'httpPort',
  expected: 'an integer port from 0 to 65535',
  defaultValue: '8080',
  schema: intIn(0, 65535),
});
const STARTUP_PROBE_TIMEOUT_MS = knob({
  name: 'ALIGNDA_STARTUP_PROBE_TIMEOUT_MS',
  key: 'startupProbeTimeoutMs',
  expected: 'an integer number of milliseconds from 1 to 600000',
  defaultValue: '5000',
  schema: intIn(1, 600_000),
});

const RESULT_TTL_HOURS = knob({
  name: 'ALIGNDA_RESULT_TTL_HOURS',
  key: 'resultTtlHours',
  expected: 'a positive number of hours up to 87600 (ten years), e.g. 168 or 0.5',
  defaultValue: '168',
  schema: positiveDecimalUpTo(87_600),
});

function isDatabaseUrl(url: string): boolean {
  if (url.startsWith('file:')) return url.length > 'file:'.length;
  return hasHost(url, ['postgres:', 'postgresql:']);
}

function hasHost(url: string, protocols: readonly string[]): boolean {
  try {
    const u = new URL(url);
    return protocols.includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
}

/** Every environment variable read by {@link loadConfig}, in order, with what it expects and its default. */
export const CONFIG_VARIABLES: readonly ConfigVariable[] = Object.freeze(
  [
    LOG_LEVEL,
    { ...HOME, defaultValue: '<cwd>/.alignda' },
    { ...DATABASE_URL, defaultValue: 'file:<ALIGNDA_HOME>/alignda.db' },
    REDIS_URL,
    { ...DATA_DIR, defaultValue: '<cwd>/../shared/data' },
    EXECUTION_PROVIDER,
    INTRA_OP_THREADS,
    HTTP_PORT,
    STARTUP_PROBE_TIMEOUT_MS,
    RESULT_TTL_HOURS,
  ].map(({ name, key, expected, defaultValue }) => Object.freeze({ name, key, expected, defaultValue })),
);

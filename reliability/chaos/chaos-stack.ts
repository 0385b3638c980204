/**
 * The platform the chaos run hurts: `alignda up --samplers N` on 127.0.0.1 over a redis-server of the run's own (an
 * append-only file in the run's folder, so that it can be killed and started again on the same port, as
 * packages/queue's `startRedisServer` runs it), a registry of its own (a SQLite file, or a PostgreSQL server of the
 * run's own: local-postgres.ts) and a home with the ci models and the nature runs (made as a user makes them; a
 * kept `--home` is reused). Knows the processes of the platform as they are now (the children of `alignda up`, read
 * from /proc: a restarted service has a new pid), whether they all answer, and how to restart Redis and PostgreSQL.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { ChildProcess } from 'node:child_process';
import pg from 'pg';

import { createApiKey, openDatabase } from '@alignda/db';
import type { Db } from '@alignda/db';
import { noRedisMessage, redisServerInstalled, startRedisServer } from '@alignda/queue';
import { checkHealth } from '@alignda/rpc';

import { alignda, startUp } from '../../bench/platform-stack.js';
import type { UpHandle } from '../../bench/platform-stack.js';
import { startLocalPostgres } from './local-postgres.js';
import type { LocalPostgres } from './local-postgres.js';

/** The lock times and retry counts that make recovery quick (each service's minimum lock is 5 s or less). */
export const CHAOS_ENV: Readonly<Record<string, string>> = {
  ALIGNDA_SAMPLE_LOCK_MS: '5000',
  ALIGNDA_ORCHESTRATOR_LOCK_MS: '5000',
  ALIGNDA_CYCLER_LOCK_MS: '5000',
  ALIGNDA_ORCHESTRATOR_ATTEMPTS: '50',
  ALIGNDA_CYCLER_ATTEMPTS: '50',
  // Every kill is restarted: the run, not the supervisor, bounds how many there are.
  ALIGNDA_UP_RESTARTS_PER_MINUTE: '1000',
};

/** Options of {@link startChaosStack}. */
export interface ChaosStackOptions {
  /** A home with the ci models and nature runs, kept between runs; made when missing. @defaultValue a fresh one */
  readonly home?: string;
  /** Sampler replicas on the sample queue. @defaultValue 2 */
  readonly samplers?: number;
  /** Registry on a PostgreSQL server of the run's own instead of SQLite (SQLite when it cannot start). @defaultValue false */
  readonly postgres?: boolean;
  /** Work to do with the home ready, before the platform starts (the reference cycle). */
  readonly prepare?: (env: NodeJS.ProcessEnv, home: string) => Promise<void>;
  /** Progress lines. @defaultValue none */
  readonly log?: (line: string) => void;
  /** How long `alignda up` may take to answer, ms. @defaultValue 240000 */
  readonly startTimeoutMs?: number;
}

/** A process of the platform as it is now. */
export interface PlatformProcess {
  /** The service (`sampler` for every replica). */
  readonly service: string;
  readonly pid: number;
}

/** A running chaos stack; {@link ChaosStack.close} stops every process it started, whatever happened. */
export interface ChaosStack {
  readonly env: NodeJS.ProcessEnv;
  readonly home: string;
  readonly gatewayUrl: string;
  /** A submit+read API key, exempt from rate limits. */
  readonly token: string;
  readonly db: Db;
  /** `postgresql` or `sqlite`. */
  readonly registry: string;
  readonly redisUrl: string;
  readonly up: UpHandle;
  /** The services' processes now (children of `alignda up`). */
  processes(): PlatformProcess[];
  /** The services `alignda up` started. */
  readonly services: readonly string[];
  /** Whether every service answers (gRPC health SERVING, the gateway's /readyz) and none is missing. */
  healthy(): Promise<boolean>;
  /** Whether `alignda up` is still running. */
  upAlive(): boolean;
  /** SIGKILLs the redis-server and starts it again on the same port with the same append-only file. */
  restartRedis(downMs: number): Promise<void>;
  /** Restarts the registry's PostgreSQL server, or says why it cannot (then nothing was done). */
  restartPostgres(): string | null;
  close(): Promise<void>;
}

/** The children of `parent` that run a service's main.ts (Linux /proc). */
export function serviceChildren(parent: number): PlatformProcess[] {
  const out: PlatformProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // A zombie has exited already: its parent has not reaped it yet.
      if (Number(ppid) !== parent || state === 'Z') continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const m = /services\/([a-z]+)\/src\/main\.ts/.exec(cmd);
      if (m?.[1] !== undefined) out.push({ service: m[1], pid: Number(entry) });
    } catch {
      // the process ended while it was read
    }
  }
  return out.sort((a, b) => a.service.localeCompare(b.service) || a.pid - b.pid);
}

/** The addresses `alignda up` printed: `label address pid N` lines. */
function addressesOf(output: string): { label: string; address: string }[] {
  return [...output.matchAll(/^ {2}(\S+) +(\S+) +pid \d+$/gm)].map((m) => ({
    label: m[1] ?? '',
    address: m[2] ?? '',
  }));
}

/** The ci models and the one-year nature run, unless `home` has them. */
async function prepareModels(env: NodeJS.ProcessEnv, home: string, log: (l: string) => void): Promise<void> {
  if (existsSync(path.join(home, 'models', 'qg-ci-model', 'models.json'))) return;
  log('training the ci models (a few steps) ...');
  const r = await alignda(env, ['train', '--preset', 'ci', '--years', '0.065', '--steps', '20']);
  if (r.status !== 0) throw new Error(`alignda train failed (${r.status}):\n${r.stderr}`);
}

/** Creates database `name` on the server at `serverUrl`; returns its URL. */
async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return Object.assign(new URL(serverUrl), { pathname: `/${name}` }).href;
}

/** Why the chaos run cannot have Redis (no redis-server to start one), or null. */
export function chaosRedisProblem(): string | null {
  return redisServerInstalled()
    ? null
    : noRedisMessage(new Error('the chaos run starts a redis-server of its own'));
}

/**
 * Starts the stack. Throws (having stopped what it started) when Redis cannot be had, the home cannot be made or the
 * platform does not start.
 */
export async function startChaosStack(options: ChaosStackOptions = {}): Promise<ChaosStack> {
  const log = options.log ?? ((): void => undefined);
  const samplers = options.samplers ?? 2;
  const root = mkdtempSync(path.join(tmpdir(), 'alignda-chaos-'));
  const home = options.home ?? path.join(root, 'home');
  mkdirSync(home, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const problem = chaosRedisProblem();
    if (problem !== null) throw new Error(problem);
    const redisLog = path.join(root, 'redis.log');
    const aofDir = path.join(root, 'redis');
    let redis = await startRedisServer({ logFile: redisLog, aofDir });
    const port = Number(new URL(redis.url).port);
    log(`redis-server ${redis.url} (append-only file in ${aofDir})`);
    const killRedis = (): void => {
      redis.process.kill('SIGKILL');
    };
    stops.push(() => {
      killRedis();
      return Promise.resolve();
    });

    let databaseUrl = `file:${path.join(root, 'alignda.db')}`;
    let postgres: LocalPostgres | undefined;
    let postgresProblem: string | null = null;
    if (options.postgres === true) {
      try {
        const server = await startLocalPostgres();
        postgres = server;
        stops.push(() => {
          server.stop();
          return Promise.resolve();
        });
        databaseUrl = await createDatabase(server.url, 'alignda');
        log(`registry on a PostgreSQL server of the run's own: ${databaseUrl}`);
      } catch (err) {
        postgresProblem = err instanceof Error ? err.message : String(err);
        log(`registry on SQLite: ${postgresProblem}`);
      }
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...CHAOS_ENV,
      ALIGNDA_HOME: home,
      ALIGNDA_DATA_DIR: path.join(root, 'no-data'),
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      ALIGNDA_EXECUTION_PROVIDER: 'cpu',
      LOG_LEVEL: 'info',
    };
    for (const k of [
      'ALIGNDA_DEBUG',
      'HTTP_PORT',
      'GRPC_PORT',
      'GRPC_HOST',
      'ALIGNDA_MODEL_DIR',
      'ALIGNDA_WORLD_YEARS',
      'ALIGNDA_DATASET',
      'ALIGNDA_SAMPLER_QUEUE',
    ])
      delete env[k];

    await Promise.all([prepareModels(env, home, log), options.prepare?.(env, home)]);

    const db = await openDatabase({ databaseUrl, startupProbeTimeoutMs: 5000 });
    stops.push(() => db.$disconnect());
    const { token } = await createApiKey(db, {
      name: 'chaos',
      scopes: ['submit', 'read'],
      rateLimitExempt: true,
    });

    log(`starting alignda up --samplers ${samplers} ...`);
    const up = await startUp(env, samplers, options.startTimeoutMs ?? 240_000);
    stops.push(() => up.stop());
    const upPid = up.pids.get('up') ?? 0;
    const addresses = addressesOf(up.output());
    // How many processes each service has (the sampler: its replicas), as `alignda up` started them.
    const expected = new Map<string, number>();
    for (const p of serviceChildren(upPid)) expected.set(p.service, (expected.get(p.service) ?? 0) + 1);

    const processes = (): PlatformProcess[] => serviceChildren(upPid);
    const upAlive = (): boolean => {
      try {
        process.kill(upPid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const healthy = async (): Promise<boolean> => {
      const now = processes();
      for (const [service, n] of expected)
        if (now.filter((p) => p.service === service).length < n) return false;
      const answers = await Promise.all(
        addresses.map(({ label, address }) =>
          label === 'gateway'
            ? fetch(`${address}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
                (r) => r.status === 200,
                () => false,
              )
            : checkHealth(address, '', { deadlineMs: 2000 }).then(
                (s) => s === 'SERVING',
                () => false,
              ),
        ),
      );
      return answers.every(Boolean);
    };

    return {
      env,
      home,
      gatewayUrl: up.url,
      token,
      db,
      registry: postgres === undefined ? 'sqlite' : 'postgresql',
      redisUrl: redis.url,
      up,
      processes,
      services: [...expected.keys()],
      healthy,
      upAlive,
      restartRedis: async (downMs) => {
        const old: ChildProcess = redis.process;
        const exited = new Promise<void>((resolve) => old.once('exit', () => resolve()));
        killRedis();
        await exited;
        await new Promise((r) => setTimeout(r, downMs));
        redis = await startRedisServer({ logFile: redisLog, aofDir, port });
      },
      restartPostgres: () => {
        if (postgres === undefined)
          return (
            postgresProblem ?? 'the registry is SQLite (run with --postgres-restart to put it on PostgreSQL)'
          );
        postgres.restart();
        return null;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The platform under test, for bench/platform.ts: a throw-away home (models and nature run made by the CLI as a user
 * makes them), Redis (REDIS_URL when it answers, else a `redis-server` of the bench's own) with a database of the
 * bench's own, `alignda up` with N sampler replicas (its pids from what it prints), the gateway alone, an HTTP client
 * of the job API, and the clean-up of queues and rows.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { QueueName, ensureRedis as ensureLocalRedis, freePort } from '@alignda/queue';

/** The repository root (bench/..). */
export const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI_MAIN = path.join(REPO, 'packages/cli/src/main.ts');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { freePort };

/** Redis for the bench: its server URL (no database) and the redis-server the bench started, if any. */
export interface BenchRedis {
  readonly serverUrl: string;
  readonly started?: ChildProcess;
}

/** REDIS_URL's server when it answers; else a `redis-server` on a free port (packages/queue's, as `alignda up`'s). */
export async function ensureRedis(url: string, logFile: string): Promise<BenchRedis> {
  const server = Object.assign(new URL(url), { pathname: '' }).href;
  const redis = await ensureLocalRedis(server, { logFile });
  return { serverUrl: redis.url, ...(redis.process === undefined ? {} : { started: redis.process }) };
}

/**
 * A Redis database of the bench's own: `wanted`, or the first empty one of 1..15 from a random start (BullMQ keys are
 * per database, so the bench's queues never meet another run's). Returns the URL with the database.
 */
export async function pickRedisDb(serverUrl: string, wanted?: number): Promise<string> {
  const withDb = (db: number): string => Object.assign(new URL(serverUrl), { pathname: `/${db}` }).href;
  if (wanted !== undefined) return withDb(wanted);
  const start = 1 + Math.floor(Math.random() * 15);
  for (let i = 0; i < 15; i++) {
    const db = 1 + ((start - 1 + i) % 15);
    const client = new Redis(withDb(db), { maxRetriesPerRequest: 1, lazyConnect: true });
    try {
      await client.connect();
      if ((await client.dbsize()) === 0) return withDb(db);
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`no empty Redis database among 1..15 at ${serverUrl}: give one with --redis-db`);
}

/** Removes the assimilate and sample queues (jobs, events, counters) from the bench's Redis database. */
export async function obliterateQueues(redisUrl: string): Promise<void> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  try {
    for (const name of [QueueName.assimilate, QueueName.sample]) {
      const queue = new Queue(name, { connection });
      await queue.obliterate({ force: true });
      await queue.close();
    }
  } finally {
    connection.disconnect();
  }
}

/** The outcome of a finished child process. */
interface Ran {
  readonly status: number | null;
  readonly stderr: string;
}

/** `alignda <args>` in a fresh node process, as a user runs it. */
export function alignda(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stderr }));
  });
}

/**
 * The ci models (a few training steps: the cost of a job does not depend on the weights) and the one-year nature run
 * the services open, made side by side unless `home` has them already (a kept `--home`).
 */
export async function prepareHome(env: NodeJS.ProcessEnv, home: string): Promise<string[]> {
  const made: string[] = [];
  const runs: Promise<void>[] = [];
  const run = async (what: string, args: readonly string[]): Promise<void> => {
    const r = await alignda(env, args);
    if (r.status !== 0) throw new Error(`alignda ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
    made.push(what);
  };
  if (!existsSync(path.join(home, 'models', 'qg-ci-model', 'models.json')))
    runs.push(run('ci models', ['train', '--preset', 'ci', '--years', '0.065', '--steps', '30']));
  if (!existsSync(path.join(home, 'worlds', 'qg-s1-y1-v1')))
    runs.push(run('nature run', ['world', 'generate', '--years', '1', '--out', path.join(home, 'worlds')]));
  await Promise.all(runs);
  return made;
}

/** A process group the bench started: stopped with SIGTERM, then SIGKILL after `graceMs`. */
async function stopGroup(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
    process.kill(-pid, 'SIGTERM');
    const done = await Promise.race([exited, sleep(graceMs).then(() => false)]);
    if (!done) process.kill(-pid, 'SIGKILL');
  }
  try {
    process.kill(-pid, 'SIGKILL'); // anything of the group left behind
  } catch {
    // none left: the group is gone
  }
}

/** A running `alignda up`. */
export interface UpHandle {
  /** The gateway's base URL. */
  readonly url: string;
  /** Label -> pid of every process of the platform, `up` itself included (as `up`). */
  readonly pids: ReadonlyMap<string, number>;
  /** Everything `up` has printed so far (restarts of services show here). */
  readonly output: () => string;
  readonly stop: () => Promise<void>;
}

/**
 * Starts `alignda up --samplers <samplers>` in its own process group and resolves once it prints the gateway URL.
 * @throws when it exits first or `timeoutMs` passes
 */
export async function startUp(
  env: NodeJS.ProcessEnv,
  samplers: number,
  timeoutMs: number,
): Promise<UpHandle> {
  const args = ['up', '--preset', 'ci', '--http-port', '0', '--samplers', String(samplers)];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI_MAIN, ...args, '--start-timeout', String(Math.ceil(timeoutMs / 1000))],
    { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-4000)));
  const handle = { stop: () => stopGroup(child, 40_000), output: () => out };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`alignda up: no gateway within ${timeoutMs} ms:\n${out}\n${err}`)),
        timeoutMs,
      );
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`alignda up exited (${code}) before it printed the gateway:\n${out}\n${err}`));
      };
      child.once('exit', onExit);
      child.stdout.on('data', () => {
        const m = /^gateway (http:\/\/\S+)/m.exec(out);
        if (m === null) return;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(m[1] ?? '');
      });
    });
    const pids = new Map<string, number>([['up', child.pid ?? 0]]);
    for (const m of out.matchAll(/^ {2}(\S+) +\S+ +pid (\d+)$/gm)) pids.set(m[1] ?? '', Number(m[2]));
    return { ...handle, url, pids };
  } catch (e) {
    await handle.stop();
    throw e;
  }
}

/** The gateway alone (no workers), as `alignda serve gateway` starts it, its output appended to `logFile`. */
export async function startGateway(
  env: NodeJS.ProcessEnv,
  logFile: string,
  timeoutMs: number,
): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const fd = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO, 'services/gateway/src/main.ts')],
    {
      cwd: REPO,
      env: { ...env, HTTP_PORT: String(port) },
      detached: true,
      stdio: ['ignore', fd, fd],
    },
  );
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  const stop = (): Promise<void> => stopGroup(child, 20_000);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return { url, pid: child.pid ?? 0, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the gateway did not become ready within ${timeoutMs} ms (log ${logFile})`);
    }
    await sleep(300);
  }
}

/** The job resource's fields the bench reads (services/gateway job-view.ts). */
export interface JobView {
  readonly id: string;
  readonly state: string;
  readonly timings: {
    readonly queuedAt: string;
    readonly startedAt: string | null;
    readonly finishedAt: string | null;
  };
  readonly error: { readonly code: string; readonly message: string } | null;
  /** The result summary once succeeded (its `timings`: the orchestrator's seconds per stage). */
  readonly result: unknown;
}

/** A client of the gateway's job API with one API key. */
export class JobClient {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' };
  }

  /** POSTs `request`; resolves with the job id. */
  async submit(request: unknown): Promise<string> {
    const res = await fetch(`${this.url}/v1/assimilations`, {
      method: 'POST',
      headers: this.headers(),
      body: JSON.stringify(request),
    });
    const body = (await res.json()) as { id?: string; detail?: string };
    if (res.status !== 202 || body.id === undefined)
      throw new Error(`POST /v1/assimilations: ${res.status} ${body.detail ?? JSON.stringify(body)}`);
    return body.id;
  }

  /** GETs the job resource. */
  async view(id: string): Promise<JobView> {
    const res = await fetch(`${this.url}/v1/assimilations/${id}`, { headers: this.headers() });
    if (res.status !== 200) throw new Error(`GET /v1/assimilations/${id}: ${res.status}`);
    return (await res.json()) as JobView;
  }

  /**
   * Waits until every job has finished, polling one job at a time (the first not yet seen finished) every
   * `intervalMs`, so that polling adds about one GET per interval to the platform's work whatever the number of jobs;
   * calls `onDone(done, total)` as jobs are seen finished.
   * @returns the finished views, in the order of `ids`
   * @throws when a job fails or is cancelled
   */
  async waitAll(
    ids: readonly string[],
    intervalMs: number,
    onDone?: (done: number, total: number) => void,
  ): Promise<JobView[]> {
    const views: JobView[] = [];
    for (const id of ids) {
      for (;;) {
        const view = await this.view(id);
        if (view.state !== 'queued' && view.state !== 'running') {
          if (view.state !== 'succeeded')
            throw new Error(
              `job ${id} ${view.state}: ${view.error?.code ?? ''} ${view.error?.message ?? ''}`,
            );
          views.push(view);
          onDone?.(views.length, ids.length);
          break;
        }
        await sleep(intervalMs);
      }
    }
    return views;
  }
}

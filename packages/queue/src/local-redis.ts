/**
 * Redis for a run on one machine (`alignda up`, the benches, the chaos script): the one at REDIS_URL when it answers,
 * else a `redis-server` of the run's own on a free loopback port, or an error that says exactly how to get one.
 * An own server runs without snapshots; with `aofDir` it keeps an append-only file there (fsync every second, as
 * compose and k8s run it), so that a restart of it loses at most a second of queue writes.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';

import { AppError } from '@alignda/errors';

import { probeRedis } from './probe-redis.js';

/** A free TCP port on 127.0.0.1 (taken from the kernel, then released for a child to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a `redis-server` can be started here. */
export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

/** Why Redis cannot be had (nothing answers: `err`; no redis-server to start one) and how to get it. */
export function noRedisMessage(err: unknown): string {
  return `${err instanceof Error ? err.message : String(err)}; no redis-server is installed to start one: install Redis (apt-get install redis-server, brew install redis) or start one (docker compose up -d redis), or set REDIS_URL`;
}

/**
 * Why a run could have no Redis (nothing answers at `url` and no redis-server is installed), with how to get one, or
 * null when it can have one.
 */
export async function localRedisProblem(url: string): Promise<string | null> {
  try {
    await probeRedis(url, 1500);
    return null;
  } catch (err) {
    return redisServerInstalled() ? null : noRedisMessage(err);
  }
}

/** Redis for a run: `url`, and the server the run started when nothing answered there. */
export interface LocalRedis {
  readonly url: string;
  readonly process?: ChildProcess;
}

/** Options of {@link startRedisServer} and {@link ensureRedis}. */
export interface LocalRedisOptions {
  /** Where the server's output goes (appended). */
  readonly logFile: string;
  /** Keep an append-only file in this folder (appendfsync everysec). @defaultValue none: nothing kept */
  readonly aofDir?: string;
  /** The port. @defaultValue a free one */
  readonly port?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a `redis-server` on 127.0.0.1 and waits until it answers.
 * @throws AppError UNAVAILABLE when it does not answer within 5 s (it is killed)
 */
export async function startRedisServer(options: LocalRedisOptions): Promise<Required<LocalRedis>> {
  const port = options.port ?? (await freePort());
  const persistence =
    options.aofDir === undefined
      ? ['--appendonly', 'no']
      : ['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', options.aofDir];
  if (options.aofDir !== undefined) mkdirSync(options.aofDir, { recursive: true });
  const fd = openSync(options.logFile, 'a');
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence],
    {
      stdio: ['ignore', fd, fd],
    },
  );
  closeSync(fd);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (
      await probeRedis(url, 500).then(
        () => true,
        () => false,
      )
    )
      return { url, process: child };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new AppError(
    'UNAVAILABLE',
    `the redis-server started on port ${port} did not answer (log: ${options.logFile})`,
  );
}

/**
 * Redis for a run: `url` when it answers, else a `redis-server` of the run's own on a free port.
 * @throws AppError UNAVAILABLE when nothing answers and none can be started, saying how to get one
 */
export async function ensureRedis(url: string, options: LocalRedisOptions): Promise<LocalRedis> {
  try {
    await probeRedis(url, 1500);
    return { url };
  } catch (err) {
    if (!redisServerInstalled()) throw new AppError('UNAVAILABLE', noRedisMessage(err), { cause: err });
  }
  return startRedisServer(options);
}

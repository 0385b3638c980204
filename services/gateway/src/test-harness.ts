/**
 * For the gateway's tests only: a gateway listening on 127.0.0.1:0 over a temporary SQLite registry and
 * a real Redis, its assimilate queue under a fresh `test-<uuid>` prefix (obliterated on close), and
 * API keys of each kind.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createApiKey, openDatabase, revokeApiKey } from '@alignda/db';
import type { Db } from '@alignda/db';
import { createLogger } from '@alignda/log';
import { QueueName, probeRedis } from '@alignda/queue';
import { buildGateway } from './app.js';
import type { GatewayApp } from './deps.js';
import type { GatewayLimits } from './limits.js';

/** The Redis the tests use: tests/global-setup.ts's, else REDIS_URL, else the local default. */
export const TEST_REDIS_URL =
  process.env.ALIGNDA_TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** `null` when {@link TEST_REDIS_URL} answers PING, else why not (for the skipped suite's title). */
export async function redisProblem(): Promise<string | null> {
  return probeRedis(TEST_REDIS_URL, 1000).then(
    () => null,
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
}

/** A running test gateway. */
export interface TestGateway {
  readonly app: GatewayApp;
  readonly db: Db;
  readonly queue: Queue;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** Tokens: submit + read, read only, revoked (was submit + read), rate-limit exempt submit + read. */
  readonly tokens: {
    readonly submit: string;
    readonly read: string;
    readonly revoked: string;
    readonly exempt: string;
  };
  /** Jobs on the queue in any state, and Job rows. */
  counts(): Promise<{ rows: number; queued: number }>;
  close(): Promise<void>;
}

/** Options of {@link startGateway}. */
export interface StartOptions {
  limits?: Partial<GatewayLimits>;
  /** The Redis URL of the readiness / cancel connection. @defaultValue {@link TEST_REDIS_URL} */
  redisUrl?: string;
}

/** Starts a gateway; call `close()` in `afterAll`. */
export async function startGateway(options: StartOptions = {}): Promise<TestGateway> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'alignda-gateway-'));
  const db = await openDatabase({
    databaseUrl: `file:${path.join(dir, 'alignda.db')}`,
    startupProbeTimeoutMs: 2000,
  });
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(QueueName.assimilate, { connection, prefix: `test-${randomUUID()}` });
  const redis = new Redis(options.redisUrl ?? TEST_REDIS_URL, {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => 200,
  });
  redis.on('error', () => undefined); // the readiness test points it at a closed port on purpose
  const logger = createLogger({ service: 'gateway', level: 'silent' });
  const app = await buildGateway({
    db,
    queue,
    redis,
    logger,
    limits: { rateLimitMax: 10_000, backendTimeoutMs: 1000, ...options.limits },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;

  const make = async (name: string, scopes: ('submit' | 'read')[], exempt = false): Promise<string> =>
    (await createApiKey(db, { name, scopes, rateLimitExempt: exempt })).token;
  const submit = await make('test-submit', ['submit', 'read']);
  const read = await make('test-read', ['read']);
  const revoked = await make('test-revoked', ['submit', 'read']);
  const exempt = await make('test-bench', ['submit', 'read'], true);
  const revokedKey = (await db.apiKey.findMany({ where: { name: 'test-revoked' } }))[0];
  if (revokedKey !== undefined) await revokeApiKey(db, revokedKey.id);

  return {
    app,
    db,
    queue,
    base: `http://127.0.0.1:${port}`,
    tokens: { submit, read, revoked, exempt },
    async counts() {
      const byState = await queue.getJobCounts();
      const queued = Object.values(byState).reduce((a, b) => a + b, 0);
      return { rows: await db.job.count(), queued };
    },
    async close() {
      await app.close();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
      redis.disconnect();
      await db.$disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A valid request body: one grid-cell observation of the QG world. */
export function validBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    source: { world: 'qg' },
    validTime: '2000-01-10T06:00Z',
    observations: { cells: [{ channel: 'z_upper', row: 3, col: 5, value: 95_000, sigma: 50 }] },
    method: 'dps',
    ...over,
  };
}

/**
 * For the gateway's tests only: a gateway listening on 127.0.0.1:0 over a temporary SQLite registry and
 * a real Redis, its assimilate queue under a fresh `test-<uuid>` prefix (obliterated on close), and
 * API keys of each kind.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createApiKey, openDatabase, revokeApiKey } from '@alignda/db';
import type { ApiKeyScope, Db } from '@alignda/db';
import { createLogger } from '@alignda/log';
import { QueueName, probeRedis } from '@alignda/queue';
import { betaPlaneGrid } from '@alignda/tensor';
import { analysisFileMapPng, fieldsNetcdf, readAnalysisNetcdf, writeNetcdfClassic } from '@alignda/world';
import type { FieldSet } from '@alignda/world';
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
  /** Its ALIGNDA_HOME (results under `results/<jobId>/`). */
  readonly homeDir: string;
  /** Its ALIGNDA_DATA_DIR (empty at start; `/v1/datasets` registers from it). */
  readonly dataDir: string;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** Tokens: submit + read, read only, revoked (was submit + read), rate-limit exempt submit + read, admin. */
  readonly tokens: {
    readonly submit: string;
    readonly read: string;
    readonly revoked: string;
    readonly exempt: string;
    readonly admin: string;
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
  const homeDir = path.join(dir, 'home');
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir);
  const app = await buildGateway({
    db,
    queue,
    redis,
    logger,
    homeDir,
    dataDir,
    resultTtlHours: 168,
    limits: { rateLimitMax: 10_000, backendTimeoutMs: 1000, ...options.limits },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;

  const make = async (name: string, scopes: ApiKeyScope[], exempt = false): Promise<string> =>
    (await createApiKey(db, { name, scopes, rateLimitExempt: exempt })).token;
  const submit = await make('test-submit', ['submit', 'read']);
  const read = await make('test-read', ['read']);
  const revoked = await make('test-revoked', ['submit', 'read']);
  const exempt = await make('test-bench', ['submit', 'read'], true);
  const admin = await make('test-admin', ['admin']);
  const revokedKey = (await db.apiKey.findMany({ where: { name: 'test-revoked' } }))[0];
  if (revokedKey !== undefined) await revokeApiKey(db, revokedKey.id);

  return {
    app,
    db,
    queue,
    homeDir,
    dataDir,
    base: `http://127.0.0.1:${port}`,
    tokens: { submit, read, revoked, exempt, admin },
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

/** What {@link storeResult} stored. Fields [.., C, H, W] flattened, physical units; NaN outside the valid area. */
export interface StoredResult {
  readonly id: string;
  /** The netCDF's bytes. */
  readonly bytes: Uint8Array;
  readonly channels: readonly string[];
  readonly shape: readonly [number, number];
  readonly members: number;
  readonly mean: Float32Array;
  readonly spread?: Float32Array;
  /** [M, C, H, W] (more than one member). */
  readonly memberFields?: Float32Array;
  readonly background: Float32Array;
  /** The map's bytes, when one was stored. */
  readonly map?: Uint8Array;
}

/** Options of {@link storeResult}. */
export interface StoreResultOptions {
  /** @defaultValue 3 */
  readonly members?: number;
  /** The Job row's status; only a succeeded job gets files and an Analysis row. @defaultValue 'succeeded' */
  readonly status?: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  /** Store map.png too. @defaultValue false */
  readonly map?: boolean;
  /** When the job finished. @defaultValue now */
  readonly finishedAt?: Date;
  /** The Analysis row's provenance. @defaultValue a small record */
  readonly provenance?: object | null;
  /** Override the recorded file paths (relative to ALIGNDA_HOME). */
  readonly artifactPaths?: Record<string, string>;
}

/** The channels, units and grid of the stored results: a small beta plane, as the QG world's. */
export const RESULT_CHANNELS = ['t', 'u_upper', 'z_upper'] as const;
const RESULT_UNITS = ['K', 'm s-1', 'm'];
const RESULT_GRID = betaPlaneGrid({ H: 4, W: 6, dxM: 5e5, dyM: 4e5, latCentreDeg: 45 });

/**
 * A job as the orchestrator leaves it: the Job row and, when it succeeded, `results/<id>/analysis.nc` laid out as the
 * orchestrator writes it (mean, spread, members, background; the last cell outside the valid area), optionally
 * map.png, and its Analysis row.
 */
export async function storeResult(gw: TestGateway, options: StoreResultOptions = {}): Promise<StoredResult> {
  const id = randomUUID();
  const M = options.members ?? 3;
  const [C, H, W] = [RESULT_CHANNELS.length, 4, 6];
  const n = C * H * W;
  const status = options.status ?? 'succeeded';
  const finishedAt = options.finishedAt ?? new Date();
  await gw.db.job.create({
    data: {
      id,
      kind: QueueName.assimilate,
      status,
      // As a JSON column holds it (Prisma's JSON input type wants more than Record<string, unknown>).
      request: JSON.parse(JSON.stringify(validBody({ members: M, seed: 5 }))) as object,
      stage: status === 'running' ? 'sample' : null,
      progress: status === 'running' ? 0.5 : 0,
      ...(status === 'failed'
        ? { errorCode: 'INVALID_ARGUMENT', errorMessage: 'observation 0 failed QC' }
        : {}),
      ...(status === 'queued' || status === 'running' ? {} : { startedAt: finishedAt, finishedAt }),
    },
  });
  // Distinct float32 values (k / 7 is not exact in binary), so a value read back says where it came from.
  const values = (count: number, offset: number): Float32Array =>
    Float32Array.from({ length: count }, (_, k) => offset + k / 7);
  const memberFields = values(M * n, 240);
  const mean = values(n, 250);
  const spread = values(n, 0.5);
  const background = values(n, 245);
  const sets: FieldSet[] = [
    { suffix: '', description: 'dps analysis (member mean) of', data: mean },
    ...(M > 1
      ? [
          { suffix: '_spread', description: 'member standard deviation of', data: spread, isQuantity: false },
          { suffix: '_members', description: 'dps analysis member of', data: memberFields, members: M },
        ]
      : []),
    { suffix: '_background', description: '48 h background forecast of', data: background },
  ];
  const bytes = writeNetcdfClassic(
    fieldsNetcdf({
      grid: RESULT_GRID,
      channels: [...RESULT_CHANNELS],
      units: RESULT_UNITS,
      time: '2000-01-10T06:00:00Z',
      sets,
      validMask: Uint8Array.from({ length: H * W }, (_, g) => (g === H * W - 1 ? 0 : 1)),
      attributes: {
        title: 'alignda dps analysis',
        method: 'dps',
        members: { type: 'int', values: [M] },
        seed: 5,
      },
    }),
  );
  const nan = (a: Float32Array, planes: number): Float32Array =>
    a.map((v, k) => (k % (H * W) === H * W - 1 && k < planes * H * W ? Number.NaN : v));
  const stored: StoredResult = {
    id,
    bytes,
    channels: RESULT_CHANNELS,
    shape: [H, W],
    members: M,
    mean: nan(mean, C),
    ...(M > 1 ? { spread: nan(spread, C), memberFields: nan(memberFields, M * C) } : {}),
    background: nan(background, C),
  };
  if (status !== 'succeeded') return stored;

  const folder = path.join(gw.homeDir, 'results', id);
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, 'analysis.nc'), bytes);
  let map: Uint8Array | undefined;
  if (options.map === true) {
    map = analysisFileMapPng(readAnalysisNetcdf(bytes), 't');
    writeFileSync(path.join(folder, 'map.png'), map);
  }
  const dataset = await gw.db.dataset.upsert({
    where: { name: 'qg' },
    create: { name: 'qg', kind: 'qg', descriptor: {} },
    update: {},
  });
  const provenance =
    options.provenance === undefined
      ? { version: 1, gitCommit: 'a'.repeat(40), seeds: { sampler: 5, members: [5] }, request: validBody() }
      : options.provenance;
  await gw.db.analysis.create({
    data: {
      id,
      jobId: id,
      datasetId: dataset.id,
      validTime: new Date('2000-01-10T06:00:00Z'),
      members: M,
      artifactPaths: options.artifactPaths ?? {
        analysis: path.join('results', id, 'analysis.nc'),
        ...(map === undefined ? {} : { map: path.join('results', id, 'map.png') }),
      },
      ...(provenance === null ? {} : { provenance }),
    },
  });
  return { ...stored, ...(map === undefined ? {} : { map }) };
}

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '@alignda/errors';
import { migrate } from './migrate.js';
import { SQLITE_BUSY_TIMEOUT_MS, openDatabase } from './open-database.js';
import type { Db } from './open-database.js';

/** Admin connection for creating throw-away databases (trust auth in CI). */
const ADMIN_URL = process.env.ALIGNDA_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function postgresReachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}
const pgProblem = await postgresReachable();

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Creates one row of every model (every column set, relations linked), reads each back by id and
 * compares it with what was written.
 */
async function roundTripEveryModel(db: Db): Promise<number> {
  const t = (iso: string): Date => new Date(iso);
  const dataset = await db.dataset.create({
    data: { name: 'qg-test', kind: 'qg', descriptor: { channels: ['z500', 'u'], seed: 7, dtHours: 6 } },
  });
  const batch = await db.observationBatch.create({
    data: {
      datasetId: dataset.id,
      validTime: t('2026-01-01T06:00:00.000Z'),
      source: 'simulated',
      count: 128,
      artifactPath: 'obs/b1.bin',
      qcSummary: { accepted: 120, rejected: 8 },
    },
  });
  const job = await db.job.create({
    data: {
      idempotencyKey: 'key-1',
      requestHash: 'cd'.repeat(32),
      correlationId: 'corr-1',
      kind: 'assimilate',
      status: 'running',
      progress: 0.25,
      stage: 'sample',
      request: { members: 8, guidance: 'dps' },
      result: { ok: true },
      errorCode: 'UNAVAILABLE',
      errorMessage: 'sampler restarted',
      startedAt: t('2026-01-01T06:00:01.000Z'),
      finishedAt: t('2026-01-01T06:05:00.000Z'),
    },
  });
  const parent = await db.modelVersion.create({
    data: { kind: 'score', name: 'score-v1', status: 'active', artifactPaths: { denoiser: 'm/v1.onnx' } },
  });
  const model = await db.modelVersion.create({
    data: {
      kind: 'score',
      name: 'score-v2-dpo',
      parentId: parent.id,
      status: 'candidate',
      artifactPaths: { denoiser: 'm/v2.onnx' },
      metrics: { wrmse: 1.25 },
      promotedAt: t('2026-01-02T00:00:00.000Z'),
      retiredAt: t('2026-01-03T00:00:00.000Z'),
    },
  });
  const analysis = await db.analysis.create({
    data: {
      validTime: t('2026-01-01T06:00:00.000Z'),
      datasetId: dataset.id,
      jobId: job.id,
      modelVersionId: model.id,
      observationBatchId: batch.id,
      members: 8,
      artifactPaths: { fields: 'a/1.nc', map: 'a/1.png' },
      diagnostics: { omb: 1.5, oma: 0.75, spread: [0.5, 0.25] },
      provenance: { gitCommit: null, seeds: { sampler: 5, members: [5, 6] } },
      expiredAt: t('2026-01-08T06:00:00.000Z'),
    },
  });
  const cycle = await db.cycle.create({
    data: {
      name: 'cycle-1',
      datasetId: dataset.id,
      modelVersionId: model.id,
      status: 'running',
      intervalMinutes: 360,
      startTime: t('2026-01-01T00:00:00.000Z'),
      nextValidTime: t('2026-01-01T12:00:00.000Z'),
      settings: { members: 8 },
      stats: { steps: 2 },
    },
  });
  const step = await db.cycleStep.create({
    data: {
      cycleId: cycle.id,
      stepIndex: 1,
      validTime: t('2026-01-01T06:00:00.000Z'),
      status: 'succeeded',
      analysisId: analysis.id,
      stats: { omb: 1.5 },
      errorCode: null,
      errorMessage: null,
      startedAt: t('2026-01-01T06:00:00.000Z'),
      finishedAt: t('2026-01-01T06:03:00.000Z'),
    },
  });
  const run = await db.alignmentRun.create({
    data: {
      jobId: job.id,
      baseModelVersionId: parent.id,
      resultModelVersionId: model.id,
      status: 'succeeded',
      settings: { beta: 500, objectives: ['P', 'M'] },
      startedAt: t('2026-01-01T07:00:00.000Z'),
      finishedAt: t('2026-01-01T09:00:00.000Z'),
    },
  });
  const prefs = await db.preferenceSet.create({
    data: {
      alignmentRunId: run.id,
      objective: 'P',
      pairCount: 64,
      artifactPath: 'p/1.bin',
      summary: { margin: 0.5 },
    },
  });
  const evaluation = await db.evaluation.create({
    data: {
      modelVersionId: model.id,
      referenceModelVersionId: parent.id,
      alignmentRunId: run.id,
      periodStart: t('2026-02-01T00:00:00.000Z'),
      periodEnd: t('2026-02-08T00:00:00.000Z'),
      metrics: { wrmse: { z500: 1.5 } },
      passed: true,
    },
  });

  const apiKey = await db.apiKey.create({
    data: {
      name: 'bench',
      hash: 'ef'.repeat(32),
      scopes: ['submit', 'read'],
      rateLimitExempt: true,
      revokedAt: t('2026-01-04T00:00:00.000Z'),
    },
  });

  const reads: [object, object | null][] = [
    [dataset, await db.dataset.findUnique({ where: { id: dataset.id } })],
    [batch, await db.observationBatch.findUnique({ where: { id: batch.id } })],
    [job, await db.job.findUnique({ where: { idempotencyKey: 'key-1' } })],
    [parent, await db.modelVersion.findUnique({ where: { id: parent.id } })],
    [
      model,
      await db.modelVersion.findUnique({ where: { kind_name: { kind: 'score', name: 'score-v2-dpo' } } }),
    ],
    [analysis, await db.analysis.findUnique({ where: { id: analysis.id } })],
    [cycle, await db.cycle.findUnique({ where: { id: cycle.id } })],
    [
      step,
      await db.cycleStep.findUnique({ where: { cycleId_stepIndex: { cycleId: cycle.id, stepIndex: 1 } } }),
    ],
    [run, await db.alignmentRun.findUnique({ where: { id: run.id } })],
    [prefs, await db.preferenceSet.findUnique({ where: { id: prefs.id } })],
    [evaluation, await db.evaluation.findUnique({ where: { id: evaluation.id } })],
    [apiKey, await db.apiKey.findUnique({ where: { hash: 'ef'.repeat(32) } })],
  ];
  for (const [written, read] of reads) expect(read).toEqual(written);
  // Relations resolve through the foreign keys.
  const lineage = await db.modelVersion.findUniqueOrThrow({
    where: { id: model.id },
    include: { parent: true },
  });
  expect(lineage.parent?.name).toBe('score-v1');
  // The idempotency key is unique.
  await expect(
    db.job.create({ data: { idempotencyKey: 'key-1', kind: 'assimilate', request: {} } }),
  ).rejects.toThrow();
  // So is an API key's hash.
  await expect(
    db.apiKey.create({ data: { name: 'again', hash: 'ef'.repeat(32), scopes: [] } }),
  ).rejects.toThrow();
  // Foreign keys are enforced (SQLite needs PRAGMA foreign_keys, which the adapter turns on).
  await expect(
    db.observationBatch.create({
      data: {
        datasetId: 'missing',
        validTime: t('2026-01-01T00:00:00.000Z'),
        source: 's',
        count: 1,
        artifactPath: 'x',
      },
    }),
  ).rejects.toThrow(/Foreign key constraint/);
  return reads.length;
}

describe('SQLite database', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'alignda-db-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is migrated on open and round-trips one row of every model', async () => {
    const db = await openDatabase({
      databaseUrl: `file:${path.join(dir, 'alignda.db')}`,
      startupProbeTimeoutMs: 2000,
    });
    try {
      expect(await roundTripEveryModel(db)).toBe(12);
    } finally {
      await db.$disconnect();
    }
  });

  it('keeps its rows when opened again (migrations are not re-applied)', async () => {
    const url = `file:${path.join(dir, 'alignda.db')}`;
    expect((await migrate(url)).applied).toEqual([]);
    const db = await openDatabase({ databaseUrl: url, startupProbeTimeoutMs: 2000 });
    try {
      expect(await db.job.count()).toBe(1);
    } finally {
      await db.$disconnect();
    }
  });

  it('runs in WAL mode with a busy timeout, so that two processes writing at once wait rather than fail', async () => {
    const url = `file:${path.join(dir, 'alignda.db')}`;
    const [a, b] = await Promise.all([
      openDatabase({ databaseUrl: url, startupProbeTimeoutMs: 2000 }),
      openDatabase({ databaseUrl: url, startupProbeTimeoutMs: 2000 }),
    ]);
    try {
      const mode = await a.$queryRawUnsafe<{ journal_mode: string }[]>('PRAGMA journal_mode');
      expect(mode[0]?.journal_mode).toBe('wal');
      const timeout = await b.$queryRawUnsafe<{ timeout: number | bigint }[]>('PRAGMA busy_timeout');
      expect(Number(timeout[0]?.timeout)).toBe(SQLITE_BUSY_TIMEOUT_MS);
      // Two clients (two connections to one file) inserting at the same time: every row lands.
      await Promise.all(
        Array.from({ length: 40 }, (_, k) =>
          (k % 2 === 0 ? a : b).job.create({ data: { kind: 'assimilate', request: { k } } }),
        ),
      );
      expect(await a.job.count()).toBe(41);
    } finally {
      await Promise.all([a.$disconnect(), b.$disconnect()]);
    }
  });
});

describe.skipIf(pgProblem !== null)(
  `PostgreSQL database${pgProblem === null ? '' : ` (SKIPPED: ${ADMIN_URL} not reachable: ${pgProblem})`}`,
  () => {
    const name = `alignda_test_${randomBytes(6).toString('hex')}`;
    const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).href;
    beforeAll(() => admin(`CREATE DATABASE "${name}"`));
    afterAll(() => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));

    it('is migrated on open and round-trips one row of every model', async () => {
      const db = await openDatabase({ databaseUrl: url, startupProbeTimeoutMs: 5000 });
      try {
        expect(await roundTripEveryModel(db)).toBe(12);
      } finally {
        await db.$disconnect();
      }
    });

    it('treats applying the migrations twice as a no-op', async () => {
      const again = await migrate(url);
      expect(again.applied).toEqual([]);
      expect(again.alreadyApplied.length).toBeGreaterThan(0);
    });
  },
);

describe('an unreachable PostgreSQL', () => {
  it('fails with UNAVAILABLE naming DATABASE_URL, password redacted, and the reason', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const err: unknown = await openDatabase({
      databaseUrl: `postgresql://root:hunter2@127.0.0.1:${port}/alignda`,
      startupProbeTimeoutMs: 2000,
    }).then(
      () => new Error('expected a rejection'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('UNAVAILABLE');
    expect((err as AppError).message).toBe(
      `DATABASE_URL postgresql://root:***@127.0.0.1:${port}/alignda is unreachable: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });
});

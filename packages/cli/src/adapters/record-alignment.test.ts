import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '@alignda/config';
import type { Config } from '@alignda/config';
import { openDatabase } from '@alignda/db';
import type { AlignResult } from '@alignda/pipelines';

import { recordAlignment } from './record-alignment.js';

/** Admin connection for a throw-away PostgreSQL database (trust auth), as packages/db's tests use. */
const ADMIN_URL = process.env.ALIGNDA_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
const pgProblem = await admin('SELECT 1').then(
  () => null,
  (err: unknown) => (err instanceof Error ? err.message : String(err)),
);

const HASH = 'ab'.repeat(32);

/** What alignModels returns for set M of the folder `dir` (a stand-in: only the recorded fields matter). */
function alignResult(
  dir: string,
  over: { completed?: boolean; afterLoss?: number; hash?: string } = {},
): AlignResult {
  return {
    preferences: {
      meta: {
        format: 'alignda-preferences/1',
        source: 'qg',
        set: 'M',
        rewards: ['assim', 'forecast'],
        background: 'model',
        period: 'alignment',
        periodRange: [40, 80],
        candidates: 8,
        steps: 16,
        seed: 11,
        trainConditions: [41, 45, 50, 60],
        heldOutConditions: [70, 75],
        scales: { assim: [0.5, 0.25], forecast: [1, 2] },
        fallbacks: 1,
        trainPairs: 12,
        heldOutPairs: 6,
        rewardMeans: { assim: { winners: 0.75, losers: -0.5 } },
      },
      hash: over.hash ?? HASH,
      file: path.join(dir, 'preferences-M.safetensors'),
      reused: false,
    },
    dpo: { beta: 2000, pairsPerStep: 8, steps: 30, peakLr: 1e-5, warmupSteps: 2, weightDecay: 0, seed: 0 },
    checkpoint: path.join(dir, 'score-aligned-M.safetensors'),
    completed: over.completed ?? true,
    resumedFrom: 0,
    heldOut: {
      before: { loss: 0.6931, accuracy: 0.5, margin: 0 },
      after: { loss: over.afterLoss ?? 0.625, accuracy: 0.75, margin: 0.125 },
    },
  };
}

function suite(makeConfig: () => Config): void {
  let config: Config;
  let dir: string;
  const record = (res: AlignResult): ReturnType<typeof recordAlignment> =>
    recordAlignment(config, {
      dir,
      score: { steps: 500, config: { latentShape: [4, 8, 8] } },
      result: res,
      periodFirst: '2001-01-11T00',
      periodLast: '2001-01-20T18',
      startedAt: new Date('2026-03-01T10:00:00Z'),
      finishedAt: new Date('2026-03-01T10:05:00Z'),
    });
  beforeAll(() => {
    config = makeConfig();
    dir = path.join(config.homeDir, 'models', 'qg-ci-model');
  });

  it('records the reference, the aligned model as its child, the run and the preference set', async () => {
    const ids = await record(alignResult(dir));
    const db = await openDatabase(config);
    try {
      const reference = await db.modelVersion.findUniqueOrThrow({
        where: { kind_name: { kind: 'score', name: 'qg-ci-model' } },
      });
      expect(reference.id).toBe(ids.reference);
      expect(reference.artifactPaths).toEqual({ checkpoint: 'models/qg-ci-model/score.safetensors' });
      expect(reference.metrics).toEqual({ steps: 500, config: { latentShape: [4, 8, 8] } });

      const aligned = await db.modelVersion.findUniqueOrThrow({
        where: { kind_name: { kind: 'score', name: 'qg-ci-model-aligned-M' } },
        include: { parent: true },
      });
      expect(aligned.id).toBe(ids.aligned);
      expect(aligned.parentId).toBe(reference.id);
      expect(aligned.parent?.name).toBe('qg-ci-model');
      expect(aligned.status).toBe('candidate');
      expect(aligned.artifactPaths).toEqual({ checkpoint: 'models/qg-ci-model/score-aligned-M.safetensors' });
      expect(aligned.metrics).toMatchObject({
        dpo: { beta: 2000, steps: 30, pairsPerStep: 8 },
        preferenceSet: { set: 'M', contentHash: HASH },
        heldOut: { before: { loss: 0.6931 }, after: { loss: 0.625, accuracy: 0.75 } },
      });

      const run = await db.alignmentRun.findUniqueOrThrow({ where: { id: ids.run } });
      expect(run).toMatchObject({
        baseModelVersionId: reference.id,
        resultModelVersionId: aligned.id,
        status: 'succeeded',
        startedAt: new Date('2026-03-01T10:00:00Z'),
        finishedAt: new Date('2026-03-01T10:05:00Z'),
      });
      expect(run.settings).toMatchObject({ set: 'M', dpo: { beta: 2000, steps: 30 }, candidates: 8 });

      const prefs = await db.preferenceSet.findUniqueOrThrow({ where: { id: ids.preferenceSet } });
      expect(prefs).toMatchObject({
        alignmentRunId: run.id,
        objective: 'M',
        pairCount: 12,
        heldOutPairCount: 6,
        candidates: 8,
        conditions: 6,
        contentHash: HASH,
        artifactPath: 'models/qg-ci-model/preferences-M.safetensors',
        rewards: ['assim', 'forecast'],
        rewardScales: { assim: [0.5, 0.25], forecast: [1, 2] },
        periodStart: new Date('2001-01-11T00:00:00Z'),
        periodEnd: new Date('2001-01-20T18:00:00Z'),
      });
      expect(prefs.summary).toMatchObject({ periodRange: [40, 80], fallbacks: 1, reused: false });
    } finally {
      await db.$disconnect();
    }
  });

  it('keeps one aligned model version per folder and set when aligned again, and adds a run and a set', async () => {
    const first = await openDatabase(config).then(async (db) => {
      try {
        return await db.modelVersion.findUniqueOrThrow({
          where: { kind_name: { kind: 'score', name: 'qg-ci-model-aligned-M' } },
        });
      } finally {
        await db.$disconnect();
      }
    });
    const hash2 = 'cd'.repeat(32);
    const ids = await record(alignResult(dir, { afterLoss: 0.5, hash: hash2 }));
    const db = await openDatabase(config);
    try {
      expect(ids.aligned).toBe(first.id);
      expect(await db.modelVersion.count({ where: { kind: 'score', name: 'qg-ci-model-aligned-M' } })).toBe(
        1,
      );
      expect(await db.modelVersion.count({ where: { kind: 'score', name: 'qg-ci-model' } })).toBe(1);
      const aligned = await db.modelVersion.findUniqueOrThrow({ where: { id: first.id } });
      expect(aligned.metrics).toMatchObject({ heldOut: { after: { loss: 0.5 } } });
      expect(aligned.parentId).toBe(ids.reference);

      const sets = await db.preferenceSet.findMany({
        where: { objective: 'M' },
        orderBy: { createdAt: 'asc' },
        include: { alignmentRun: true },
      });
      expect(sets).toHaveLength(2);
      expect(sets.map((s) => s.contentHash).sort()).toEqual([HASH, hash2].sort());
      expect(new Set(sets.map((s) => s.alignmentRunId)).size).toBe(2);
      for (const s of sets) expect(s.alignmentRun?.resultModelVersionId).toBe(first.id);
      expect(await db.alignmentRun.count()).toBe(2);
    } finally {
      await db.$disconnect();
    }
  });

  it('records an interrupted DPO run as paused with its preference set and no aligned model', async () => {
    const ids = await record(alignResult(dir, { completed: false }));
    expect(ids.aligned).toBeUndefined();
    const db = await openDatabase(config);
    try {
      const run = await db.alignmentRun.findUniqueOrThrow({
        where: { id: ids.run },
        include: { preferenceSets: true },
      });
      expect(run.status).toBe('paused');
      expect(run.resultModelVersionId).toBeNull();
      expect(run.preferenceSets.map((s) => s.id)).toEqual([ids.preferenceSet]);
    } finally {
      await db.$disconnect();
    }
  });
}

describe('recordAlignment on SQLite (the default registry under ALIGNDA_HOME)', () => {
  let home = '';
  beforeAll(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'alignda-record-align-'));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  suite(() => loadConfig({ ALIGNDA_HOME: home }));
});

describe.skipIf(pgProblem !== null)(
  `recordAlignment on PostgreSQL${pgProblem === null ? '' : ` (SKIPPED: ${ADMIN_URL} not reachable: ${pgProblem})`}`,
  () => {
    let home = '';
    const name = `alignda_test_${randomBytes(6).toString('hex')}`;
    const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).href;
    beforeAll(async () => {
      home = mkdtempSync(path.join(os.tmpdir(), 'alignda-record-align-pg-'));
      await admin(`CREATE DATABASE "${name}"`);
    });
    afterAll(async () => {
      rmSync(home, { recursive: true, force: true });
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    });
    suite(() => loadConfig({ ALIGNDA_HOME: home, DATABASE_URL: url }));
  },
);

/**
 * The cycle service's worker over a real Redis (a fresh `test-<uuid>` queue prefix, obliterated afterwards), a
 * temporary SQLite registry, short QG nature runs and the real cycle pipeline: a cycle run one queued step at a time
 * records the series `runCycle` gives in one call; a paused cycle runs nothing and the reconciler picks it up again;
 * a step whose state was saved by a worker killed before it recorded the step is recorded once, with the same
 * numbers; a pipeline refusal fails the cycle with its code.
 */
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureDatasetRow, openDatabase } from '@alignda/db';
import type { Db } from '@alignda/db';
import { createLogger } from '@alignda/log';
import { fileModelStore } from '@alignda/nn';
import {
  cycleOptionsOf,
  parseCycleRequest,
  trainLatentModels,
  reanalysisRequestSchema,
  reanalysisStreams,
  runCycle,
} from '@alignda/pipelines';
import type { CycleRecord, CycleRequestInput, CycleResult } from '@alignda/pipelines';
import { CYCLE_JOB_NAME, QueueName, cycleJobData, cycleStepJobId, probeRedis } from '@alignda/queue';
import { normalise } from '@alignda/tensor';
import { createZarrTimeStore, qgSource, writeZarrTime } from '@alignda/world';
import type { DaSource } from '@alignda/world';

import { checkHealth } from '@alignda/rpc';

import { spawnServiceMain } from '../../../packages/rpc/src/internal/testing.js';
import { cycleStore, reanalysisStoreDir } from './adapters/cycle-inputs.js';
import { buildCycler } from './app.js';
import type { Cycler } from './app.js';
import type { StepStats } from './step.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const REDIS_URL = process.env.ALIGNDA_TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisProblem = await probeRedis(REDIS_URL, 1000).then(
  () => null,
  (err: unknown) => (err instanceof Error ? err.message : String(err)),
);

/** CI-sized settings: one tuning candidate each, a short offline cycle, a small ensemble, loose CG. */
const SETTINGS: CycleRequestInput = {
  methods: ['3dvar', 'letkf'],
  cycles: 4,
  members: 8,
  skillEvery: 2,
  tuning: {
    pairs48: 8,
    offlineCycles: 6,
    offlineBurnIn: 2,
    tuneCycles: 4,
    lengthScalesKm: [1000],
    inflations: [1],
    rtps: [0.5],
    halfWidthsKm: [4000],
    maxLeadHours: 24,
    cgTol: 1e-4,
  },
};

/** A JSON round trip, as a row stores a value. */
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** A record as a step row keeps it. */
const asStored = (r: CycleRecord): Omit<CycleRecord, 'cycle' | 'stateIndex' | 'time' | 'seconds'> => {
  const { cycle: _c, stateIndex: _i, time: _t, seconds: _s, ...rest } = json(r);
  return rest;
};

describe.skipIf(redisProblem !== null)(
  `cycle service worker${redisProblem === null ? '' : ` (SKIPPED: no Redis at ${REDIS_URL}: ${redisProblem})`}`,
  () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'alignda-cycler-'));
    const prefix = `test-${randomUUID()}`;
    let db: Db;
    let training: DaSource;
    let scored: DaSource;
    let datasetId: string;
    let connection: Redis;
    let queue: Queue;
    let cycler: Cycler;
    let reference: CycleResult;

    const enqueue = async (
      cycleId: string,
      step: number,
      correlationId: string,
      delay: number,
    ): Promise<void> => {
      await queue.add(CYCLE_JOB_NAME, cycleJobData(cycleId, step, correlationId), {
        jobId: cycleStepJobId(cycleId, step),
        delay,
      });
    };

    /** A Cycle row as the gateway creates it. */
    const createCycle = async (
      input: CycleRequestInput,
      status: 'running' | 'paused' = 'running',
    ): Promise<string> => {
      const settings = parseCycleRequest(input);
      const row = await db.cycle.create({
        data: {
          name: `c-${randomUUID()}`,
          datasetId,
          status,
          intervalMinutes: settings.intervalHours * 60,
          startTime: new Date('2001-01-01T00:00Z'),
          nextValidTime: new Date('2001-01-01T06:00Z'),
          settings: json(settings),
        },
      });
      return row.id;
    };

    const waitFor = async (cycleId: string, statuses: string[], timeoutMs = 120_000): Promise<string> => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const row = await db.cycle.findUniqueOrThrow({ where: { id: cycleId } });
        if (statuses.includes(row.status)) return row.status;
        if (Date.now() > until) throw new Error(`cycle ${cycleId} is still ${row.status}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    const steps = async (cycleId: string) =>
      db.cycleStep.findMany({ where: { cycleId }, orderBy: { stepIndex: 'asc' } });

    beforeAll(async () => {
      db = await openDatabase({
        databaseUrl: `file:${path.join(dir, 'alignda.db')}`,
        startupProbeTimeoutMs: 2000,
      });
      training = qgSource(dir, { world: 'qg', seed: 1, years: 0.1, spinUpDays: 60 });
      scored = qgSource(dir, { world: 'qg', seed: 2, years: 0.1, spinUpDays: 60 });
      datasetId = await ensureDatasetRow(db, { name: 'qg', kind: 'world', descriptor: {} });
      reference = await runCycle(scored, cycleOptionsOf(parseCycleRequest(SETTINGS)), { training });
      connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      queue = new Queue(QueueName.cycle, { connection, prefix });
      cycler = buildCycler({
        db,
        connection,
        prefix,
        logger: createLogger({ service: 'cycler', level: 'silent' }),
        settings: { attempts: 1 },
        enqueue,
        inputs: async (_s, folder) =>
          folder === undefined
            ? { source: scored, training }
            : {
                source: scored,
                training,
                models: await fileModelStore(folder).loadAll(),
                priorBackground: 'emulator',
              },
        homeDir: dir,
        store: (id) => cycleStore(dir, id),
        writeAnalysis: (id, spec, t, field) => {
          createZarrTimeStore(reanalysisStoreDir(dir, id), spec);
          writeZarrTime(reanalysisStoreDir(dir, id), t, field);
        },
      });
      await cycler.run();
    }, 240_000);

    afterAll(async () => {
      await cycler?.close(1000);
      await queue?.obliterate({ force: true });
      await queue?.close();
      connection?.disconnect();
      await db?.$disconnect();
      rmSync(dir, { recursive: true, force: true });
    });

    it('runs a cycle one queued step at a time and records, once per step, the series runCycle gives in one call', async () => {
      const id = await createCycle(SETTINGS);
      await enqueue(id, 0, 'r1', 0);
      expect(await waitFor(id, ['succeeded', 'failed'])).toBe('succeeded');
      const rows = await steps(id);
      expect(rows.map((r) => [r.stepIndex, r.status])).toEqual([0, 1, 2, 3].map((k) => [k, 'succeeded']));
      for (const r of rows) {
        const stats = r.stats as unknown as StepStats;
        for (const m of ['3dvar', 'letkf']) {
          const want = reference.series[m]?.[r.stepIndex];
          expect(want, m).toBeDefined();
          const { seconds: _s, ...got } = stats.methods[m] ?? { seconds: 0 };
          expect(got, `${m} step ${r.stepIndex}`).toEqual(asStored(want as CycleRecord));
        }
        expect(r.validTime.toISOString().slice(0, 13)).toBe(
          (reference.series['3dvar']?.[r.stepIndex]?.time ?? '').slice(0, 13),
        );
      }
      // Lead-time forecasts on the steps that make them (every 2nd), as in the one-call run.
      expect(
        rows.flatMap((r) => ((r.stats as unknown as StepStats).skill === undefined ? [] : [r.stepIndex])),
      ).toEqual(reference.skill.records.map((s) => s.cycle));
      const cycle = await db.cycle.findUniqueOrThrow({ where: { id } });
      expect((cycle.stats as { stepsDone?: number }).stepsDone).toBe(4);
    }, 180_000);

    it('runs nothing for a paused cycle; the reconciler queues the step again once it runs', async () => {
      const id = await createCycle({ ...SETTINGS, cycles: 2 }, 'paused');
      await enqueue(id, 0, 'r2', 0);
      // The step is taken and skipped: its job leaves the queue, no step is recorded.
      const until = Date.now() + 30_000;
      while ((await queue.getJob(cycleStepJobId(id, 0))) !== undefined && Date.now() < until)
        await new Promise((r) => setTimeout(r, 100));
      expect(await queue.getJob(cycleStepJobId(id, 0))).toBeUndefined();
      expect(await steps(id)).toEqual([]);
      await db.cycle.update({ where: { id }, data: { status: 'running' } });
      expect(await cycler.reconcile()).toBeGreaterThanOrEqual(1);
      expect(await waitFor(id, ['succeeded', 'failed'])).toBe('succeeded');
      expect((await steps(id)).map((r) => r.stepIndex)).toEqual([0, 1]);
    }, 120_000);

    it('records a step whose state a killed worker saved but never recorded, once, with the same numbers', async () => {
      const id = await createCycle({ ...SETTINGS, cycles: 2 });
      // What a worker killed between the pipeline's save and the row's write leaves: the state after step 0.
      await runCycle(
        scored,
        { ...cycleOptionsOf(parseCycleRequest(SETTINGS)), cycles: 1, resume: true },
        {
          training,
          store: cycleStore(dir, id),
        },
      );
      await enqueue(id, 0, 'r3', 0);
      expect(await waitFor(id, ['succeeded', 'failed'])).toBe('succeeded');
      const rows = await steps(id);
      expect(rows.map((r) => r.stepIndex)).toEqual([0, 1]);
      const first = (rows[0]?.stats as unknown as StepStats).methods['3dvar'];
      expect(first?.analysisRmse).toBe(json(reference.series['3dvar']?.[0])?.analysisRmse);
    }, 120_000);

    it('fails UNAVAILABLE a cycle whose step the queue gives up without running it (its workers died too often)', async () => {
      const id = await createCycle({ ...SETTINGS, cycles: 2 });
      await enqueue(id, 0, 'r5', 300);
      // What BullMQ's stalled-job check (moveStalledJobsToWait) leaves on a step stalled past maxStalledCount: the
      // next worker to take it fails it without running it. Left running, the cycle would wait for ever.
      await connection.hset(
        `${prefix}:${QueueName.cycle}:${cycleStepJobId(id, 0)}`,
        'defa',
        'job stalled more than allowable limit',
      );
      expect(await waitFor(id, ['succeeded', 'failed'], 30_000)).toBe('failed');
      const cycle = await db.cycle.findUniqueOrThrow({ where: { id } });
      expect((cycle.stats as { error?: { code: string; message: string } }).error).toEqual({
        code: 'UNAVAILABLE',
        message: 'the queue gave step 0 up: job stalled more than allowable limit',
      });
      expect(await steps(id)).toEqual([]);
    }, 60_000);

    it('reanalyses a range with two streams (spin-up discarded) into one Zarr store: every time written, each the analysis its step scored', async () => {
      const id = randomUUID();
      const request = reanalysisRequestSchema.parse({
        from: 3,
        steps: 6,
        streams: 2,
        spinUp: 2,
        method: 'letkf',
        members: 8,
        tuning: SETTINGS.tuning,
      });
      const streams = reanalysisStreams(id, 'ra', request);
      // Stream 0 keeps states 3..5 from a start at 0; stream 1 keeps 6..8 from a start at 3 (2 steps of spin-up).
      expect(streams.map((s) => [s.start, s.cycles, s.reanalysis?.keepFrom])).toEqual([
        [0, 5, 3],
        [3, 5, 6],
      ]);
      const ids = streams.map(() => randomUUID());
      await db.job.create({
        data: { id, kind: 'reanalysis', status: 'running', request: { steps: 6, streams: ids } },
      });
      for (const [k, s] of streams.entries())
        await db.cycle.create({
          data: {
            id: ids[k] ?? '',
            name: s.name ?? `ra-${k}`,
            datasetId,
            status: 'running',
            intervalMinutes: 360,
            startTime: new Date('2001-01-01T00:00Z'),
            nextValidTime: new Date('2001-01-01T06:00Z'),
            settings: json(s),
          },
        });
      for (const cid of ids) await enqueue(cid, 0, 'ra', 0);
      const until = Date.now() + 150_000;
      let job = await db.job.findUniqueOrThrow({ where: { id } });
      while (job.status === 'running' && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
        job = await db.job.findUniqueOrThrow({ where: { id } });
      }
      expect(job.status, job.errorMessage ?? '').toBe('succeeded');
      const store = reanalysisStoreDir(dir, id);
      const meta = JSON.parse(readFileSync(`${store}/.zmetadata`, 'utf8')) as {
        metadata: Record<string, { shape?: number[]; units?: string }>;
      };
      expect(meta.metadata['analysis/.zarray']?.shape).toEqual([6, ...scored.shape]);
      expect(meta.metadata['time/.zattrs']?.units).toMatch(/^hours since 2001-01-01 00:00:00$/);
      const times = new Float64Array(Uint8Array.from(readFileSync(`${store}/time/0`)).buffer);
      expect([...times]).toEqual([18, 24, 30, 36, 42, 48]);
      // Each time holds the analysis its stream scored: its RMSE against the truth (normalised) is the step's.
      let checked = 0;
      for (const [k, cid] of ids.entries()) {
        const state = await cycleStore(dir, cid).load();
        const norm = state?.setup.norm;
        expect(norm).toBeDefined();
        const rows = await steps(cid);
        for (const r of rows) {
          const stats = r.stats as unknown as StepStats;
          const stateIndex = (streams[k]?.start ?? 0) + r.stepIndex + 1;
          // A spin-up step writes nothing: that time is the other stream's.
          if (stateIndex < (streams[k]?.reanalysis?.keepFrom ?? 0) || norm === undefined) continue;
          const file = `${store}/analysis/${stateIndex - 3}.0.0.0`;
          checked++;
          const field = new Float32Array(Uint8Array.from(readFileSync(file)).buffer);
          const x = normalise({ data: field, shape: scored.shape }, norm).data;
          const truth = normalise({ data: scored.state(stateIndex).data, shape: scored.shape }, norm).data;
          let s2 = 0;
          for (let i = 0; i < x.length; i++) s2 += ((x[i] as number) - (truth[i] as number)) ** 2;
          expect(Math.sqrt(s2 / x.length)).toBeCloseTo(stats.methods.letkf?.analysisRmse ?? Number.NaN, 4);
        }
      }
      expect(checked).toBe(6);
      for (let t = 0; t < 6; t++) expect(existsSync(`${store}/analysis/${t}.0.0.0`), `time ${t}`).toBe(true);
      // A run whose streams all ended while nobody settled it (its worker killed in between): the reconciler does.
      const orphan = randomUUID();
      await db.job.create({
        data: { id: orphan, kind: 'reanalysis', status: 'running', request: { steps: 6, streams: ids } },
      });
      await cycler.reconcile();
      expect((await db.job.findUniqueOrThrow({ where: { id: orphan } })).status).toBe('succeeded');
    }, 200_000);

    it("uses its model line's active version at each step: a promotion mid-cycle reaches the next step", async () => {
      // Two model folders of one line: the trained reference (active) and a candidate of it.
      const a = path.join(dir, 'models', 'ref');
      mkdirSync(a, { recursive: true });
      await trainLatentModels(training, fileModelStore(a), { preset: 'ci', steps: 2, seed: 1 });
      cpSync(a, path.join(dir, 'models', 'cand'), { recursive: true });
      const ref = await db.modelVersion.create({
        data: {
          kind: 'score',
          name: `ref-${randomUUID()}`,
          status: 'active',
          artifactPaths: { folder: 'models/ref' },
        },
      });
      const cand = await db.modelVersion.create({
        data: {
          kind: 'score',
          name: `cand-${randomUUID()}`,
          parentId: ref.id,
          artifactPaths: { folder: 'models/cand' },
        },
      });
      const id = await createCycle({
        ...SETTINGS,
        methods: ['3dvar'],
        forecast: 'emulator',
        cycles: 6,
        skillEvery: 0,
        modelVersion: ref.id,
      });
      await enqueue(id, 0, 'mv', 0);
      // Once a step is recorded: pause, promote the candidate (the reference retired), resume.
      const until = Date.now() + 120_000;
      while ((await steps(id)).filter((r) => r.status === 'succeeded').length < 1 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 100));
      await db.cycle.update({ where: { id }, data: { status: 'paused' } });
      await new Promise((r) => setTimeout(r, 1500));
      await db.$transaction([
        db.modelVersion.update({ where: { id: ref.id }, data: { status: 'retired', retiredAt: new Date() } }),
        db.modelVersion.update({
          where: { id: cand.id },
          data: { status: 'active', promotedAt: new Date() },
        }),
      ]);
      await db.cycle.update({ where: { id }, data: { status: 'running' } });
      await cycler.reconcile();
      expect(await waitFor(id, ['succeeded', 'failed'])).toBe('succeeded');
      const used = (await steps(id)).map((r) => (r.stats as unknown as StepStats).modelVersionId);
      expect(used).toHaveLength(6);
      const switchAt = used.indexOf(cand.id);
      expect(switchAt, used.join()).toBeGreaterThan(0);
      expect(used).toEqual([
        ...used.slice(0, switchAt).map(() => ref.id),
        ...used.slice(switchAt).map(() => cand.id),
      ]);
    }, 240_000);

    it('runs as its own process: serves grpc.health.v1, reconciles at start, and drains on SIGTERM with status 0', async () => {
      const home = path.join(dir, 'main-home');
      mkdirSync(home, { recursive: true });
      const proc = await spawnServiceMain('services/cycler/src/main.ts', ['--port', '0'], {
        cwd: REPO,
        env: {
          ALIGNDA_HOME: home,
          DATABASE_URL: `file:${path.join(home, 'alignda.db')}`,
          REDIS_URL: REDIS_URL,
          LOG_LEVEL: 'info',
        },
      });
      expect(await checkHealth(proc.address)).toBe('SERVING');
      proc.child.kill('SIGTERM');
      const late = new Promise((resolve) =>
        setTimeout(() => resolve('still running after 15 s'), 15_000).unref(),
      );
      expect(await Promise.race([proc.exited, late])).toBe(0);
      expect(proc.output()).toMatch(/cycle service stopped/);
    }, 90_000);

    it('fails the cycle and its step with the pipeline code when the pipeline refuses it', async () => {
      // A latent method without trained models: FAILED_PRECONDITION from the pipeline.
      const id = await createCycle({ ...SETTINGS, methods: ['dps'], latentPrior: 'reuse-48h', cycles: 2 });
      await enqueue(id, 0, 'r4', 0);
      expect(await waitFor(id, ['succeeded', 'failed'])).toBe('failed');
      const cycle = await db.cycle.findUniqueOrThrow({ where: { id } });
      expect((cycle.stats as { error?: { code: string } }).error?.code).toBe('FAILED_PRECONDITION');
      expect((await steps(id)).map((r) => [r.stepIndex, r.status, r.errorCode])).toEqual([
        [0, 'failed', 'FAILED_PRECONDITION'],
      ]);
    }, 60_000);
  },
);

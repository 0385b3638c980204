/**
 * The alignment flow over a real gateway, Redis (a fresh `test-<uuid>` queue prefix, obliterated afterwards) and a
 * temporary SQLite registry, with ci-sized models trained a few steps on a one-variable in-memory dataset: an
 * alignment submitted over HTTP runs its three stages on the trainer's workers and yields a candidate ModelVersion,
 * its model folder and the gate's verdict on held-out alignment-period cases; promotion is refused while the gate
 * does not hold and recorded (then rolled back) when it does; bad requests are problems that create nothing.
 * With ALIGNDA_ALIGNMENT_REPORT=<file>, the finished run's GET body is written there.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '@alignda/log';
import { fileModelStore } from '@alignda/nn';
import type { LatentModels, ModelManifest } from '@alignda/nn';
import { trainLatentModels } from '@alignda/pipelines';
import { memoryDataset } from '@alignda/pipelines/testing';
import { QueueName } from '@alignda/queue';
import { createRng } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';

import { redisProblem, startGateway, TEST_REDIS_URL } from '../../gateway/src/test-harness.js';
import type { TestGateway } from '../../gateway/src/test-harness.js';
import { buildTrainer } from './app.js';
import type { Trainer } from './app.js';

const problem = await redisProblem();
const SKIP = problem === null ? '' : ` (SKIPPED: no Redis at ${TEST_REDIS_URL}: ${problem})`;

const [C, H, W] = [1, 32, 64];
const COUNT = 120;

/** Travelling temperature waves (K) on the ci grid: train 60 states, alignment 36, test 24. */
function memorySource(): DaSource {
  const rng = createRng(5);
  const states = Array.from({ length: COUNT }, (_, t) => {
    const [a, b] = [rng.normal(), rng.normal()];
    return Float32Array.from({ length: C * H * W }, (_, g) => {
      const [i, k] = [Math.floor(g / W), g % W];
      return (
        280 - 0.5 * i + 3 * a * Math.sin((2 * Math.PI * k) / W + t / 4) + 2 * b * Math.cos((Math.PI * i) / H)
      );
    });
  });
  return memoryDataset(states, { train: [0, 60], alignment: [60, 96], test: [96, COUNT] });
}

/** The tiniest alignment: 4 conditions x 4 candidates of 4 sampler steps, 3 DPO steps, a gate of 2 cases. */
const TINY = {
  set: 'M',
  beta: 2000,
  pairs: 2,
  candidates: 4,
  conditions: 4,
  steps: 4,
  dpoSteps: 3,
  checkpointEvery: 1,
  gate: { cases: 2, modes: ['obsfree'] },
};

interface Answer {
  status: number;
  type: string | null;
  body: Record<string, unknown>;
}

describe.skipIf(problem !== null)(`the alignment flow${SKIP}`, () => {
  let gw: TestGateway;
  let trainer: Trainer;
  let source: DaSource;
  let models: LatentModels;
  let manifest: ModelManifest | undefined;
  let baseId: string;
  const queues: Queue[] = [];

  /** A trainer on the gateway's queues, taking jobs. */
  const startTrainer = async (): Promise<Trainer> => {
    const { connection, prefix } = gw.queue.opts;
    const t = buildTrainer({
      db: gw.db,
      connection,
      ...(prefix === undefined ? {} : { prefix }),
      logger: createLogger({ service: 'trainer', level: 'silent' }),
      homeDir: gw.homeDir,
      inputs: () => Promise.resolve({ models, manifest, source }),
    });
    await t.run();
    return t;
  };

  /** Reads the run until `done` says so or `ms` pass. */
  const waitFor = async (id: string, done: (view: Record<string, unknown>) => boolean, ms: number) => {
    let view = await call('GET', `/v1/alignments/${id}`, undefined, gw.tokens.read);
    const deadline = Date.now() + ms;
    while (!done(view.body) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      view = await call('GET', `/v1/alignments/${id}`, undefined, gw.tokens.read);
    }
    return view;
  };
  const finished = (v: Record<string, unknown>): boolean =>
    ['succeeded', 'failed'].includes(v.state as string);

  const call = async (method: string, url: string, body?: unknown, token?: string): Promise<Answer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token ?? gw.tokens.submit}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${gw.base}${url}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    };
  };

  beforeAll(async () => {
    gw = await startGateway();
    source = memorySource();
    const dir = path.join(gw.homeDir, 'models', 'memory-ci-emulator');
    mkdirSync(dir, { recursive: true });
    const store = fileModelStore(dir);
    await trainLatentModels(source, store, { preset: 'ci', steps: 3, seed: 1 });
    models = await store.loadAll();
    manifest = await store.readManifest();
    const base = await gw.db.modelVersion.create({
      data: {
        kind: 'score',
        name: 'memory-ci-emulator',
        artifactPaths: { checkpoint: 'models/memory-ci-emulator/score.safetensors' },
        background: manifest?.background ?? 'emulator',
      },
    });
    baseId = base.id;
    trainer = await startTrainer();
    const { connection, prefix } = gw.queue.opts;
    for (const name of [QueueName.align, QueueName.train])
      queues.push(new Queue(name, { connection, ...(prefix === undefined ? {} : { prefix }) }));
  }, 120_000);

  afterAll(async () => {
    await trainer?.close(1000);
    for (const q of queues) {
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
    }
    await gw?.close();
  });

  it('runs an alignment through the flow: preference set, DPO, a candidate ModelVersion and the gate verdict', async () => {
    const res = await call('POST', '/v1/alignments', { model: baseId, ...TINY });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = res.body.id as string;
    expect(res.body.url).toBe(`/v1/alignments/${id}`);
    const view = await waitFor(id, finished, 85_000);
    if (process.env.ALIGNDA_ALIGNMENT_REPORT !== undefined)
      writeFileSync(process.env.ALIGNDA_ALIGNMENT_REPORT, `${JSON.stringify(view.body, null, 2)}\n`);
    expect(view.body.state, JSON.stringify(view.body.error)).toBe('succeeded');
    expect(view.body).toMatchObject({ progress: 1, baseModel: baseId, error: null });
    const prefs = view.body.preferenceSet as { set: string; trainPairs: number; rewards: string[] };
    expect(prefs).toMatchObject({ set: 'M', rewards: ['assim', 'forecast'] });
    expect(prefs.trainPairs).toBeGreaterThan(0);
    const dpo = view.body.dpo as { steps: number; heldOut: { before: { loss: number }; after: unknown } };
    expect(dpo.steps).toBe(3);
    expect(dpo.heldOut.before.loss).toBeCloseTo(Math.log(2), 4);
    const candidate = view.body.candidate as { id: string; status: string };
    expect(candidate.status).toBe('candidate');
    const gate = view.body.gate as {
      passed: boolean;
      period: string;
      cases: number[];
      modes: { obsfree: { mse: { ci95: number[] } } };
      reasons: string[];
    };
    expect(gate.period).toBe('alignment');
    expect(gate.cases).toHaveLength(2);
    // Held-out alignment-period cases: inside the period, never a condition the DPO trained on.
    const trainConditions = (view.body.preferenceSet as { summary: { trainConditions: number[] } }).summary
      .trainConditions;
    for (const i of gate.cases) {
      expect(i).toBeGreaterThanOrEqual(60);
      expect(i).toBeLessThan(96);
      expect(trainConditions).not.toContain(i);
    }
    expect(gate.passed).toBe((gate.modes.obsfree.mse.ci95[1] ?? 1) <= 0);
    expect(gate.reasons.length === 0).toBe(gate.passed);
    const row = await gw.db.modelVersion.findUniqueOrThrow({ where: { id: candidate.id } });
    expect(row).toMatchObject({ parentId: baseId, background: 'emulator', status: 'candidate' });
    const folder = path.join(gw.homeDir, (row.artifactPaths as { folder: string }).folder);
    for (const f of ['vae.safetensors', 'emulator.safetensors', 'score.safetensors', 'models.json'])
      expect(existsSync(path.join(folder, f)), f).toBe(true);
    const evaluation = await gw.db.evaluation.findFirstOrThrow({ where: { modelVersionId: candidate.id } });
    expect(evaluation).toMatchObject({
      period: 'alignment',
      passed: gate.passed,
      referenceModelVersionId: baseId,
    });
  }, 90_000);

  it('resumes DPO from its checkpoint when the trainer stops mid-run and another takes the job', async () => {
    const res = await call('POST', '/v1/alignments', {
      model: baseId,
      ...TINY,
      dpoSteps: 60,
      checkpointEvery: 3,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = res.body.id as string;
    // Stopped once DPO has passed its first checkpoint (step 3 of 60; the train stage spans progress 0.4 to 0.85).
    const mid = await waitFor(
      id,
      (v) => finished(v) || (v.progress as number) >= 0.4 + (0.45 * 4) / 60,
      60_000,
    );
    expect(mid.body.stage).toMatch(/^train: DPO/);
    await trainer.close(0);
    trainer = await startTrainer();
    const view = await waitFor(id, finished, 80_000);
    expect(view.body.state, JSON.stringify(view.body.error)).toBe('succeeded');
    const dpo = view.body.dpo as { steps: number; resumedFrom: number };
    expect(dpo.steps).toBe(60);
    expect(dpo.resumedFrom).toBeGreaterThanOrEqual(3);
    expect(dpo.resumedFrom).toBeLessThan(60);
  }, 150_000);

  it('promotes only when the gate holds (409 with the interval otherwise), records it, and demotes back', async () => {
    const reference = await gw.db.modelVersion.create({
      data: { kind: 'score', name: `ref-${randomUUID()}`, artifactPaths: {}, status: 'active' },
    });
    const candidate = async (ci95: [number, number], passed: boolean, period = 'alignment') => {
      const mv = await gw.db.modelVersion.create({
        data: { kind: 'score', name: `cand-${randomUUID()}`, artifactPaths: {}, parentId: reference.id },
      });
      await gw.db.evaluation.create({
        data: {
          modelVersionId: mv.id,
          referenceModelVersionId: reference.id,
          periodStart: new Date('2013-01-16T00:00Z'),
          periodEnd: new Date('2013-01-24T18:00Z'),
          period,
          passed,
          metrics: { modes: { dps: { mse: { change: (ci95[0] + ci95[1]) / 2, ci95, p: 0.1, n: 8 } } } },
        },
      });
      return mv.id;
    };
    const failing = await candidate([-0.01, 0.03], false);
    const refused = await call('POST', `/v1/models/${failing}/promote`, undefined, gw.tokens.admin);
    expect(refused.status).toBe(409);
    expect(refused.type).toContain('application/problem+json');
    expect(refused.body.code).toBe('FAILED_PRECONDITION');
    expect(refused.body.detail).toContain('[-1.00 %, +3.00 %]');
    // A pass recorded on the test period never promotes.
    const onTest = await candidate([-0.05, -0.01], true, 'test');
    expect((await call('POST', `/v1/models/${onTest}/promote`, undefined, gw.tokens.admin)).status).toBe(409);

    const passing = await candidate([-0.05, -0.01], true);
    expect((await call('POST', `/v1/models/${passing}/promote`)).status).toBe(403); // submit is not admin
    const promoted = await call('POST', `/v1/models/${passing}/promote`, undefined, gw.tokens.admin);
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
    expect(promoted.body).toMatchObject({
      status: 'active',
      events: [{ action: 'promote', actor: 'test-admin', previousActiveId: reference.id }],
    });
    expect((await gw.db.modelVersion.findUniqueOrThrow({ where: { id: reference.id } })).status).toBe(
      'retired',
    );

    const demoted = await call('POST', `/v1/models/${passing}/demote`, undefined, gw.tokens.admin);
    expect(demoted.status).toBe(200);
    expect(demoted.body).toMatchObject({
      status: 'retired',
      events: [
        { action: 'promote' },
        { action: 'demote', actor: 'test-admin', previousActiveId: reference.id },
      ],
    });
    expect((await gw.db.modelVersion.findUniqueOrThrow({ where: { id: reference.id } })).status).toBe(
      'active',
    );
    expect((await call('POST', `/v1/models/${passing}/demote`, undefined, gw.tokens.admin)).status).toBe(409);
  });

  it('refuses bad alignment requests with a problem, creating no run, job or queued flow', async () => {
    const before = { runs: await gw.db.alignmentRun.count(), jobs: await gw.db.job.count() };
    const waiting = async (): Promise<number> =>
      (await Promise.all(queues.map((q) => q.getJobCounts('wait', 'waiting-children', 'delayed')))).reduce(
        (a, c) => a + Object.values(c).reduce((x, y) => x + y, 0),
        0,
      );
    const queuedBefore = await waiting();
    const cases: [Record<string, unknown>, number, string][] = [
      [{ model: baseId, ...TINY, period: 'test' }, 400, 'period'],
      [{ model: randomUUID(), ...TINY }, 404, 'no model version'],
      [{ model: baseId, ...TINY, set: 'X' }, 400, 'set'],
      [{ model: baseId, ...TINY, beta: 0 }, 400, 'beta'],
      [{ model: baseId, ...TINY, beta: -5 }, 400, 'beta'],
      [{ model: baseId, ...TINY, background: 'model' }, 409, 'emulator backgrounds'],
    ];
    for (const [body, status, says] of cases) {
      const res = await call('POST', '/v1/alignments', body);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.type).toContain('application/problem+json');
      expect(res.body.detail).toContain(says);
    }
    expect(await gw.db.alignmentRun.count()).toBe(before.runs);
    expect(await gw.db.job.count()).toBe(before.jobs);
    expect(await waiting()).toBe(queuedBefore);
  });
});

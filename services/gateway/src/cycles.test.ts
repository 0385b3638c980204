/**
 * `/v1/cycles` over real HTTP, Redis and SQLite, without a cycle service: what each route does to the Cycle row and
 * the `cycle` queue, the refusals (each a problem+json that records nothing), and the cycle gauges of /metrics read
 * from the rows. The steps themselves are services/cycler's tests, and tests/e2e's.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueName, cycleStepJobId } from '@alignda/queue';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import { TEST_REDIS_URL, redisProblem, startGateway } from './test-harness.js';
import type { TestGateway } from './test-harness.js';

const problem = await redisProblem();
const SKIP = problem === null ? '' : ` (SKIPPED: no Redis at ${TEST_REDIS_URL}: ${problem}; set REDIS_URL)`;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  type: string | null;
}

describe.skipIf(problem !== null)(`/v1/cycles${SKIP}`, () => {
  let gw: TestGateway;
  let cycleQueue: Queue;

  const call = async (method: string, path: string, body?: unknown, token?: string): Promise<Answer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token ?? gw.tokens.submit}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${gw.base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // /metrics is text
    }
    return { status: res.status, body: parsed, text, type: res.headers.get('content-type') };
  };

  const start = async (over: Record<string, unknown> = {}): Promise<string> => {
    const res = await call('POST', '/v1/cycles', { methods: ['3dvar'], cycles: 3, ...over });
    expect(res.status, res.text).toBe(202);
    return res.body.id as string;
  };

  beforeAll(async () => {
    gw = await startGateway();
    const { connection, prefix } = gw.queue.opts;
    cycleQueue = new Queue(QueueName.cycle, { connection, ...(prefix === undefined ? {} : { prefix }) });
  }, 60_000);

  afterAll(async () => {
    await cycleQueue?.obliterate({ force: true }).catch(() => undefined);
    await cycleQueue?.close();
    await gw?.close();
  });

  it('starts a cycle: 202 with its URL, a running row with the defaults filled in, and its first step queued', async () => {
    const res = await call('POST', '/v1/cycles', { name: 'twin-a', methods: ['3dvar', 'letkf'], cycles: 5 });
    expect(res.status, res.text).toBe(202);
    const id = res.body.id as string;
    expect(res.body.url).toBe(`/v1/cycles/${id}`);
    const view = await call('GET', `/v1/cycles/${id}`, undefined, gw.tokens.read);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({
      id,
      name: 'twin-a',
      state: 'running',
      steps: 5,
      stepsDone: 0,
      series: [],
    });
    // The defaults of `alignda cycle`, stored with the request.
    expect(view.body.settings).toMatchObject({
      seed: 2,
      trainSeed: 1,
      intervalHours: 6,
      sampleSeed: 7,
      pace: 'simulated',
    });
    const job = await cycleQueue.getJob(cycleStepJobId(id, 0));
    expect(job?.data).toMatchObject({ version: 1, cycleId: id, step: 0 });
    const list = await call('GET', '/v1/cycles', undefined, gw.tokens.read);
    expect((list.body.cycles as { id: string }[]).map((c) => c.id)).toContain(id);
    // A second cycle of the same name: 409, nothing recorded.
    const again = await call('POST', '/v1/cycles', { name: 'twin-a' });
    expect(again.status).toBe(409);
    expect(await gw.db.cycle.count({ where: { name: 'twin-a' } })).toBe(1);
  });

  it('refuses bad requests with a problem+json naming the field, recording and queueing nothing', async () => {
    const before = await gw.db.cycle.count();
    const waiting = await cycleQueue.count();
    const bad: [unknown, RegExp][] = [
      [{ methods: ['kalman'] }, /methods/],
      [{ cycles: 0 }, /cycles/],
      [{ intervalHours: 5 }, /intervalHours/],
      [{ seed: 1, trainSeed: 1 }, /training run's seed/],
      [{ methods: ['dps'] }, /needs a prior/],
      [{ obsFraction: 0 }, /obsFraction/],
      [{ noise: 'NaN' }, /noise/],
      [{ extra: true }, /extra|unrecognized/i],
      [{ tuning: { inflations: [0.5] } }, /inflations/],
      ['{"methods": [', /JSON|body/i],
    ];
    for (const [body, detail] of bad) {
      const res = await call('POST', '/v1/cycles', body);
      expect(res.status, `${JSON.stringify(body)}: ${res.text}`).toBe(400);
      expect(res.type).toContain(PROBLEM_CONTENT_TYPE);
      expect(String(res.body.detail), JSON.stringify(body)).toMatch(detail);
    }
    expect((await call('POST', '/v1/cycles', {}, gw.tokens.read)).status).toBe(403);
    expect((await call('POST', '/v1/cycles', { modelVersion: randomUUID() })).status).toBe(404);
    expect(await gw.db.cycle.count()).toBe(before);
    expect(await cycleQueue.count()).toBe(waiting);
  });

  it('pauses, resumes (queueing the step after the last recorded) and stops a cycle; 404 and 409 where due', async () => {
    const id = await start();
    expect((await call('POST', `/v1/cycles/${id}/pause`)).body.state).toBe('paused');
    expect((await call('POST', `/v1/cycles/${id}/pause`)).status).toBe(200);
    // As if step 0 ran while the cycle was being paused: the resume queues step 1.
    await cycleQueue.remove(cycleStepJobId(id, 0));
    await gw.db.cycle.update({ where: { id }, data: { stats: { stepsDone: 1 } } });
    const resumed = await call('POST', `/v1/cycles/${id}/resume`);
    expect(resumed.body).toMatchObject({ state: 'running', stepsDone: 1 });
    expect(await cycleQueue.getJob(cycleStepJobId(id, 1))).toBeDefined();
    const stopped = await call('DELETE', `/v1/cycles/${id}`);
    expect(stopped.body.state).toBe('cancelled');
    expect(await cycleQueue.getJob(cycleStepJobId(id, 1))).toBeUndefined();
    expect((await call('DELETE', `/v1/cycles/${id}`)).body.state).toBe('cancelled');
    expect((await call('POST', `/v1/cycles/${id}/resume`)).status).toBe(409);
    expect((await call('POST', `/v1/cycles/${id}/pause`)).status).toBe(409);
    expect((await call('GET', `/v1/cycles/${randomUUID()}`)).status).toBe(404);
    expect((await call('GET', '/v1/cycles/not-a-uuid')).status).toBe(400);
  });

  it('starts a reanalysis as streams of the cycle service, each with its first step queued, and reads its progress', async () => {
    const res = await call('POST', '/v1/reanalyses', {
      from: 10,
      steps: 20,
      streams: 3,
      spinUp: 4,
      method: '3dvar',
    });
    expect(res.status, res.text).toBe(202);
    const id = res.body.id as string;
    const view = await call('GET', `/v1/reanalyses/${id}`, undefined, gw.tokens.read);
    expect(view.body).toMatchObject({ id, state: 'running', progress: 0, steps: 20, written: 0 });
    const streams = view.body.streams as { cycleId: string; from: number; steps: number }[];
    // 20 analyses cut 7 / 6 / 7, each stream from 4 steps before its segment.
    expect(streams.map((s) => [s.from, s.steps])).toEqual([
      [10, 11],
      [17, 10],
      [23, 11],
    ]);
    for (const s of streams) expect(await cycleQueue.getJob(cycleStepJobId(s.cycleId, 0))).toBeDefined();
    const before = await gw.db.cycle.count();
    for (const bad of [{ from: 10, steps: 0 }, { from: 10, steps: 5, seed: 1, trainSeed: 1 }, { steps: 5 }]) {
      const r = await call('POST', '/v1/reanalyses', bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
    }
    expect(await gw.db.cycle.count()).toBe(before);
    expect((await call('GET', `/v1/reanalyses/${randomUUID()}`)).status).toBe(404);
  });

  it('serves the series of the recorded steps and the cycle gauges of /metrics from the rows', async () => {
    const id = await start({ name: 'gauged', pace: 'wall-clock' });
    const method = {
      analysisRmse: 0.1,
      backgroundRmse: 0.2,
      analysisRmseByVar: [1],
      backgroundRmseByVar: [2],
      omb: { mean: 0, rms: 0.3 },
      oma: { mean: 0, rms: 0.1 },
      observations: 40,
      diverged: true,
      seconds: 0.5,
    };
    const latest = { step: 0, time: '2001-01-01T06', methods: { '3dvar': method } };
    await gw.db.cycleStep.create({
      data: {
        cycleId: id,
        stepIndex: 0,
        validTime: new Date('2001-01-01T06:00Z'),
        status: 'succeeded',
        stats: { time: latest.time, methods: latest.methods },
      },
    });
    const dueAt = new Date(Date.now() - 60_000).toISOString();
    await gw.db.cycle.update({ where: { id }, data: { stats: { stepsDone: 1, latest, dueAt } } });
    const view = await call('GET', `/v1/cycles/${id}`, undefined, gw.tokens.read);
    expect(view.body.series).toEqual([
      {
        step: 0,
        time: '2001-01-01T06',
        methods: {
          '3dvar': {
            analysisRmse: 0.1,
            backgroundRmse: 0.2,
            ombRms: 0.3,
            omaRms: 0.1,
            observations: 40,
            diverged: true,
            seconds: 0.5,
          },
        },
      },
    ]);
    expect(view.body.dueAt).toBe(dueAt);
    const metrics = await call('GET', '/metrics', undefined, gw.tokens.read);
    expect(metrics.text).toMatch(/alignda_cycle_diverged\{cycle="gauged"\} 1/);
    const lag = Number(/alignda_cycle_lag_seconds\{cycle="gauged"\} ([\d.e+]+)/.exec(metrics.text)?.[1]);
    expect(lag).toBeGreaterThanOrEqual(60);
    expect(lag).toBeLessThan(600);
  });
});

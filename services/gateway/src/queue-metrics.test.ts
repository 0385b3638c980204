import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueName } from '@alignda/queue';
import { SampleResult, sampleJobReturn } from '@alignda/rpc';
import { TEST_REDIS_URL, redisProblem, startGateway } from './test-harness.js';
import type { TestGateway } from './test-harness.js';

const problem = await redisProblem();
const SKIP =
  problem === null
    ? ''
    : ` (SKIPPED: no Redis at ${TEST_REDIS_URL}: ${problem}; set REDIS_URL or install redis-server)`;

/** The value of the series `name{labels}` in the exposition `text`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m?.[1] !== name) continue;
    const have = (m[2] ?? '').split(',');
    if (wanted.every((w) => have.includes(w))) return Number(m[3]);
  }
  return undefined;
}

describe.skipIf(problem !== null)(`the queue metrics on /metrics${SKIP}`, () => {
  let gw: TestGateway;
  let sampleQueue: Queue;
  const workers: Worker[] = [];
  const scrape = async (): Promise<string> => (await fetch(`${gw.base}/metrics`)).text();
  /** Scrapes until `until` holds (the event readers count asynchronously), or gives the last scrape. */
  async function scrapeUntil(until: (text: string) => boolean): Promise<string> {
    let text = '';
    for (let i = 0; i < 100; i++) {
      text = await scrape();
      if (until(text)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return text;
  }

  beforeAll(async () => {
    gw = await startGateway();
    const { connection, prefix } = gw.queue.opts;
    sampleQueue = new Queue(QueueName.sample, { connection, ...(prefix === undefined ? {} : { prefix }) });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await sampleQueue.obliterate({ force: true });
    await sampleQueue.close();
    await gw.close();
  });

  it('reports the depth of every queue and the age of the oldest waiting job', async () => {
    await gw.queue.add('assimilate', {}, { jobId: 'old', timestamp: Date.now() - 90_000 });
    await gw.queue.add('assimilate', {}, { jobId: 'new' });
    const text = await scrape();
    expect(sample(text, 'alignda_queue_jobs', { queue: 'assimilate', state: 'waiting' })).toBe(2);
    for (const queue of [QueueName.sample, QueueName.cycle, QueueName.train])
      expect(sample(text, 'alignda_queue_jobs', { queue, state: 'waiting' }), queue).toBe(0);
    const age = sample(text, 'alignda_queue_oldest_waiting_seconds', { queue: 'assimilate' });
    expect(age).toBeGreaterThanOrEqual(90);
    expect(age).toBeLessThan(120);
    expect(sample(text, 'alignda_queue_oldest_waiting_seconds', { queue: 'sample' })).toBe(0);
  });

  it('counts finished jobs by queue and outcome, a cancellation apart from a failure', async () => {
    const { connection, prefix } = gw.queue.opts;
    await gw.queue.add('assimilate', {}, { jobId: 'cancelled' });
    workers.push(
      new Worker(
        QueueName.assimilate,
        (job) =>
          job.id === 'old'
            ? Promise.reject(new Error('refused on purpose'))
            : job.id === 'cancelled'
              ? Promise.reject(new UnrecoverableError('CANCELLED: cancelled by the client'))
              : Promise.resolve('done'),
        { connection, ...(prefix === undefined ? {} : { prefix }) },
      ),
    );
    const text = await scrapeUntil(
      (t) =>
        sample(t, 'alignda_queue_jobs_finished_total', { queue: 'assimilate', outcome: 'completed' }) === 1 &&
        sample(t, 'alignda_queue_jobs_finished_total', { queue: 'assimilate', outcome: 'failed' }) === 1 &&
        sample(t, 'alignda_queue_jobs_finished_total', { queue: 'assimilate', outcome: 'cancelled' }) === 1,
    );
    expect(
      sample(text, 'alignda_queue_jobs_finished_total', { queue: 'assimilate', outcome: 'cancelled' }),
    ).toBe(1);
    expect(
      sample(text, 'alignda_queue_jobs_finished_total', { queue: 'assimilate', outcome: 'failed' }),
    ).toBe(1);
    expect(
      sample(text, 'alignda_queue_jobs_finished_total', { queue: 'assimilate', outcome: 'completed' }),
    ).toBe(1);
  });

  it("times the sampler's steps: a sample job's time on its replica over its predictor steps", async () => {
    const { connection, prefix } = gw.queue.opts;
    const steps = 4;
    workers.push(
      new Worker(
        QueueName.sample,
        async () => {
          await new Promise((r) => setTimeout(r, 400));
          return sampleJobReturn(SampleResult.fromPartial({ steps, executionProvider: 'cpu' }), 'test:1');
        },
        { connection, ...(prefix === undefined ? {} : { prefix }) },
      ),
    );
    await sampleQueue.add('sample', {}, { jobId: 'job-1.sample' });
    const text = await scrapeUntil(
      (t) => sample(t, 'alignda_sampler_step_seconds_count', { provider: 'cpu' }) === 1,
    );
    expect(sample(text, 'alignda_sampler_step_seconds_count', { provider: 'cpu' })).toBe(1);
    const perStep = sample(text, 'alignda_sampler_step_seconds_sum', { provider: 'cpu' }) ?? 0;
    // 400 ms over 4 steps; BullMQ's timestamps add a few ms.
    expect(perStep).toBeGreaterThanOrEqual(0.1);
    expect(perStep).toBeLessThan(0.2);
    expect(sample(text, 'alignda_queue_jobs_finished_total', { queue: 'sample', outcome: 'completed' })).toBe(
      1,
    );
  });
});

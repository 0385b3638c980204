/**
 * The sampling step over the sample queue, on a real Redis (a fresh `test-<uuid>` prefix, obliterated afterwards),
 * with an in-process BullMQ worker in the sampler's place that answers by the queue's contract (the real sampler
 * replica is tested in services/sampler and end to end in tests/e2e): result and progress come back, one sample job
 * per job step (a retried step takes the result it has), a failed one is replaced, failures keep their code, and a
 * cancelled job withdraws its waiting sample job.
 */
import { randomUUID } from 'node:crypto';

import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '@alignda/log';
import { QueueName, probeRedis } from '@alignda/queue';
import {
  GuidanceMode,
  float32FromTensor,
  parseSampleJobData,
  sampleJobId,
  sampleJobReturn,
  tensorFromFloat32,
} from '@alignda/rpc';
import type { Progress, SampleRequest } from '@alignda/rpc';

import type { CallScope } from '../ports.js';
import { sampleQueueSampler } from './sample-queue.js';
import type { SampleQueueSampler } from './sample-queue.js';

const REDIS_URL = process.env.ALIGNDA_TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisProblem = await probeRedis(REDIS_URL, 1000).then(
  () => null,
  (err: unknown) => (err instanceof Error ? err.message : String(err)),
);

const request = (seed: number, members = 2): SampleRequest => ({
  backgroundLatent: tensorFromFloat32(Float32Array.from([1, 2, 3, 4]), [1, 4]),
  observations: undefined,
  grid: undefined,
  guidance: GuidanceMode.OBSFREE,
  steps: 3,
  members,
  seed,
  modelVersion: '',
  autoencoderSha256: '',
});

const scope = (jobId: string, signal = new AbortController().signal): CallScope => ({
  jobId,
  signal,
  correlationId: `corr-${jobId}`,
});

describe.skipIf(redisProblem !== null)(
  `the sample queue adapter${redisProblem === null ? '' : ` (SKIPPED: no Redis at ${REDIS_URL}: ${redisProblem})`}`,
  () => {
    const prefix = `test-${randomUUID()}`;
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const eventsConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const workerConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const logger = createLogger({ service: 'orchestrator', level: 'silent' });
    let adapter: SampleQueueSampler;
    let worker: Worker;
    let queue: Queue;
    /** Sample job ids the fake replica has run, in order. */
    const ran: string[] = [];

    /** A replica by the contract: members x seed as the "latents", progress per step; seed 99 fails its checks. */
    const processor = async (job: Job): Promise<unknown> => {
      const { request: r } = parseSampleJobData(job.data);
      ran.push(job.id ?? '');
      if (r.seed === 99)
        throw new UnrecoverableError('INVALID_ARGUMENT: members: 0 is not an integer in [1, 64]');
      const steps = r.steps ?? 1;
      for (let k = 1; k <= steps; k++) {
        await job.updateProgress({ fraction: k / steps, stage: 'sample', message: `step ${k}/${steps}` });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const latents = Float32Array.from({ length: r.members * 4 }, (_, i) => r.seed * 1000 + i);
      return sampleJobReturn(
        {
          analysisLatents: tensorFromFloat32(latents, [r.members, 4]),
          modelVersion: 'fake',
          steps,
          corrections: 1,
          executionProvider: 'cpu',
          sampler: 'fake-replica',
        },
        'fake-replica',
      );
    };

    beforeAll(async () => {
      adapter = sampleQueueSampler({ connection, eventsConnection, prefix, logger });
      await adapter.ready();
      queue = new Queue(QueueName.sample, { connection, prefix });
      worker = new Worker(QueueName.sample, processor, {
        connection: workerConnection,
        prefix,
        autorun: false,
      });
      void worker.run();
      await worker.waitUntilReady();
    });

    afterAll(async () => {
      await worker.close();
      await adapter.close();
      await queue.obliterate({ force: true });
      await queue.close();
      for (const c of [connection, eventsConnection, workerConnection]) c.disconnect();
    });

    it("returns the replica's result and forwards its progress, under the job step's id", async () => {
      const seen: Progress[] = [];
      const result = await adapter.sampler.sample(request(7), scope('job-a'), (p) => seen.push(p));
      expect(float32FromTensor(result.analysisLatents, 'analysis_latents').data).toEqual(
        Float32Array.from({ length: 8 }, (_, i) => 7000 + i),
      );
      expect(result).toMatchObject({ modelVersion: 'fake', steps: 3 });
      expect(ran).toEqual([sampleJobId('job-a')]);
      // QueueEvents may coalesce nothing here: three progress events, the last at 1.
      await expect.poll(() => seen.at(-1)?.fraction).toBe(1);
      expect(seen.every((p) => p.stage === 'sample')).toBe(true);
    });

    it('takes the result a retried job step already has, without sampling again', async () => {
      const before = ran.length;
      const again = await adapter.sampler.sample(request(7), scope('job-a'), () => undefined);
      expect(float32FromTensor(again.analysisLatents, 'analysis_latents').data[0]).toBe(7000);
      expect(ran.length).toBe(before);
    });

    it("keeps a failure's code, and replaces a failed sample job when the step is retried", async () => {
      await expect(
        adapter.sampler.sample(request(99), scope('job-b'), () => undefined),
      ).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: 'sampler: members: 0 is not an integer in [1, 64]',
      });
      // The retry (here with a request that passes) adds a new job under the same id.
      const retried = await adapter.sampler.sample(request(8), scope('job-b'), () => undefined);
      expect(float32FromTensor(retried.analysisLatents, 'analysis_latents').data[0]).toBe(8000);
      expect(ran.filter((id) => id === sampleJobId('job-b'))).toHaveLength(2);
    });

    it('withdraws a sample job no replica has taken when its job is cancelled', async () => {
      await worker.pause(true);
      try {
        const abort = new AbortController();
        const call = adapter.sampler.sample(request(5), scope('job-c', abort.signal), () => undefined);
        await expect
          .poll(async () => (await queue.getJob(sampleJobId('job-c')))?.id)
          .toBe(sampleJobId('job-c'));
        abort.abort('cancelled by the client');
        await expect(call).rejects.toMatchObject({ code: 'CANCELLED' });
        await expect.poll(async () => queue.getJob(sampleJobId('job-c'))).toBeUndefined();
        // Already aborted: nothing is added.
        await expect(
          adapter.sampler.sample(request(5), scope('job-d', abort.signal), () => undefined),
        ).rejects.toMatchObject({ code: 'CANCELLED' });
        expect(await queue.getJob(sampleJobId('job-d'))).toBeUndefined();
      } finally {
        await worker.resume();
      }
    });
  },
);

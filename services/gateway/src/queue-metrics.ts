/**
 * The queue metrics, for the alerts of infra/prometheus: depth by state and the age of the oldest waiting job (read
 * from Redis at each scrape), and, from the queues' event streams (BullMQ QueueEvents), finished jobs by outcome and
 * the sampler's time per predictor step.
 *
 * The counters count what this gateway saw while it ran: every replica sees every event, so compare them as ratios
 * (failure rate) or quantiles (step time), or take one replica's series.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { QueueEvents } from 'bullmq';
import type { Queue } from 'bullmq';
import type { Logger } from '@alignda/log';
import { QueueName } from '@alignda/queue';
import { parseSampleJobReturn } from '@alignda/rpc';
import { withTimeout } from './time.js';

/** The queue states the depth gauge reports. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/** What the scrape-time gauges need of a BullMQ queue. */
export interface QueueCounts {
  readonly name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
  /** `getJobs(['wait'], 0, 0, true)`: the oldest waiting job. */
  getJobs(
    types: ['wait'],
    start: number,
    end: number,
    asc: boolean,
  ): Promise<readonly ({ readonly timestamp: number } | undefined)[]>;
}

/**
 * Adds the depth and oldest-waiting-age gauges of `queues` to `registry`.
 * @param timeoutMs - how long a scrape waits for Redis before reporting the last known values
 */
export function registerQueueGauges(
  registry: Registry,
  queues: readonly QueueCounts[],
  logger: Logger,
  timeoutMs: number,
): void {
  new Gauge({
    name: 'alignda_queue_jobs',
    help: 'Jobs on a BullMQ queue by state, read from Redis at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      await Promise.all(
        queues.map(async (queue) => {
          try {
            const counts = await withTimeout(queue.getJobCounts(...QUEUE_STATES), timeoutMs, 'queue depth');
            for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
          } catch (err) {
            // A scrape must still answer when Redis does not: the last values stay, the log says why.
            logger.warn({ err, queue: queue.name }, 'queue depth not read');
          }
        }),
      );
    },
  });
  new Gauge({
    name: 'alignda_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting on a BullMQ queue (0 when none waits), read from Redis at scrape time',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      await Promise.all(
        queues.map(async (queue) => {
          try {
            const [oldest] = await withTimeout(queue.getJobs(['wait'], 0, 0, true), timeoutMs, 'oldest job');
            const ageS = oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest.timestamp) / 1000);
            this.set({ queue: queue.name }, ageS);
          } catch (err) {
            logger.warn({ err, queue: queue.name }, 'oldest waiting job not read');
          }
        }),
      );
    },
  });
}

/**
 * A failed reason that is a cancellation: the workers fail a cancelled job with `CANCELLED: <why>` (the orchestrator's
 * UnrecoverableError, the sample queue's `CODE: message` reasons), which is no failure of the platform.
 */
const CANCELLED_REASON = /^CANCELLED: /;

/** The QueueEvents readers of {@link watchQueueEvents}. */
export interface QueueEventsWatch {
  close(): Promise<void>;
}

/**
 * Counts the finished jobs of `queues` by outcome and times the sampler's steps, from their event streams. Each
 * reader starts at the moment it is made (a stream id of the current time), so no event after this call is missed
 * while its blocking connection opens.
 */
export function watchQueueEvents(
  registry: Registry,
  queues: readonly Queue[],
  logger: Logger,
): QueueEventsWatch {
  const finished = new Counter({
    name: 'alignda_queue_jobs_finished_total',
    help:
      'Jobs that finished on a BullMQ queue, by outcome: completed, cancelled (by a client), or failed after their ' +
      'last attempt',
    labelNames: ['queue', 'outcome'] as const,
    registers: [registry],
  });
  const stepSeconds = new Histogram({
    name: 'alignda_sampler_step_seconds',
    help:
      "A sample job's time on its sampler replica (processedOn to finishedOn) divided by its predictor steps, " +
      'by execution provider',
    labelNames: ['provider'] as const,
    // 1 ms .. 10 s per step: a small CPU model to a large one on a busy replica.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const startId = `${Date.now()}-0`;
  const readers = queues.map((queue) => {
    const { connection, prefix } = queue.opts;
    const events = new QueueEvents(queue.name, {
      connection,
      ...(prefix === undefined ? {} : { prefix }),
      lastEventId: startId,
    });
    events.on('error', (err: unknown) => logger.warn({ err, queue: queue.name }, 'queue events error'));
    events.on('completed', () => finished.inc({ queue: queue.name, outcome: 'completed' }));
    events.on('failed', ({ failedReason }) =>
      finished.inc({
        queue: queue.name,
        outcome: CANCELLED_REASON.test(failedReason) ? 'cancelled' : 'failed',
      }),
    );
    if (queue.name === QueueName.sample)
      events.on('completed', ({ jobId, returnvalue }) => {
        observeStep(queue, jobId, returnvalue).catch((err: unknown) =>
          logger.warn({ err, jobId }, 'sampler step time not read'),
        );
      });
    return events;
  });

  /** One finished sample job's time per step. */
  async function observeStep(queue: Queue, jobId: string, returnvalue: unknown): Promise<void> {
    const job = await queue.getJob(jobId);
    if (job?.processedOn === undefined || job.finishedOn === undefined) return;
    const value: unknown = typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue;
    const { result } = parseSampleJobReturn(value);
    if (result.steps <= 0) return;
    stepSeconds.observe(
      { provider: result.executionProvider || 'unknown' },
      (job.finishedOn - job.processedOn) / 1000 / result.steps,
    );
  }

  return {
    close: async () => {
      await Promise.all(readers.map((r) => r.close()));
    },
  };
}

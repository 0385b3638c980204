/**
 * The sampling step over the `sample` BullMQ queue (issue 13, horizontal scaling): the same SampleRequest the gRPC
 * Sample rpc takes goes in as one job that any sampler replica may take (packages/rpc's sample-job.ts is the
 * contract; services/sampler's sample-worker.ts the consumer). The job's progress comes back through QueueEvents,
 * its result as the job's return value.
 *
 * One sample job per assimilation job step, under the id `sampleJobId(jobId)`: a retried assimilation job finds the
 * sample job it added before — waiting, running on some replica, or done — and waits for it (or takes its result)
 * rather than sampling twice. Only a failed one is replaced. A replica that dies mid-job is covered by BullMQ's
 * stalled-job recovery in the other replicas; when every try stalled, the failure reads as UNAVAILABLE and the
 * orchestrator retries the assimilation job.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { ConnectionOptions } from 'bullmq';
import { AppError } from '@alignda/errors';
import type { Logger } from '@alignda/log';
import { QueueName } from '@alignda/queue';
import {
  SAMPLE_JOB_NAME,
  parseSampleJobReturn,
  sampleFailure,
  sampleJobData,
  sampleJobId,
} from '@alignda/rpc';
import type { Progress } from '@alignda/rpc';

import type { ServicePorts } from '../ports.js';

/** What the queue-backed sampler is built from; the caller owns the connections. */
export interface SampleQueueDeps {
  /** For the queue (adds, reads). */
  readonly connection: ConnectionOptions;
  /** For QueueEvents, a blocking reader: a connection of its own. */
  readonly eventsConnection: ConnectionOptions;
  /** The queues' key prefix. @defaultValue BullMQ's ('bull') */
  readonly prefix?: string;
  readonly logger: Logger;
}

/** {@link ServicePorts}' sampler over the queue, and a way to close it. */
export interface SampleQueueSampler {
  readonly sampler: ServicePorts['sampler'];
  /** Resolves once the queue and its events stream are connected. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** A progress value written by a sampler replica, as a Progress message; undefined when it is not one. */
function progressOf(data: unknown): Progress | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const { fraction, stage, message } = data as Record<string, unknown>;
  if (typeof fraction !== 'number' || !Number.isFinite(fraction)) return undefined;
  return {
    fraction,
    stage: typeof stage === 'string' ? stage : 'sample',
    message: typeof message === 'string' ? message : '',
  };
}

/** Builds the queue-backed sampler. */
export function sampleQueueSampler(deps: SampleQueueDeps): SampleQueueSampler {
  const prefix = deps.prefix === undefined ? {} : { prefix: deps.prefix };
  const queue = new Queue(QueueName.sample, { connection: deps.connection, ...prefix });
  const events = new QueueEvents(QueueName.sample, { connection: deps.eventsConnection, ...prefix });
  queue.on('error', (err: unknown) => deps.logger.warn({ err }, 'sample queue error'));
  events.on('error', (err: unknown) => deps.logger.warn({ err }, 'sample queue events error'));
  /** Each waiting call's progress listener, by sample job id. */
  const listeners = new Map<string, (progress: Progress) => void>();
  events.on('progress', ({ jobId, data }) => {
    const progress = progressOf(data);
    if (progress !== undefined) listeners.get(jobId)?.(progress);
  });

  const sampler: ServicePorts['sampler'] = {
    sample: async (request, scope, onProgress) => {
      const id = sampleJobId(scope.jobId);
      const cancelled = (): AppError =>
        new AppError('CANCELLED', 'sampler: the sample job was cancelled with the job', {
          cause: scope.signal.reason,
        });
      if (scope.signal.aborted) throw cancelled();
      let job = await queue.getJob(id);
      if (job !== undefined && (await job.getState()) === 'failed') {
        await job.remove();
        job = undefined;
      }
      if (job === undefined)
        // attempts 1: a failed sample job is final for BullMQ; stalls are handled by maxStalledCount, retries of
        // the whole job step by the orchestrator.
        job = await queue.add(SAMPLE_JOB_NAME, sampleJobData(scope.jobId, scope.correlationId, request), {
          jobId: id,
          attempts: 1,
          removeOnComplete: { age: 3600 },
          removeOnFail: { age: 24 * 3600 },
        });
      else deps.logger.info({ jobId: scope.jobId, sampleJobId: id }, 'sample job found: waiting for it');
      const added = job;
      listeners.set(id, onProgress);
      let onAbort = (): void => undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = (): void => {
          // A job no replica has taken yet is withdrawn; a running one is stopped by its replica, which hears the
          // cancellation on alignda:cancel (a stopping orchestrator leaves it to finish for the job's retry).
          void added.remove().catch(() => undefined);
          reject(cancelled());
        };
        scope.signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        const value: unknown = await Promise.race([
          added.waitUntilFinished(events).catch((err: unknown) => {
            throw sampleFailure(err instanceof Error ? err.message : String(err));
          }),
          aborted,
        ]);
        return parseSampleJobReturn(value).result;
      } finally {
        scope.signal.removeEventListener('abort', onAbort);
        listeners.delete(id);
      }
    },
  };

  return {
    sampler,
    ready: async () => {
      await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    },
    close: async () => {
      await Promise.all([events.close(), queue.close()]);
    },
  };
}

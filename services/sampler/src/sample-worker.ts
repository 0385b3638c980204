/**
 * The sampler's BullMQ worker on the `sample` queue (issue 13, horizontal scaling): each replica takes one sample job
 * at a time and runs it through the same `sample` handler as the gRPC Sample rpc, on the same SampleRequest bytes
 * (packages/rpc's sample-job.ts is the contract). Starting another replica raises throughput and changes nothing in
 * the others.
 *
 * - Progress: the handler's Progress messages become `job.updateProgress` (at most every
 *   {@link PROGRESS_INTERVAL_MS}), which the orchestrator forwards to the assimilation job.
 * - A replica that dies mid-job (SIGKILL, a lost node) stops renewing the job's lock; after `lockDurationMs` BullMQ's
 *   stalled-job check in any live replica puts the job back in the queue and another one samples it from the start
 *   (same seed, same result). Past `maxStalledCount` stalls the job fails, and the orchestrator retries the
 *   assimilation job as for an unreachable service.
 * - Cancellation: `cancel(jobId)` (main.ts calls it for each id published on `alignda:cancel`) aborts the running
 *   sample at its next step; stopping the replica (SIGTERM) aborts it too, and puts it straight back in the queue.
 * - Failures: the AppError code and message are the failed reason (`CODE: message`); sampling is deterministic, so
 *   BullMQ never retries a failed sample job (the orchestrator decides).
 */
import { hostname } from 'node:os';
import { DelayedError, UnrecoverableError, Worker } from 'bullmq';
import type { ConnectionOptions, Job } from 'bullmq';
import { AppError, toAppError } from '@alignda/errors';
import type { Logger } from '@alignda/log';
import { QueueName } from '@alignda/queue';
import { parseSampleJobData, sampleFailureReason, sampleJobId, sampleJobReturn } from '@alignda/rpc';
import type { SampleJobProgress, SampleResponse, SampleResult } from '@alignda/rpc';

import { sample } from './handlers.js';
import type { SamplerHandlerDeps } from './handlers.js';

/** Least time between two progress writes of one sample job, ms. */
export const PROGRESS_INTERVAL_MS = 250;

/** Why a replica aborts the sample it runs when it stops: the job goes back to the queue. */
const SHUTDOWN = 'the sampler replica is stopping';

/** The worker's settings (ALIGNDA_SAMPLE_* in main.ts). */
export interface SampleWorkerSettings {
  /**
   * How long a sample job's lock lasts without renewal, ms: how soon another replica takes over the job of one that
   * died. @defaultValue 30000
   */
  readonly lockDurationMs?: number;
  /** How often each replica looks for stalled jobs, ms. @defaultValue lockDurationMs */
  readonly stalledIntervalMs?: number;
  /** Stalls a sample job survives before it fails. @defaultValue 2 */
  readonly maxStalledCount?: number;
}

/** What the worker is built from; the caller owns the connection. */
export interface SampleWorkerDeps {
  readonly handler: SamplerHandlerDeps;
  /** The BullMQ connection (ioredis options or an ioredis instance with `maxRetriesPerRequest: null`). */
  readonly connection: ConnectionOptions;
  /** The queues' key prefix. @defaultValue BullMQ's ('bull'), as the orchestrator's */
  readonly prefix?: string;
  readonly logger: Logger;
  readonly settings?: SampleWorkerSettings;
  /** The replica's name, recorded as the jobs' `processedBy` and in their results. @defaultValue `host:pid` */
  readonly name?: string;
}

/** A built worker, not yet taking jobs. */
export interface SampleWorker {
  readonly worker: Worker;
  /** The replica's name. */
  readonly name: string;
  /** Starts taking jobs; resolves once connected. */
  run(): Promise<void>;
  /** Aborts the sample job of assimilation job `jobId` if this replica runs it; true when it did. */
  cancel(jobId: string): boolean;
  /** Stops taking jobs; a sample still running after `graceMs` is aborted and goes back to the queue. */
  close(graceMs?: number): Promise<void>;
}

/** Builds the worker; nothing runs until `run()`. */
export function buildSampleWorker(deps: SampleWorkerDeps): SampleWorker {
  const name = deps.name ?? `${hostname()}:${process.pid}`;
  const { logger } = deps;

  const processor = async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
    let data: ReturnType<typeof parseSampleJobData>;
    try {
      data = parseSampleJobData(job.data);
    } catch (err) {
      logger.warn({ err, sampleJobId: job.id }, 'sample job refused');
      throw new UnrecoverableError(sampleFailureReason(toAppError(err)));
    }
    const log = logger.child({ jobId: data.jobId, correlationId: data.correlationId, sampleJobId: job.id });
    const abort = signal ?? new AbortController().signal;
    let result: SampleResult | undefined;
    let last = 0;
    let writes: Promise<unknown> = Promise.resolve();
    const send = (message: SampleResponse): Promise<void> => {
      const event = message.event;
      if (event?.$case === 'result') result = event.value;
      else if (event?.$case === 'progress') {
        const now = Date.now();
        if (now - last >= PROGRESS_INTERVAL_MS || event.value.fraction >= 1) {
          last = now;
          const progress: SampleJobProgress = {
            fraction: event.value.fraction,
            stage: event.value.stage,
            message: event.value.message,
          };
          // In order, never blocking the sampler; a lost write is only a stale progress bar.
          writes = writes
            .then(() => job.updateProgress({ ...progress }))
            .catch((err: unknown) => log.warn({ err }, 'progress not recorded'));
        }
      }
      return Promise.resolve();
    };
    log.info({ attempt: job.attemptsStarted, stalls: job.stalledCounter }, 'sample job started');
    try {
      await sample(deps.handler, data.request, { send, signal: abort });
      await writes;
      if (result === undefined) throw new AppError('INTERNAL', 'sample: no result was produced');
    } catch (err) {
      await writes;
      const app = toAppError(err);
      if (abort.aborted && abort.reason === SHUTDOWN) {
        log.info('sample job requeued: this replica is stopping');
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      if (app.code === 'INTERNAL') log.error({ err }, 'sample job failed');
      else log.warn({ code: app.code, message: app.message }, 'sample job failed');
      throw new UnrecoverableError(sampleFailureReason(app));
    }
    log.info('sample job done');
    return sampleJobReturn(result, name);
  };

  const lockDuration = deps.settings?.lockDurationMs ?? 30_000;
  const worker = new Worker(QueueName.sample, processor, {
    connection: deps.connection,
    ...(deps.prefix === undefined ? {} : { prefix: deps.prefix }),
    name,
    autorun: false,
    concurrency: 1,
    lockDuration,
    stalledInterval: deps.settings?.stalledIntervalMs ?? lockDuration,
    maxStalledCount: deps.settings?.maxStalledCount ?? 2,
  });
  worker.on('error', (err) => logger.warn({ err }, 'sample worker error'));

  return {
    worker,
    name,
    run: async () => {
      void worker.run().catch((err: unknown) => logger.error({ err }, 'sample worker stopped'));
      await worker.waitUntilReady();
    },
    cancel: (jobId) => worker.cancelJob(sampleJobId(jobId), 'cancelled by the client'),
    close: async (graceMs = 10_000) => {
      const closing = worker.close();
      const timer = setTimeout(() => worker.cancelAllJobs(SHUTDOWN), graceMs);
      try {
        await closing;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

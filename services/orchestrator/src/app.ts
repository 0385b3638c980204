/**
 * The orchestrator: a BullMQ worker on the `assimilate` queue that runs each job's data path (assimilation.ts) and
 * turns its outcome into the Job row's state and BullMQ's. `buildOrchestrator(deps)` builds the worker from its
 * dependencies (the five services' ports, the registry, the source and models, the blob store's root, a logger) and
 * never starts it; `main.ts` (or a test) calls `run()`.
 *
 * - Progress: each stage's fraction goes to `job.updateProgress({ fraction, stage })` (what GET reads while the job
 *   runs), the sampler's per step, at most every {@link PROGRESS_INTERVAL_MS}; stage changes also go to the row.
 * - Cancellation: `cancel(jobId)` (main.ts calls it for each id published on `alignda:cancel`) aborts the job's
 *   signal through BullMQ's `worker.cancelJob`, which cancels the gRPC call in flight; the job ends cancelled.
 * - Failures: the AppError code and message go on the row. UNAVAILABLE (a service could not be reached) is retried
 *   with a doubling delay up to `attempts` runs, the job back in the queue meanwhile; anything else fails at once
 *   (BullMQ's UnrecoverableError). INTERNAL errors show clients only the correlation id; the log has the error.
 */
import { DelayedError, UnrecoverableError, Worker } from 'bullmq';
import type { ConnectionOptions, Job } from 'bullmq';
import { toAppError } from '@alignda/errors';
import type { Logger } from '@alignda/log';
import { QueueName, parseAssimilateJobData } from '@alignda/queue';
import type { AssimilateJobData } from '@alignda/queue';

import { STAGES, runAssimilation } from './assimilation.js';
import type { AssimilationDeps, Stage } from './assimilation.js';
import { markCancelled, markFailed, markRetrying, markStage } from './job-record.js';

/** The Redis channel on which the gateway publishes the id of a running job a client cancelled. */
export { CANCEL_CHANNEL } from '@alignda/queue';

/** Least time between two progress writes of one job, ms: a 4096-step sampler must not write 4096 times. */
export const PROGRESS_INTERVAL_MS = 250;

/** The abort reasons the orchestrator gives; anything else aborting a job is a cancellation too. */
export const ABORT_REASON = {
  /** The client cancelled the job (DELETE /v1/assimilations/:id). */
  client: 'cancelled by the client',
  /** The orchestrator is stopping: the job goes back to the queue for another worker. */
  shutdown: 'the orchestrator is stopping',
} as const;

/** The worker's settings. */
export interface OrchestratorSettings {
  /** Jobs one process runs at once. @defaultValue 1: the sampler is the bottleneck; scale with replicas */
  readonly concurrency?: number;
  /**
   * Runs of a job before an UNAVAILABLE failure is final; also how many times a job may be left behind by a worker
   * that died (BullMQ's `maxStalledCount`: a killed orchestrator's job goes back to the queue that many times, then
   * fails UNAVAILABLE). @defaultValue 5 (retries after 2, 4, 8 and 16 s with the default delay: time for a restarted
   * service to load its models)
   */
  readonly attempts?: number;
  /** Delay before the first retry, ms; doubled for each further one. @defaultValue 2000 */
  readonly retryDelayMs?: number;
  /**
   * How long a job's lock lasts without renewal, ms (the worker renews it while the job runs; a worker that dies
   * leaves the job to another one after this). @defaultValue 60000
   */
  readonly lockDurationMs?: number;
}

/** Everything {@link buildOrchestrator} is built from; the caller owns them and closes them. */
export interface OrchestratorDeps extends AssimilationDeps {
  /** The BullMQ connection (ioredis options or an ioredis instance with `maxRetriesPerRequest: null`). */
  readonly connection: ConnectionOptions;
  /** The queues' key prefix. @defaultValue BullMQ's ('bull'), as the gateway's queue */
  readonly prefix?: string;
  readonly logger: Logger;
  readonly settings?: OrchestratorSettings;
}

/** A built orchestrator, not yet running. */
export interface Orchestrator {
  readonly worker: Worker;
  /** Starts taking jobs; resolves once the worker is connected. */
  run(): Promise<void>;
  /** Aborts the job `jobId` if this process runs it; true when it did. */
  cancel(jobId: string, reason?: string): boolean;
  /**
   * Stops taking jobs, lets the running ones finish for up to `graceMs`, then aborts them (they go back to the
   * queue) and closes the worker.
   */
  close(graceMs?: number): Promise<void>;
}

/** The job's payload; one that cannot be read fails the job at once (UnrecoverableError), its row too when known. */
async function jobData(job: Job, db: OrchestratorDeps['db']): Promise<AssimilateJobData> {
  try {
    return parseAssimilateJobData(job.data);
  } catch (err) {
    const app = toAppError(err);
    const jobId = app.details?.jobId;
    if (typeof jobId === 'string') await markFailed(db, jobId, app.code, app.message);
    throw new UnrecoverableError(`${app.code}: ${app.message}`);
  }
}

/** The overall fraction at `fraction` of `stage`. */
function overall(stage: Stage, fraction: number): number {
  let before = 0;
  for (const [name, share] of Object.entries(STAGES)) {
    if (name === stage) return Math.min(1, before + share * Math.min(1, Math.max(0, fraction)));
    before += share;
  }
  return before;
}

/** Builds the worker; nothing runs until `run()`. */
export function buildOrchestrator(deps: OrchestratorDeps): Orchestrator {
  const attempts = deps.settings?.attempts ?? 5;
  const retryDelayMs = deps.settings?.retryDelayMs ?? 2000;
  const { db, logger } = deps;

  const processor = async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const data = await jobData(job, db);
    const log = logger.child({ jobId: data.jobId, correlationId: data.correlationId });
    const abort = signal ?? new AbortController().signal;
    let last = { stage: '', at: 0 };
    let writes: Promise<unknown> = Promise.resolve();
    const onProgress = (stage: Stage, fraction: number): void => {
      const now = Date.now();
      const changed = stage !== last.stage;
      if (!changed && now - last.at < PROGRESS_INTERVAL_MS && fraction < 1) return;
      last = { stage, at: now };
      const value = { fraction: overall(stage, fraction), stage };
      // In order, never blocking the data path; a lost progress write is only a stale progress bar.
      writes = writes
        .then(() => job.updateProgress(value))
        .then(() => (changed ? markStage(db, data.jobId, stage, value.fraction) : undefined))
        .catch((err: unknown) => log.warn({ err }, 'progress not recorded'));
    };
    try {
      const summary = await runAssimilation(deps, { ...data, signal: abort, log, onProgress });
      await writes;
      if (summary === undefined) {
        log.info('job not run: it was cancelled');
        return { cancelled: true };
      }
      log.info({ timings: summary.timings, analysisId: summary.analysisId }, 'job succeeded');
      return { analysisId: summary.analysisId };
    } catch (err) {
      await writes;
      const app = toAppError(err);
      if (abort.aborted && abort.reason === ABORT_REASON.shutdown) {
        await markRetrying(db, data.jobId, 'requeued: the orchestrator stopped');
        log.info('job requeued: the orchestrator is stopping');
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      if (abort.aborted || app.code === 'CANCELLED') {
        await markCancelled(db, data.jobId, ABORT_REASON.client);
        log.info({ reason: String(abort.reason ?? app.message) }, 'job cancelled');
        throw new UnrecoverableError(`CANCELLED: ${ABORT_REASON.client}`);
      }
      if (app.code === 'UNAVAILABLE' && job.attemptsStarted < attempts) {
        const delayMs = retryDelayMs * 2 ** (job.attemptsStarted - 1);
        await markRetrying(
          db,
          data.jobId,
          `retry ${job.attemptsStarted}/${attempts - 1} in ${delayMs} ms: ${app.message}`,
        );
        log.warn(
          { err: app, attempt: job.attemptsStarted, delayMs },
          'service unavailable: job will be retried',
        );
        await job.moveToDelayed(Date.now() + delayMs, token);
        throw new DelayedError();
      }
      const internal = app.code === 'INTERNAL' || app.code === 'CONFIG_INVALID';
      const message = internal ? `internal error (correlation id ${data.correlationId})` : app.message;
      await markFailed(db, data.jobId, app.code, message);
      if (internal) log.error({ err }, 'job failed');
      else log.warn({ code: app.code, message }, 'job failed');
      throw new UnrecoverableError(`${app.code}: ${message}`);
    }
  };

  const worker = new Worker(QueueName.assimilate, processor, {
    connection: deps.connection,
    ...(deps.prefix === undefined ? {} : { prefix: deps.prefix }),
    autorun: false,
    concurrency: deps.settings?.concurrency ?? 1,
    lockDuration: deps.settings?.lockDurationMs ?? 60_000,
    // A killed worker's job is looked for at least once a lock time (BullMQ's default is every 30 s).
    stalledInterval: Math.min(30_000, deps.settings?.lockDurationMs ?? 60_000),
    // BullMQ's default (1) fails a job whose worker died twice, even though a rerun is harmless (same seed, same result).
    maxStalledCount: attempts,
    // The Job row is the record; BullMQ keeps finished jobs a while for the queue board only.
    removeOnComplete: { age: 24 * 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
  });
  worker.on('error', (err) => logger.warn({ err }, 'worker error'));
  // A job BullMQ fails without running it (left behind by dead workers more than maxStalledCount times) must not stay
  // queued or running in its row for ever: nothing would finish it. A row the processor has finished is left as it is.
  worker.on('failed', (job, err) => {
    if (
      job === undefined ||
      !(err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1))
    )
      return;
    const id =
      typeof job.data === 'object' && job.data !== null ? (job.data as { jobId?: unknown }).jobId : undefined;
    if (typeof id !== 'string') return;
    markFailed(db, id, 'UNAVAILABLE', `the queue gave the job up: ${err.message}`).catch((e: unknown) =>
      logger.warn({ err: e, jobId: id }, 'failure not recorded'),
    );
  });

  return {
    worker,
    run: async () => {
      void worker.run().catch((err: unknown) => logger.error({ err }, 'worker stopped'));
      await worker.waitUntilReady();
    },
    cancel: (jobId, reason = ABORT_REASON.client) => worker.cancelJob(jobId, reason),
    close: async (graceMs = 10_000) => {
      const closing = worker.close();
      const timer = setTimeout(() => worker.cancelAllJobs(ABORT_REASON.shutdown), graceMs);
      try {
        await closing;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * The cycle service: a BullMQ worker on the `cycle` queue, one job per step (step.ts), and a reconciler. The
 * database and the state store are the source of truth, not the queue: `reconcile()` (run at start) queues the next
 * step of every running cycle whose step the queue has lost (a Redis restarted without its data, a queue emptied by
 * hand); a step already queued is not queued twice (its job id is the step's).
 *
 * - A pipeline error (bad settings, no models, every method diverged) fails the step and the cycle with its code.
 * - A database or Redis error lets BullMQ retry the step (`attempts`, doubling delay); the step is idempotent.
 * - A worker killed mid-step leaves the job to stalled-job recovery: another replica (or this one restarted) runs it
 *   again from the state kept after the previous step.
 */
import { UnrecoverableError, Worker } from 'bullmq';
import type { ConnectionOptions, Job } from 'bullmq';
import { toAppError } from '@alignda/errors';
import type { Logger } from '@alignda/log';
import { QueueName, parseCycleJobData } from '@alignda/queue';

import { failCycle, runCycleStep, settleReanalysis } from './step.js';
import type { CycleStepDeps } from './step.js';

/** Least time between two progress writes of one step, ms. */
export const PROGRESS_INTERVAL_MS = 500;

/** The worker's settings. */
export interface CyclerSettings {
  /** Steps one process runs at once. @defaultValue 1 (a step is CPU-bound; scale with replicas) */
  readonly concurrency?: number;
  /**
   * Runs of a step before an infrastructure failure is final; also how many times a step may be left behind by a
   * worker that died (BullMQ's `maxStalledCount`; past it the step and its cycle fail UNAVAILABLE). @defaultValue 5
   */
  readonly attempts?: number;
  /**
   * How long a step's lock lasts without renewal, ms: a worker that dies leaves its step to another after this.
   * @defaultValue 60000
   */
  readonly lockDurationMs?: number;
}

/** Everything {@link buildCycler} is built from; the caller owns them and closes them. */
export interface CyclerDeps extends Omit<CycleStepDeps, 'onProgress'> {
  readonly connection: ConnectionOptions;
  /** The queues' key prefix. @defaultValue BullMQ's ('bull') */
  readonly prefix?: string;
  readonly logger: Logger;
  readonly settings?: CyclerSettings;
}

/** A built cycle service, not yet running. */
export interface Cycler {
  readonly worker: Worker;
  /** Starts taking steps; resolves once the worker is connected. */
  run(): Promise<void>;
  /**
   * Queues the next step of every running cycle (a no-op where it is queued already) and settles reanalyses whose
   * streams all ended; returns how many cycles it looked at. Logged unless `quiet` (the periodic runs).
   */
  reconcile(quiet?: boolean): Promise<number>;
  /** Stops taking steps and waits up to `graceMs` for the running one; past that it is left to another replica. */
  close(graceMs?: number): Promise<void>;
}

/** Builds the worker; nothing runs until `run()`. */
export function buildCycler(deps: CyclerDeps): Cycler {
  const { db, logger } = deps;
  const attempts = deps.settings?.attempts ?? 5;

  const processor = async (job: Job): Promise<unknown> => {
    let data;
    try {
      data = parseCycleJobData(job.data);
    } catch (err) {
      const app = toAppError(err);
      const cycleId = app.details?.cycleId;
      if (typeof cycleId === 'string') await failCycle(db, cycleId, -1, app.code, app.message);
      throw new UnrecoverableError(`${app.code}: ${app.message}`);
    }
    const log = logger.child({ cycleId: data.cycleId, step: data.step, correlationId: data.correlationId });
    let last = 0;
    const onProgress = (stage: string, fraction: number): void => {
      const now = Date.now();
      if (now - last < PROGRESS_INTERVAL_MS && fraction < 1) return;
      last = now;
      job
        .updateProgress({ stage, fraction })
        .catch((err: unknown) => log.warn({ err }, 'progress not recorded'));
    };
    try {
      const outcome = await runCycleStep(
        { ...deps, logger: log, onProgress },
        data.cycleId,
        data.step,
        data.correlationId,
      );
      return { outcome };
    } catch (err) {
      const app = toAppError(err);
      // The pipeline's own refusals are final; the database or Redis going away is retried by BullMQ.
      const retry = (app.code === 'UNAVAILABLE' || app.code === 'INTERNAL') && job.attemptsStarted < attempts;
      if (retry) {
        log.warn({ err: app, attempt: job.attemptsStarted }, 'cycle step failed: it will be retried');
        throw err;
      }
      await failCycle(db, data.cycleId, data.step, app.code, app.message);
      if (app.code === 'INTERNAL') log.error({ err }, 'cycle failed');
      else log.warn({ code: app.code, message: app.message }, 'cycle failed');
      throw new UnrecoverableError(`${app.code}: ${app.message}`);
    }
  };

  const worker = new Worker(QueueName.cycle, processor, {
    connection: deps.connection,
    ...(deps.prefix === undefined ? {} : { prefix: deps.prefix }),
    autorun: false,
    concurrency: deps.settings?.concurrency ?? 1,
    lockDuration: deps.settings?.lockDurationMs ?? 60_000,
    // A killed worker's step is looked for at least once a lock time (BullMQ's default is every 30 s).
    stalledInterval: Math.min(30_000, deps.settings?.lockDurationMs ?? 60_000),
    // The CycleStep rows are the record; a finished step's job id must be free again (a step skipped while its
    // cycle was paused is queued again by the resume).
    removeOnComplete: { count: 0 },
    removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
    // BullMQ's default (1) fails a step whose worker died twice, though a rerun of a step is harmless (its state is kept).
    maxStalledCount: attempts,
  });
  worker.on('error', (err) => logger.warn({ err }, 'worker error'));
  // A step BullMQ fails without running it (left behind by dead workers more than maxStalledCount times) fails its
  // cycle: left running, the cycle would wait for ever for a step no queue holds. The processor's own failures have
  // failed the cycle already.
  worker.on('failed', (job, err) => {
    if (
      job === undefined ||
      !(err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1))
    )
      return;
    let data;
    try {
      data = parseCycleJobData(job.data);
    } catch {
      return; // a payload the processor refused: it failed the cycle itself
    }
    const { cycleId, step } = data;
    db.cycle
      .findUnique({ where: { id: cycleId }, select: { status: true } })
      .then(async (row) => {
        if (row?.status !== 'running' && row?.status !== 'paused') return;
        await failCycle(db, cycleId, step, 'UNAVAILABLE', `the queue gave step ${step} up: ${err.message}`);
        logger.warn({ cycleId, step, reason: err.message }, 'cycle failed: the queue gave its step up');
      })
      .catch((e: unknown) => logger.warn({ err: e, cycleId }, 'failure not recorded'));
  });

  return {
    worker,
    run: async () => {
      void worker.run().catch((err: unknown) => logger.error({ err }, 'worker stopped'));
      await worker.waitUntilReady();
    },
    reconcile: async (quiet = false) => {
      const running = await db.cycle.findMany({
        where: { status: 'running' },
        select: { id: true, settings: true, stats: true },
      });
      let queued = 0;
      for (const c of running) {
        const done = await db.cycleStep.count({ where: { cycleId: c.id, status: 'succeeded' } });
        const total = (c.settings as { cycles?: unknown }).cycles;
        if (typeof total === 'number' && done >= total) continue;
        // A wall-clock cycle's next step keeps its due time.
        const dueAt = (c.stats as { dueAt?: unknown } | null)?.dueAt;
        const due = typeof dueAt === 'string' ? Date.parse(dueAt) : Number.NaN;
        await deps.enqueue(
          c.id,
          done,
          `reconcile-${c.id}`,
          Number.isFinite(due) ? Math.max(0, due - Date.now()) : 0,
        );
        queued++;
      }
      if (queued > 0 && !quiet)
        logger.info({ cycles: queued }, 'reconciled: next steps of running cycles queued');
      // Reanalyses whose streams all ended while nobody settled them (a worker killed in between).
      const reanalyses = await db.job.findMany({
        where: { kind: 'reanalysis', status: 'running' },
        select: { id: true },
      });
      for (const r of reanalyses) await settleReanalysis(db, r.id);
      return queued;
    },
    close: async (graceMs = 10_000) => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        worker.close(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
      // A step still running is left to stalled-job recovery: closing without waiting hands it on.
      await worker.close(true).catch(() => undefined);
    },
  };
}

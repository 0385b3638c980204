/**
 * The trainer service: BullMQ workers on the alignment flow's queues (packages/queue `alignFlow`). The `train` queue
 * carries Diffusion-DPO (one job per GPU: concurrency 1 by default); the `align` queue carries the stages around it
 * (candidates and pairs; the gate and the candidate's registration). The AlignmentRun row holds the settings and the
 * outcome; the run's folder holds the preference set and the DPO checkpoint, so every stage can run again.
 *
 * - A pipeline refusal (bad settings, no alignment period, a checkpoint of another run) fails the run with its code;
 *   BullMQ fails the flow's parent with it (`failParentOnFailure`).
 * - UNAVAILABLE or INTERNAL (the database, Redis, the trainer stopping) is retried by BullMQ (`attempts`, doubling
 *   delay); DPO resumes from its checkpoint.
 * - A trainer killed mid-stage leaves the job to stalled-job recovery: another replica (or this one restarted) runs
 *   the stage again; DPO resumes from the last checkpoint (every `checkpointEvery` steps).
 */
import { UnrecoverableError, Worker } from 'bullmq';
import type { ConnectionOptions, Job, Processor } from 'bullmq';
import type { Db } from '@alignda/db';
import { toAppError } from '@alignda/errors';
import type { Logger } from '@alignda/log';
import { AlignStage, QueueName, parseAlignJobData } from '@alignda/queue';

import { failRun, runEvaluateStage, runPreferencesStage, runTrainStage } from './stages.js';
import type { AlignmentInputs, StageDeps } from './stages.js';

/** Least time between two progress writes of one job, ms. */
export const PROGRESS_INTERVAL_MS = 500;

/** The share of the whole flow each stage ends at: GET /v1/alignments/:id shows one fraction. */
const STAGE_SPAN: Readonly<Record<string, readonly [number, number]>> = {
  [AlignStage.preferences]: [0, 0.4],
  [AlignStage.train]: [0.4, 0.85],
  [AlignStage.evaluate]: [0.85, 1],
};

/** The workers' settings. */
export interface TrainerSettings {
  /** Jobs one process runs at once on each queue: one per GPU. @defaultValue 1 */
  readonly concurrency?: number;
  /**
   * Runs of a stage before an infrastructure failure is final; also how many times a stage may be left behind by a
   * trainer that died (BullMQ's `maxStalledCount`; past it the run fails UNAVAILABLE). @defaultValue 3
   */
  readonly attempts?: number;
  /**
   * How long a job's lock lasts without renewal, ms: a trainer that dies leaves its job to another after this.
   * @defaultValue 60000
   */
  readonly lockDurationMs?: number;
}

/** Everything {@link buildTrainer} is built from; the caller owns them and closes them. */
export interface TrainerDeps {
  readonly db: Db;
  readonly connection: ConnectionOptions;
  /** The queues' key prefix. @defaultValue BullMQ's ('bull') */
  readonly prefix?: string;
  readonly logger: Logger;
  /** ALIGNDA_HOME. */
  readonly homeDir: string;
  /** Opens a model folder's models and source (cache them: every stage asks). */
  readonly inputs: (modelDir: string) => Promise<AlignmentInputs>;
  /** Which queues this replica consumes. @defaultValue both (`align` and `train`) */
  readonly queues?: readonly ('align' | 'train')[];
  readonly settings?: TrainerSettings;
}

/** A built trainer, not yet running. */
export interface Trainer {
  readonly workers: readonly Worker[];
  /** Starts taking jobs; resolves once the workers are connected. */
  run(): Promise<void>;
  /**
   * Stops taking jobs and waits up to `graceMs` for the running ones; then DPO is told to stop (it writes its
   * checkpoint) and the job goes back to the queue, resumed by the next trainer.
   */
  close(graceMs?: number): Promise<void>;
}

/** Builds the workers; nothing runs until `run()`. */
export function buildTrainer(deps: TrainerDeps): Trainer {
  const { db, logger } = deps;
  const attempts = deps.settings?.attempts ?? 3;
  const stopping = new AbortController();

  const processor: Processor = async (job: Job): Promise<unknown> => {
    let data;
    try {
      data = parseAlignJobData(job.data);
    } catch (err) {
      const app = toAppError(err);
      const runId = app.details?.runId;
      if (typeof runId === 'string') await failRun(db, runId, app.code, app.message);
      throw new UnrecoverableError(`${app.code}: ${app.message}`);
    }
    const log = logger.child({ runId: data.runId, stage: job.name, correlationId: data.correlationId });
    const [from, to] = STAGE_SPAN[job.name] ?? [0, 1];
    let last = 0;
    const onProgress = (label: string, fraction: number, detail: Record<string, unknown> = {}): void => {
      const now = Date.now();
      if (now - last < PROGRESS_INTERVAL_MS && fraction < 1) return;
      last = now;
      const overall = from + (to - from) * Math.min(1, Math.max(0, fraction));
      job
        .updateProgress({ stage: job.name, label, fraction: overall, ...detail })
        .catch((err: unknown) => log.warn({ err }, 'progress not sent'));
      db.job
        .updateMany({
          where: { id: data.runId, status: 'running' },
          data: { stage: `${job.name}: ${label}`, progress: overall },
        })
        .catch((err: unknown) => log.warn({ err }, 'progress not recorded'));
    };
    const stageDeps: StageDeps = {
      db,
      homeDir: deps.homeDir,
      inputs: deps.inputs,
      onProgress,
      signal: stopping.signal,
    };
    try {
      log.info('stage started');
      const out =
        job.name === AlignStage.preferences
          ? await runPreferencesStage(stageDeps, data.runId)
          : job.name === AlignStage.train
            ? await runTrainStage(stageDeps, data.runId)
            : job.name === AlignStage.evaluate
              ? await runEvaluateStage(stageDeps, data.runId)
              : undefined;
      if (out === undefined)
        throw new UnrecoverableError(`INVALID_ARGUMENT: no alignment stage '${job.name}'`);
      log.info({ out }, 'stage done');
      return out;
    } catch (err) {
      if (err instanceof UnrecoverableError) throw err;
      const app = toAppError(err);
      const retry = (app.code === 'UNAVAILABLE' || app.code === 'INTERNAL') && job.attemptsStarted < attempts;
      if (retry) {
        log.warn({ err: app, attempt: job.attemptsStarted }, 'alignment stage failed: it will be retried');
        throw err;
      }
      await failRun(db, data.runId, app.code, app.message);
      if (app.code === 'INTERNAL') log.error({ err }, 'alignment failed');
      else log.warn({ code: app.code, message: app.message }, 'alignment failed');
      throw new UnrecoverableError(`${app.code}: ${app.message}`);
    }
  };

  const lockDuration = deps.settings?.lockDurationMs ?? 60_000;
  const worker = (queue: 'align' | 'train'): Worker => {
    const w = new Worker(QueueName[queue], processor, {
      connection: deps.connection,
      ...(deps.prefix === undefined ? {} : { prefix: deps.prefix }),
      autorun: false,
      concurrency: deps.settings?.concurrency ?? 1,
      lockDuration,
      stalledInterval: Math.min(30_000, lockDuration),
      // BullMQ's default (1) fails a stage whose trainer died twice, though a rerun resumes from the checkpoint.
      maxStalledCount: attempts,
      removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
    });
    w.on('error', (err) => logger.warn({ err, queue }, 'worker error'));
    // A stage BullMQ fails without running it (left behind by dead trainers past maxStalledCount) fails its run: left
    // running, the run would wait for ever. The processor's own final failures have failed the run already.
    w.on('failed', (job, err) => {
      if (
        job === undefined ||
        !(err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1))
      )
        return;
      let runId: string;
      try {
        runId = parseAlignJobData(job.data).runId;
      } catch {
        return; // a payload the processor refused: it failed the run itself
      }
      failRun(db, runId, 'UNAVAILABLE', `the queue gave the ${job.name} stage up: ${err.message}`).catch(
        (e: unknown) => logger.warn({ err: e, runId }, 'failure not recorded'),
      );
    });
    return w;
  };
  const workers = (deps.queues ?? ['align', 'train']).map(worker);

  return {
    workers,
    run: async () => {
      for (const w of workers) void w.run().catch((err: unknown) => logger.error({ err }, 'worker stopped'));
      await Promise.all(workers.map((w) => w.waitUntilReady()));
    },
    close: async (graceMs = 10_000) => {
      let timer: NodeJS.Timeout | undefined;
      const closing = Promise.all(workers.map((w) => w.close()));
      await Promise.race([
        closing,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
      // DPO stops after its step and writes its checkpoint; the job fails UNAVAILABLE and is retried.
      stopping.abort();
      await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
    },
  };
}

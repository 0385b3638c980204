/**
 * One step of a continuous cycle, readable top to bottom: read the Cycle row (a paused, cancelled or finished cycle
 * runs nothing), skip a step already recorded, mark it running, open the nature runs (and models), run the cycle
 * pipeline up to this step from the state kept after the last one, record the step's statistics (one CycleStep row
 * per step: a unique key), and queue the next step — at once for simulated time, one interval later on the
 * wall clock.
 *
 * The pipeline keeps its state after every step (`runCycle` with `resume`): a process killed anywhere in a step
 * leaves either the state before it (the step runs again, with the same seeds, to the same numbers) or the state
 * after it (the retry finds the step done in the state and only records it). Either way the series is the one an
 * uninterrupted `alignda cycle` gives, and no step is lost or recorded twice.
 */
import { AppError } from '@alignda/errors';
import { currentOfLine } from '@alignda/db';
import type { Db } from '@alignda/db';
import type { Logger } from '@alignda/log';
import type { LatentModels } from '@alignda/nn';
import path from 'node:path';

import {
  LATENT_CYCLE_METHODS,
  carriedAnalysis,
  cycleOptionsOf,
  parseCycleRequest,
  runCycle,
} from '@alignda/pipelines';
import type { CycleRecord, CycleRequest, CycleStore, SkillRecord } from '@alignda/pipelines';
import { denormalise } from '@alignda/tensor';
import { parseIsoUtc, sourceStepHours } from '@alignda/world';
import type { DaSource, ZarrTimeStoreSpec } from '@alignda/world';

/** What a step runs on, opened (and cached) by the service's adapters. */
export interface CycleInputs {
  readonly source: DaSource;
  readonly training: DaSource;
  readonly models?: LatentModels;
  readonly priorBackground?: string;
}

/** The ports of {@link runCycleStep}. */
export interface CycleStepDeps {
  readonly db: Db;
  /** Queues step `step` of the cycle (a no-op when it is queued already) after `delayMs`. */
  enqueue(cycleId: string, step: number, correlationId: string, delayMs: number): Promise<void>;
  /** The nature runs and models of a cycle's settings (the models of `modelFolder` when given). */
  inputs(settings: CycleRequest, modelFolder?: string): Promise<CycleInputs>;
  /** ALIGNDA_HOME: model versions' folders are relative to it. */
  readonly homeDir?: string;
  /** Where the pipeline keeps a cycle's state. */
  store(cycleId: string): CycleStore;
  /**
   * Writes time index `t` of reanalysis `id`'s store (physical units, [C, H, W]), creating the store as `spec` says
   * when it is not there yet; for reanalysis streams.
   */
  writeAnalysis?(reanalysisId: string, spec: ZarrTimeStoreSpec, t: number, field: Float32Array): void;
  readonly logger: Logger;
  /** Progress of the step's pipeline (the first step fits and tunes every method: minutes). */
  readonly onProgress?: (stage: string, fraction: number) => void;
}

/** What one step recorded, per method (its CycleStep row's `stats`). */
export interface StepStats {
  readonly time: string;
  readonly methods: Readonly<Record<string, Omit<CycleRecord, 'cycle' | 'stateIndex' | 'time'>>>;
  /** The lead-time forecasts, on the steps that make them. */
  readonly skill?: SkillRecord;
  /** The model version the step's latent methods or emulator used (the line's active one then). */
  readonly modelVersionId?: string;
}

/** What a cycle's row keeps in `stats`: the progress of the series and the latest step. */
export interface CycleStats {
  readonly stepsDone: number;
  readonly latest?: StepStats & { readonly step: number };
  /** When the next step is due (wall-clock cycles). */
  readonly dueAt?: string;
  /** Why the cycle failed. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** How a step ended. */
export type StepOutcome = 'ran' | 'recorded-before' | 'skipped';

/** An object as a row stores it: NaN and infinities become null. */
const jsonValue = (value: object): object => JSON.parse(JSON.stringify(value)) as object;

/**
 * Runs step `step` of cycle `cycleId`; see the module comment.
 * @throws AppError from the pipeline (the caller fails the cycle) or the database (the caller lets BullMQ retry)
 */
export async function runCycleStep(
  deps: CycleStepDeps,
  cycleId: string,
  step: number,
  correlationId: string,
): Promise<StepOutcome> {
  const { db, logger } = deps;
  const row = await db.cycle.findUnique({ where: { id: cycleId } });
  if (row === null || row.status !== 'running') {
    logger.info({ cycleId, step, status: row?.status ?? 'deleted' }, 'cycle not running: step skipped');
    // A reanalysis stream whose worker died between its last step and settling the run: settle it now.
    const reanalysisId = (row?.settings as { reanalysis?: { id?: unknown } } | undefined)?.reanalysis?.id;
    if (row?.status === 'succeeded' && typeof reanalysisId === 'string')
      await settleReanalysis(db, reanalysisId);
    return 'skipped';
  }
  const settings = parseCycleRequest(row.settings);
  if (step >= settings.cycles) return 'skipped';
  const done = await db.cycleStep.findUnique({ where: { cycleId_stepIndex: { cycleId, stepIndex: step } } });
  if (done?.status === 'succeeded') {
    // A worker died after recording the step: queue the next step it had left to queue.
    await next(deps, row.id, settings, step, correlationId);
    return 'recorded-before';
  }
  await db.cycleStep.upsert({
    where: { cycleId_stepIndex: { cycleId, stepIndex: step } },
    create: {
      cycleId,
      stepIndex: step,
      validTime: row.nextValidTime,
      status: 'running',
      startedAt: new Date(),
    },
    update: { status: 'running', startedAt: new Date(), errorCode: null, errorMessage: null },
  });

  // The line's active version at this step: a promotion since the last step is picked up here.
  const version = await modelVersionOf(deps, settings);
  const { source, training, models, priorBackground } = await deps.inputs(settings, version?.folder);
  const result = await runCycle(
    source,
    {
      ...cycleOptionsOf(settings),
      cycles: step + 1,
      resume: true,
      ...(deps.onProgress === undefined ? {} : { onProgress: deps.onProgress }),
    },
    {
      training,
      store: deps.store(cycleId),
      ...(models === undefined ? {} : { models }),
      ...(priorBackground === undefined ? {} : { priorBackground }),
    },
  );

  const methods: Record<string, StepStats['methods'][string]> = {};
  let time = '';
  for (const m of settings.methods) {
    const r = result.series[m]?.[step];
    if (r === undefined) continue; // a method that stopped (non-finite state) records no further steps
    const { cycle: _c, stateIndex: _i, time: t, ...rest } = r;
    methods[m] = rest;
    time = t;
  }
  if (time === '')
    throw new AppError(
      'FAILED_PRECONDITION',
      `cycle ${cycleId}: every method has stopped (non-finite states)`,
    );
  const skill = result.skill.records.find((s) => s.cycle === step);
  const stats: StepStats = {
    time,
    methods,
    ...(skill === undefined ? {} : { skill }),
    ...(version === undefined ? {} : { modelVersionId: version.id }),
  };
  await keepAnalysis(deps, cycleId, settings, result.series[settings.methods[0] ?? '']?.[step], source);
  const validMs = parseIsoUtc(time);
  const validTime = Number.isFinite(validMs) ? new Date(validMs) : row.nextValidTime;
  const last = step + 1 === settings.cycles;
  const delayMs = settings.pace === 'wall-clock' && !last ? settings.intervalHours * 3_600_000 : 0;
  const cycleStats: CycleStats = {
    stepsDone: step + 1,
    latest: { step, ...stats },
    ...(delayMs > 0 ? { dueAt: new Date(Date.now() + delayMs).toISOString() } : {}),
  };
  await db.$transaction([
    db.cycleStep.update({
      where: { cycleId_stepIndex: { cycleId, stepIndex: step } },
      data: { status: 'succeeded', validTime, stats: jsonValue(stats), finishedAt: new Date() },
    }),
    db.cycle.updateMany({
      where: { id: cycleId },
      data: {
        stats: jsonValue(cycleStats),
        nextValidTime: new Date(validTime.getTime() + settings.intervalHours * 3_600_000),
      },
    }),
    ...(last
      ? [db.cycle.updateMany({ where: { id: cycleId, status: 'running' }, data: { status: 'succeeded' } })]
      : []),
  ]);
  logger.info(
    {
      cycleId,
      step,
      time,
      analysisRmse: Object.fromEntries(Object.entries(methods).map(([m, s]) => [m, s.analysisRmse])),
    },
    'cycle step recorded',
  );
  if (!last) await next(deps, cycleId, settings, step, correlationId, delayMs);
  else if (settings.reanalysis !== undefined) await settleReanalysis(db, settings.reanalysis.id);
  return 'ran';
}

/**
 * The model version a step uses: none unless the cycle names one and a latent method or the emulator needs models;
 * else the active version of its line now, with its folder (absolute).
 * @throws AppError NOT_FOUND for a version that no longer exists, FAILED_PRECONDITION for one with no folder
 */
async function modelVersionOf(
  deps: CycleStepDeps,
  settings: CycleRequest,
): Promise<{ readonly id: string; readonly folder: string } | undefined> {
  const latent = settings.methods.some((m) => (LATENT_CYCLE_METHODS as readonly string[]).includes(m));
  if (settings.modelVersion === undefined || (!latent && settings.forecast !== 'emulator')) return undefined;
  const v = await currentOfLine(deps.db, settings.modelVersion);
  if (v === undefined) throw new AppError('NOT_FOUND', `no model version ${settings.modelVersion}`);
  const folder = (v.artifactPaths as { folder?: unknown } | null)?.folder;
  if (typeof folder !== 'string' || deps.homeDir === undefined)
    throw new AppError('FAILED_PRECONDITION', `model version ${v.id} (${v.name}) has no model folder`);
  return { id: v.id, folder: path.resolve(deps.homeDir, folder) };
}

/**
 * A reanalysis stream's step from `keepFrom` on: the first method's analysis (physical units, from the state the
 * pipeline kept after the step) into the reanalysis' store, at its time index. Before the row that records the step,
 * so a recorded step always has its field (a re-run writes the same bytes).
 */
async function keepAnalysis(
  deps: CycleStepDeps,
  cycleId: string,
  settings: CycleRequest,
  record: CycleRecord | undefined,
  source: DaSource,
): Promise<void> {
  const r = settings.reanalysis;
  if (r === undefined || record === undefined || record.stateIndex < r.keepFrom) return;
  if (deps.writeAnalysis === undefined)
    throw new AppError(
      'FAILED_PRECONDITION',
      `cycle ${cycleId} is a reanalysis stream and this service keeps no stores`,
    );
  const state = await deps.store(cycleId).load();
  const x = carriedAnalysis(state?.carried[settings.methods[0] ?? '']);
  if (state === undefined || x === undefined) return; // a stopped method: its times stay NaN in the store
  const field = denormalise({ data: x, shape: source.shape }, state.setup.norm).data;
  const stepHours = sourceStepHours(source);
  const statesPerStep = settings.intervalHours / stepHours;
  const epoch = new Date(parseIsoUtc(source.timeOf(0))).toISOString().replace('T', ' ').slice(0, 19);
  const spec: ZarrTimeStoreSpec = {
    times: Array.from({ length: r.storeLength }, (_, i) => (r.storeStart + i * statesPerStep) * stepHours),
    timeUnits: `hours since ${epoch}`,
    channels: source.channels,
    units: source.units,
    height: source.shape[1],
    width: source.shape[2],
    attributes: {
      title: `alignda reanalysis ${r.id}: ${settings.methods[0] ?? ''} on ${source.title}`,
      source: 'alignda cycle service (POST /v1/reanalyses)',
    },
  };
  deps.writeAnalysis(r.id, spec, (record.stateIndex - r.storeStart) / statesPerStep, field);
}

/**
 * Ends reanalysis `id` (its Job row) once every stream has: succeeded when all did, failed when one failed.
 * Conditional on the row still running, so two streams finishing at once settle it once.
 */
export async function settleReanalysis(db: Db, id: string): Promise<void> {
  const job = await db.job.findUnique({ where: { id } });
  if (job === null || job.status !== 'running') return;
  const ids = ((job.request ?? {}) as { streams?: string[] }).streams ?? [];
  const rows = await db.cycle.findMany({ where: { id: { in: ids } }, select: { status: true, stats: true } });
  const failed = rows.find((c) => c.status === 'failed' || c.status === 'cancelled');
  if (failed !== undefined) {
    const error = (failed.stats as { error?: { code: string; message: string } } | null)?.error;
    await db.job.updateMany({
      where: { id, status: 'running' },
      data: {
        status: 'failed',
        errorCode: error?.code ?? 'CANCELLED',
        errorMessage: `a stream ${failed.status}: ${error?.message ?? 'stopped'}`,
        finishedAt: new Date(),
      },
    });
    return;
  }
  if (rows.length === ids.length && rows.every((c) => c.status === 'succeeded'))
    await db.job.updateMany({
      where: { id, status: 'running' },
      data: { status: 'succeeded', progress: 1, finishedAt: new Date() },
    });
}

/** Queues the step after `step` while the cycle runs (a paused cycle's next step is queued by its resume). */
async function next(
  deps: CycleStepDeps,
  cycleId: string,
  settings: CycleRequest,
  step: number,
  correlationId: string,
  delayMs = 0,
): Promise<void> {
  if (step + 1 >= settings.cycles) return;
  const row = await deps.db.cycle.findUnique({ where: { id: cycleId }, select: { status: true } });
  if (row?.status === 'running') await deps.enqueue(cycleId, step + 1, correlationId, delayMs);
}

/**
 * Fails the cycle and its step with the error's code and message (a pipeline error: another run would fail the
 * same way).
 */
export async function failCycle(
  db: Db,
  cycleId: string,
  step: number,
  code: string,
  message: string,
): Promise<void> {
  const row = await db.cycle.findUnique({ where: { id: cycleId }, select: { stats: true, settings: true } });
  const stats = { ...((row?.stats ?? {}) as Record<string, unknown>), error: { code, message } };
  await db.$transaction([
    db.cycleStep.updateMany({
      where: { cycleId, stepIndex: step },
      data: { status: 'failed', errorCode: code, errorMessage: message, finishedAt: new Date() },
    }),
    db.cycle.updateMany({
      where: { id: cycleId, status: { in: ['running', 'paused'] } },
      data: { status: 'failed', stats: jsonValue(stats) },
    }),
  ]);
  const reanalysisId = (row?.settings as { reanalysis?: { id?: unknown } } | null | undefined)?.reanalysis
    ?.id;
  if (typeof reanalysisId === 'string') await settleReanalysis(db, reanalysisId);
}

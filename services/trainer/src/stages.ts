/**
 * The three stages of an alignment flow, each a thin map from an AlignmentRun row onto one packages/pipelines call
 * and back onto rows, readable top to bottom:
 *
 * - `preferences`: `preparePreferences` (candidates drawn, scored, paired; the set written to the run's folder) ->
 *   the PreferenceSet row;
 * - `train`: `trainAlignment` (Diffusion-DPO, checkpointed every `checkpointEvery` steps, resumed from the last) ->
 *   the held-out DPO metrics on the Job row;
 * - `evaluate-and-register`: `gateAlignment` on held-out alignment-period cases -> the candidate's model folder, its
 *   ModelVersion (status candidate), the Evaluation (period alignment, passed), the run and the job succeeded.
 *
 * Every stage is idempotent: a retried one finds the set written, the checkpoint to resume from, or replaces the
 * rows it wrote.
 */
import path from 'node:path';

import type { Db } from '@alignda/db';
import { AppError } from '@alignda/errors';
import { loadTrainedModel } from '@alignda/nn';
import type { LatentModels, ModelManifest, ScoreConfig } from '@alignda/nn';
import {
  alignOptionsOf,
  alignmentBackground,
  gateAlignment,
  gateOptionsOf,
  parseAlignmentRequest,
  preparePreferences,
  trainAlignment,
} from '@alignda/pipelines';
import type { AlignmentRequest } from '@alignda/pipelines';
import type { DaSource } from '@alignda/world';

import { alignmentStore, modelFolderOf, writeCandidateFolder } from './adapters/alignment-files.js';

/** What a run's stages run on: the reference's model folder, its models and manifest, and the source. */
export interface AlignmentInputs {
  readonly models: LatentModels;
  readonly manifest: ModelManifest | undefined;
  readonly source: DaSource;
}

/** What the stages are given. */
export interface StageDeps {
  readonly db: Db;
  /** ALIGNDA_HOME: the runs' folders and the candidates' model folders live under it. */
  readonly homeDir: string;
  /** Opens the models of a model folder and the source they were trained on (cached by the caller). */
  readonly inputs: (modelDir: string) => Promise<AlignmentInputs>;
  /** Progress of the stage, in [0, 1], with a stage label and details (the DPO step). */
  readonly onProgress: (label: string, fraction: number, detail?: Record<string, unknown>) => void;
  /** Aborted when the trainer stops: DPO checkpoints and the stage is retried elsewhere. */
  readonly signal?: AbortSignal;
}

/** A plain JSON copy of `v` (non-finite numbers as null), as Prisma's Json columns take it. */
const json = (v: unknown): object =>
  JSON.parse(
    JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : x)),
  ) as object;

const isoDate = (hourIso: string): Date => new Date(`${hourIso.length === 13 ? `${hourIso}:00` : hourIso}Z`);

/** The run, its request and its inputs; refuses a run that has ended. */
async function open(deps: StageDeps, runId: string) {
  const run = await deps.db.alignmentRun.findUnique({
    where: { id: runId },
    include: { baseModelVersion: true },
  });
  if (run === null) throw new AppError('NOT_FOUND', `no alignment run ${runId}`);
  if (run.status === 'cancelled' || run.status === 'failed' || run.status === 'succeeded')
    throw new AppError('FAILED_PRECONDITION', `alignment run ${runId} is ${run.status}: nothing to run`);
  const request: AlignmentRequest = parseAlignmentRequest(run.settings);
  const dir = modelFolderOf(deps.homeDir, run.baseModelVersion);
  const inputs = await deps.inputs(dir);
  const background = alignmentBackground(
    request,
    inputs.manifest?.background ?? run.baseModelVersion.background ?? 'emulator',
  );
  const options = alignOptionsOf(request, background);
  const store = alignmentStore(deps.homeDir, runId);
  return { run, request, dir, inputs, background, options, store };
}

/** Marks the run and its job running at `stage`. */
async function running(db: Db, runId: string, jobId: string | null, stage: string): Promise<void> {
  const now = new Date();
  await db.alignmentRun.updateMany({
    where: { id: runId, status: { in: ['pending', 'running'] } },
    data: { status: 'running' },
  });
  await db.alignmentRun.updateMany({ where: { id: runId, startedAt: null }, data: { startedAt: now } });
  if (jobId !== null) {
    await db.job.update({ where: { id: jobId }, data: { status: 'running', stage } });
    await db.job.updateMany({ where: { id: jobId, startedAt: null }, data: { startedAt: now } });
  }
}

/** Stage 1: the preference set, and its row. */
export async function runPreferencesStage(deps: StageDeps, runId: string): Promise<Record<string, unknown>> {
  const { run, inputs, options, store } = await open(deps, runId);
  await running(deps.db, runId, run.jobId, 'preferences');
  const prepared = await preparePreferences(inputs.source, inputs.models, store, {
    ...options,
    onProgress: (label, f) => deps.onProgress(label, f),
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  });
  const m = prepared.set.meta;
  const rel = (file: string): string => path.relative(deps.homeDir, path.resolve(file));
  await deps.db.$transaction(async (tx) => {
    await tx.preferenceSet.deleteMany({ where: { alignmentRunId: runId } });
    await tx.preferenceSet.create({
      data: {
        alignmentRunId: runId,
        objective: m.set,
        pairCount: m.trainPairs,
        artifactPath: rel(prepared.file),
        summary: json({
          format: m.format,
          source: m.source,
          background: m.background,
          samplerSteps: m.steps,
          seed: m.seed,
          periodRange: m.periodRange,
          trainConditions: m.trainConditions,
          heldOutConditions: m.heldOutConditions,
          fallbacks: m.fallbacks,
          rewardMeans: m.rewardMeans,
          reused: prepared.reused,
        }),
        periodStart: isoDate(inputs.source.timeOf(m.periodRange[0])),
        periodEnd: isoDate(inputs.source.timeOf(m.periodRange[1] - 1)),
        rewards: [...m.rewards],
        candidates: m.candidates,
        conditions: m.trainConditions.length + m.heldOutConditions.length,
        contentHash: prepared.hash,
        rewardScales: json(m.scales),
        heldOutPairCount: m.heldOutPairs,
      },
    });
  });
  return { trainPairs: m.trainPairs, heldOutPairs: m.heldOutPairs, hash: prepared.hash };
}

/**
 * Stage 2: DPO, resumed from the run's checkpoint when there is one.
 * @throws AppError UNAVAILABLE when the trainer stopped mid-run (the checkpoint is written; a retry resumes it)
 */
export async function runTrainStage(deps: StageDeps, runId: string): Promise<Record<string, unknown>> {
  const { run, inputs, options, store } = await open(deps, runId);
  await running(deps.db, runId, run.jobId, 'train');
  const res = await trainAlignment(inputs.source, inputs.models, store, {
    ...options,
    resume: 'if-exists',
    onDpoStep: (p) =>
      deps.onProgress('DPO', p.step / p.steps, { step: p.step, steps: p.steps, loss: p.train.loss }),
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  });
  if (!res.completed)
    throw new AppError(
      'UNAVAILABLE',
      `the trainer stopped during DPO: the checkpoint ${res.checkpoint} is resumed`,
    );
  const dpo = {
    steps: res.dpo.steps,
    beta: res.dpo.beta,
    pairsPerStep: res.dpo.pairsPerStep,
    resumedFrom: res.resumedFrom,
    heldOut: res.heldOut ?? null,
  };
  if (run.jobId !== null)
    await deps.db.job.update({ where: { id: run.jobId }, data: { result: json({ dpo }) } });
  return { dpo };
}

/** Stage 3: the gate, the candidate's folder and rows; the run succeeded. */
export async function runEvaluateStage(deps: StageDeps, runId: string): Promise<Record<string, unknown>> {
  const { run, request, dir, inputs, background, store } = await open(deps, runId);
  await running(deps.db, runId, run.jobId, 'evaluate-and-register');
  const prefs = await deps.db.preferenceSet.findFirst({ where: { alignmentRunId: runId } });
  const trainConditions = ((prefs?.summary ?? {}) as { trainConditions?: number[] }).trainConditions;
  if (prefs === null || trainConditions === undefined)
    throw new AppError('FAILED_PRECONDITION', `alignment run ${runId} has no preference set recorded`);
  const checkpoint = store.alignedCheckpointPath(request.set);
  const aligned = await loadTrainedModel<ScoreConfig>(checkpoint);
  const verdict = await gateAlignment(inputs.source, inputs.models, aligned, {
    ...gateOptionsOf(request, background, trainConditions),
    onProgress: (label, f) => deps.onProgress(label, f),
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  });
  const base = run.baseModelVersion;
  const name = `${path.basename(dir)}-aligned-${request.set}-${runId.slice(0, 8)}`;
  const folder = writeCandidateFolder(deps.homeDir, dir, name, checkpoint);
  const rel = (file: string): string => path.relative(deps.homeDir, file);
  const job = run.jobId === null ? null : await deps.db.job.findUnique({ where: { id: run.jobId } });
  const dpo = ((job?.result ?? {}) as { dpo?: unknown }).dpo ?? null;
  const [lo, hi] = inputs.source.periods.alignment ?? [0, 1];
  const now = new Date();
  const ids = await deps.db.$transaction(async (tx) => {
    const fields = {
      parentId: base.id,
      status: 'candidate' as const,
      background,
      artifactPaths: { folder: rel(folder), checkpoint: rel(path.join(folder, 'score.safetensors')) },
      metrics: json({
        dpo,
        preferenceSet: { set: request.set, contentHash: prefs.contentHash, id: prefs.id },
        gate: { passed: verdict.passed, reasons: verdict.reasons },
        alignmentRunId: runId,
      }),
    };
    const mv = await tx.modelVersion.upsert({
      where: { kind_name: { kind: 'score', name } },
      create: { kind: 'score', name, ...fields },
      update: fields,
    });
    await tx.evaluation.deleteMany({ where: { alignmentRunId: runId } });
    const ev = await tx.evaluation.create({
      data: {
        modelVersionId: mv.id,
        referenceModelVersionId: base.id,
        alignmentRunId: runId,
        periodStart: isoDate(inputs.source.timeOf(lo)),
        periodEnd: isoDate(inputs.source.timeOf(hi - 1)),
        period: 'alignment',
        metrics: json(verdict),
        passed: verdict.passed,
      },
    });
    await tx.alignmentRun.update({
      where: { id: runId },
      data: { resultModelVersionId: mv.id, status: 'succeeded', finishedAt: now },
    });
    if (run.jobId !== null)
      await tx.job.update({
        where: { id: run.jobId },
        data: {
          status: 'succeeded',
          stage: 'done',
          progress: 1,
          finishedAt: now,
          result: json({ dpo, candidate: mv.id, evaluation: ev.id, passed: verdict.passed }),
        },
      });
    return { candidate: mv.id, evaluation: ev.id };
  });
  return { ...ids, passed: verdict.passed, reasons: verdict.reasons };
}

/** Records a run's final failure on the run and its job. */
export async function failRun(db: Db, runId: string, code: string, message: string): Promise<void> {
  const now = new Date();
  const run = await db.alignmentRun.findUnique({ where: { id: runId } });
  if (run === null) return;
  await db.alignmentRun.updateMany({
    where: { id: runId, status: { in: ['pending', 'running', 'paused'] } },
    data: { status: 'failed', finishedAt: now },
  });
  if (run.jobId !== null)
    await db.job.updateMany({
      where: { id: run.jobId, status: { in: ['queued', 'running'] } },
      data: { status: 'failed', errorCode: code, errorMessage: message, finishedAt: now },
    });
}

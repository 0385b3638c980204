/**
 * The data path of one assimilation job on the platform (issue 13; ../shared/docs/ARCHITECTURE.md, "One assimilation
 * job, end to end"), top to bottom in this one function:
 *
 *   the request, checked against the source -> Job row running
 *   -> ingest.Submit (background-free QC; a flagged observation refuses the job)
 *   -> the 48 h background (in process, see step 2) -> ingest.Check (O-B, gross errors)
 *   -> encoder.Encode(background) -> sampler.Sample (progress forwarded) -> encoder.Decode
 *   -> forecast.Rollout (the analysis' 48 h forecast) -> reward.Score (diagnostics, skill)
 *   -> netCDF in the blob store + Analysis row + Job row succeeded (one transaction).
 *
 * It follows packages/pipelines' `runAssimilationJob` (the single-process reference `alignda assimilate` runs) step
 * for step, so that the same request and models give the same members, background and spread bit for bit. The
 * services trade fields in physical units, so the member mean is taken here over the decoded physical members; the
 * reference takes it over the normalised members and denormalises it, and the two differ in the last bit of some
 * values (float32 rounding of the denormalisation; tests/e2e/assimilation.test.ts checks both).
 */
import { memberSeed } from '@alignda/da';
import type { Db } from '@alignda/db';
import { AppError } from '@alignda/errors';
import type { Logger } from '@alignda/log';
import type { LatentSessions, PlatformProvenance } from '@alignda/nn';
import {
  LEAD_STEPS,
  backgroundForecaster,
  checkRequestAgainstSource,
  jobDiagnostics,
  jobSourceShape,
  jobStateIndex,
  memberMean,
  memberStd,
  normaliseObservations,
  parseAssimilationRequest,
} from '@alignda/pipelines';
import type { AssimilationRequest, BackgroundKind, JobDiagnostics } from '@alignda/pipelines';
import { GuidanceMode, float32FromTensor, gridToProto, tensorFromFloat32 } from '@alignda/rpc';
import type { ScoreResult } from '@alignda/rpc';
import { denormalise, normalise } from '@alignda/tensor';
import type { NormStats } from '@alignda/tensor';
import { parseIsoUtc } from '@alignda/world';
import type { DaSource } from '@alignda/world';

import { removeResults, writeResultFile } from './adapters/result-store.js';
import { analysisNetcdf } from './analysis-file.js';
import { MAP_FILE, analysisMap, analysisProvenance } from './analysis-record.js';
import { datasetRowId, markRunning, markSucceeded } from './job-record.js';
import { describeFlags, fieldMessage, grossErrors, membersOf, obsBatchOf } from './messages.js';
import type { CallScope, ServicePorts } from './ports.js';

/** The stages of a job, in order, with the share of the whole each one is reported as (they sum to 1). */
export const STAGES = {
  ingest: 0.02,
  background: 0.06,
  check: 0.02,
  encode: 0.03,
  sample: 0.72,
  decode: 0.05,
  forecast: 0.04,
  score: 0.03,
  store: 0.03,
} as const;
/** One of {@link STAGES}. */
export type Stage = keyof typeof STAGES;

/** The file name of a job's analysis in its result folder. */
export const ANALYSIS_FILE = 'analysis.nc';

/** What the data path works with; one set per orchestrator process. */
export interface AssimilationDeps {
  readonly services: ServicePorts;
  readonly db: Db;
  /** The source the platform serves (the model folder's): states, grid, channels. */
  readonly source: DaSource;
  /** The models' per-channel normalisation (`models.vae.norm`), as the reference normalises with. */
  readonly norm: NormStats;
  /** The kind of 48 h backgrounds. @see defaultBackground of packages/pipelines */
  readonly background: BackgroundKind;
  /** The backgrounds the score network was trained on (the model folder's manifest), when known. */
  readonly modelBackground?: BackgroundKind;
  /** One-member sessions of the model set, for emulator backgrounds (created on first use). */
  readonly emulatorSessions?: () => Promise<LatentSessions>;
  /** The model version the platform serves; a request naming another is refused. */
  readonly modelVersion: string;
  /** ALIGNDA_HOME: the blob store's root (`results/<jobId>/`). */
  readonly homeDir: string;
  /**
   * Draw map.png at the store step. @defaultValue false: the gateway draws `GET .../map.png` from the netCDF on request,
   * which keeps the drawing off the job's path
   */
  readonly drawMap?: boolean;
  /**
   * The code, runtime and model files every Analysis row records (packages/nn's `platformProvenance`, given the model
   * folder). @defaultValue the code and runtime read at the first store, no model file hashes
   */
  readonly provenance?: PlatformProvenance | Promise<PlatformProvenance>;
}

/** One job as the worker hands it over. */
export interface AssimilationJob {
  /** The Job row's id (= the BullMQ job id). */
  readonly jobId: string;
  readonly correlationId: string;
  /** The request as the gateway validated it (parsed again here: the queue is not trusted blindly). */
  readonly request: unknown;
  /** Aborted when the client cancels the job or the orchestrator stops. */
  readonly signal: AbortSignal;
  /** Bound to the job id and correlation id. */
  readonly log: Logger;
  /** A stage started or advanced: `fraction` of that stage done. */
  readonly onProgress: (stage: Stage, fraction: number) => void;
}

/** The Job row's result summary. */
export interface AssimilationSummary {
  readonly analysisId: string;
  readonly validTime: string;
  readonly stateIndex: number;
  readonly backgroundStartTime: string;
  readonly backgroundKind: BackgroundKind;
  readonly method: string;
  readonly members: number;
  readonly steps: number;
  readonly seed: number;
  readonly modelVersion: string;
  /** Files by role, relative to ALIGNDA_HOME: the netCDF, and the map when it could be drawn. */
  readonly artifacts: { readonly analysis: string; readonly map?: string };
  /** O-B and O-A as `alignda assimilate` prints them (normalised over all, physical per channel). */
  readonly diagnostics: JobDiagnostics;
  /** Observations in, passed QC, flagged by the background check (kept: the reference uses every one). */
  readonly qc: { readonly total: number; readonly passed: number; readonly grossErrors: number };
  /** The analysis against the source's state at the valid time, and its 48 h forecast against the state then. */
  readonly verification: {
    readonly analysis: Skill;
    readonly forecast48h: (Skill & { readonly validTime: string }) | null;
  };
  readonly seeds: { readonly sampler: number; readonly members: readonly number[] };
  readonly settings: { readonly corrections: number };
  /** Wall-clock seconds by stage, and in all. */
  readonly timings: Readonly<Record<string, number>>;
}

/** Errors against a reference state, normalised fields (the reward service's). */
export interface Skill {
  /** Latitude-weighted RMSE by channel. */
  readonly wrmseNormalised: Readonly<Record<string, number>>;
  readonly mseNormalised: number | null;
}

const GUIDANCE: Record<Exclude<AssimilationRequest['method'], '3dvar'>, GuidanceMode> = {
  obsfree: GuidanceMode.OBSFREE,
  repaint: GuidanceMode.REPAINT,
  dps: GuidanceMode.DPS,
};

/** The request's source must be the one this platform serves (runAssimilationJob's check). */
function checkSource(source: DaSource, request: AssimilationRequest): void {
  const [kind, want] =
    'world' in request.source ? ['world', request.source.world] : ['dataset', request.source.dataset];
  if (source.name !== want || source.kind !== kind)
    throw new AppError(
      'INVALID_ARGUMENT',
      `the request names ${kind} '${want}' but this platform serves ${source.kind} '${source.name}'`,
      { details: { field: 'source' } },
    );
}

const skillOf = (score: ScoreResult, channels: readonly string[]): Skill => {
  const s = score.samples[0];
  return {
    wrmseNormalised: Object.fromEntries(channels.map((c, k) => [c, s?.wrmseNormalised[k] ?? Number.NaN])),
    mseNormalised: s?.mseNormalised ?? null,
  };
};

/**
 * Runs one job's data path and records its outcome.
 * @returns the result summary; undefined when the row was no longer queued or running (the client cancelled the job
 *   before it started, or while it ran: nothing is recorded then)
 * @throws AppError with the catalog code the job fails with: INVALID_ARGUMENT for a request that does not fit the
 *   source or observations that fail QC, NOT_FOUND / FAILED_PRECONDITION as runAssimilationJob, UNIMPLEMENTED for
 *   3D-Var, the services' codes (UNAVAILABLE when one cannot be reached), CANCELLED when `job.signal` aborts
 */
export async function runAssimilation(
  deps: AssimilationDeps,
  job: AssimilationJob,
): Promise<AssimilationSummary | undefined> {
  const { services, source, norm } = deps;
  const scope: CallScope = { jobId: job.jobId, signal: job.signal, correlationId: job.correlationId };
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  /** Runs one stage: progress at its start and end, its seconds, and a cancellation check after it. */
  const stage = async <T>(name: Stage, run: () => Promise<T>): Promise<T> => {
    job.onProgress(name, 0);
    const t = performance.now();
    const out = await run();
    timings[`${name}S`] = (performance.now() - t) / 1000;
    job.onProgress(name, 1);
    if (job.signal.aborted)
      throw new AppError('CANCELLED', 'the assimilation job was cancelled', { cause: job.signal.reason });
    return out;
  };

  // The request, checked against the source exactly as runAssimilationJob checks it, before any work.
  const request = parseAssimilationRequest(job.request);
  checkSource(source, request);
  if (request.method === '3dvar')
    throw new AppError(
      'UNIMPLEMENTED',
      "method 3dvar: the platform's services sample the latent methods (dps, repaint, obsfree) only; run 3D-Var with `alignda assimilate --method 3dvar`",
      { details: { field: 'method' } },
    );
  if (request.modelVersion !== undefined && request.modelVersion !== deps.modelVersion)
    throw new AppError(
      'NOT_FOUND',
      `unknown model version '${request.modelVersion}' (this platform serves '${deps.modelVersion}')`,
      { details: { field: 'modelVersion' } },
    );
  if (deps.modelBackground !== undefined && deps.modelBackground !== deps.background)
    throw new AppError(
      'FAILED_PRECONDITION',
      `the score network was trained on ${deps.modelBackground} backgrounds; this platform makes ${deps.background} backgrounds`,
    );
  const shapeOf = jobSourceShape(source);
  const resolved = checkRequestAgainstSource(request, shapeOf);
  const { index, startIndex } = jobStateIndex(source, request.validTime);
  const validTime = new Date(parseIsoUtc(source.timeOf(index)));
  const M = request.members;
  const modelVersion = request.modelVersion ?? '';
  const [C, H, W] = source.shape;

  if (!(await markRunning(deps.db, job.jobId, 'ingest'))) return undefined;
  job.log.info({ method: request.method, members: M, steps: request.steps }, 'job running');

  // 1. ingest.Submit: the background-free QC. The reference job uses every observation it is given, so one that
  //    fails QC refuses the job (the client corrects it) instead of silently changing the analysis.
  const submitted = await stage('ingest', () =>
    services.ingest.submit(
      {
        datasetId: source.name,
        source: { $case: 'batch', value: obsBatchOf(resolved, source, validTime) },
        // A retried job finds its batch again.
        idempotencyKey: `job:${job.jobId}`,
      },
      scope,
    ),
  );
  const qc = submitted.qc;
  if (qc === undefined || submitted.batch === undefined)
    throw new AppError('INTERNAL', 'ingest.Submit answered without its batch or QC summary');
  if (qc.passed !== qc.total)
    throw new AppError(
      'INVALID_ARGUMENT',
      `${qc.total - qc.passed} of ${qc.total} observations failed quality control (${describeFlags(qc)}): correct or remove them`,
      { details: { field: 'observations', flags: describeFlags(qc) } },
    );
  const batch = submitted.batch;

  // 2. The 48 h background, made in process through pipelines' backgroundForecaster, as the reference makes it: on a
  //    synthetic world it is the imperfect physical model's forecast, which the forecast service (the emulator) does
  //    not run; on a dataset it is the emulator's, whose normalised output the forecast service would hand back in
  //    physical units, and the float32 round trip would change its last bits. Either way the forecast service cannot
  //    give the reference's background bit for bit.
  const xb = await stage('background', async () => {
    const sessions = deps.background === 'emulator' ? await deps.emulatorSessions?.() : undefined;
    return backgroundForecaster(source, norm, sessions, deps.background)(startIndex); // normalised [C, H, W]
  });
  const background = denormalise({ data: xb, shape: source.shape }, norm).data; // physical
  const backgroundMessage = fieldMessage(source, background, validTime);
  // The encoder normalises what it is sent; that must give back xb, or the latent is not the reference's.
  const roundTrip = normalise({ data: background, shape: source.shape }, norm).data;
  const changed = roundTrip.reduce((n, v, i) => n + (v === xb[i] ? 0 : 1), 0);
  if (changed > 0)
    job.log.warn(
      { changed },
      'the background does not survive physical units bit for bit: the encoded latent differs',
    );
  const checked = await stage('check', () =>
    services.ingest.check(
      {
        observations: { $case: 'batchId', value: submitted.batchId },
        background: backgroundMessage,
        backgroundErrorStd: [],
      },
      scope,
    ),
  );

  // 3. encoder.Encode: the background latent z_b, [1, Cz, Hz, Wz].
  const encoded = await stage('encode', () =>
    services.encoder.encode({ fields: [backgroundMessage], modelVersion }, scope),
  );
  const zShape = (encoded.latents?.shape ?? []).slice(1);
  const zb = float32FromTensor(encoded.latents, 'encoder.Encode latents', [1, ...zShape]).data;

  // 4. sampler.Sample: the members' latents, with the request's members, steps and seed; corrections and the guidance
  //    strength left to the sampler's defaults, which are the reference job's.
  const sampled = await stage('sample', () =>
    services.sampler.sample(
      {
        backgroundLatent: tensorFromFloat32(zb, zShape, 'background_latent'),
        // The sampler refuses latents of another autoencoder than its score model's.
        autoencoderSha256: encoded.autoencoderSha256,
        observations: batch,
        grid: gridToProto(source.grid),
        guidance: GUIDANCE[request.method as keyof typeof GUIDANCE],
        steps: request.steps,
        members: M,
        seed: request.seed,
        modelVersion,
      },
      scope,
      (p) => job.onProgress('sample', p.fraction),
    ),
  );

  // 5. encoder.Decode: the members in physical units; their mean and spread.
  const decoded = await stage('decode', () =>
    services.encoder.decode({ latents: sampled.analysisLatents, modelVersion, validTime }, scope),
  );
  const members = membersOf(decoded.fields, M, source); // [M, C, H, W]
  const mean = memberMean(members, M);
  const spread = M > 1 ? memberStd(members, M) : undefined;
  const meanMessage = fieldMessage(source, mean, validTime);
  // O-B and O-A as the reference reports them (pipelines' jobDiagnostics, normalised units).
  const obs = normaliseObservations(resolved, shapeOf, norm);
  const diagnostics = jobDiagnostics(
    obs,
    xb,
    normalise({ data: mean, shape: source.shape }, norm).data,
    source.channels,
  );

  // 6. forecast.Rollout: the analysis' 48 h forecast, for its skill.
  const verifyIndex = index + LEAD_STEPS;
  const verifiable = verifyIndex < source.count;
  const forecastTime = new Date(validTime.getTime() + LEAD_STEPS * 6 * 3_600_000);
  const forecast = verifiable
    ? await stage('forecast', () =>
        services.forecast.rollout(
          { initial: meanMessage, steps: LEAD_STEPS, emitEvery: 0, modelVersion },
          scope,
        ),
      )
    : undefined;

  // 7. reward.Score: the analysis against the observations (O-B, O-A) and the source's state at the valid time; the
  //    forecast against the state 48 h later, when the source holds it.
  const [analysisScore, forecastScore] = await stage('score', async () => {
    const a = await services.reward.score(
      {
        datasetId: source.name,
        samples: [meanMessage],
        truth: fieldMessage(source, source.state(index).data, validTime),
        background: backgroundMessage,
        observations: batch,
        rewards: [],
      },
      scope,
    );
    const f =
      forecast?.field === undefined
        ? undefined
        : await services.reward.score(
            {
              datasetId: source.name,
              samples: [forecast.field],
              truth: fieldMessage(source, source.state(verifyIndex).data, forecastTime),
              background: undefined,
              observations: undefined,
              rewards: [],
            },
            scope,
          );
    return [a, f] as const;
  });

  // 8. Store: the file first (a retry rewrites it), then the rows in one transaction. No cancellation check after
  //    this point: a job whose rows say succeeded has succeeded.
  job.onProgress('store', 0);
  const tStore = performance.now();
  const iso = (i: number): string => new Date(parseIsoUtc(source.timeOf(i))).toISOString();
  const backgroundKind = deps.background;
  const fields = { mean, ...(spread === undefined ? {} : { spread }), background };
  const file = writeResultFile(
    deps.homeDir,
    job.jobId,
    ANALYSIS_FILE,
    analysisNetcdf({
      grid: source.grid,
      channels: source.channels,
      units: source.units,
      validTime: iso(index),
      method: request.method,
      members: M,
      steps: request.steps,
      seed: request.seed,
      mean,
      ...(spread === undefined ? {} : { spread }),
      memberFields: members,
      background,
      backgroundNote: `${backgroundKind === 'model' ? 'physical model' : 'emulator'} 48 h forecast from ${iso(startIndex)}`,
      diagnostics,
      ...(source.validMask === undefined ? {} : { validMask: source.validMask }),
    }),
  );
  // The map is drawn only when deps.drawMap asks: otherwise the gateway draws it from the netCDF on request, off the
  // job's path (drawing is about a third of the orchestrator's CPU per job). A map that cannot be drawn fails nothing.
  let map: string | undefined;
  if (deps.drawMap === true)
    try {
      map = writeResultFile(
        deps.homeDir,
        job.jobId,
        MAP_FILE,
        analysisMap(source, fields, request, iso(index)),
      );
    } catch (err) {
      job.log.warn({ err }, 'the map could not be drawn');
    }
  const artifacts = { analysis: file, ...(map === undefined ? {} : { map }) };
  const seeds = {
    sampler: request.seed,
    members: Array.from({ length: M }, (_, m) => memberSeed(request.seed, m)),
  };
  const summary: AssimilationSummary = {
    analysisId: job.jobId,
    validTime: iso(index),
    stateIndex: index,
    backgroundStartTime: iso(startIndex),
    backgroundKind,
    method: request.method,
    members: M,
    steps: sampled.steps,
    seed: request.seed,
    modelVersion: sampled.modelVersion,
    artifacts,
    diagnostics,
    qc: { total: qc.total, passed: qc.passed, grossErrors: grossErrors(checked.qc) },
    verification: {
      analysis: skillOf(analysisScore, source.channels),
      forecast48h:
        forecastScore === undefined
          ? null
          : { ...skillOf(forecastScore, source.channels), validTime: forecastTime.toISOString() },
    },
    seeds,
    settings: { corrections: sampled.corrections },
    timings,
  };
  const recorded = await markSucceeded(deps.db, {
    jobId: job.jobId,
    datasetId: await datasetRowId(deps.db, source),
    validTime,
    members: M,
    artifactPaths: artifacts,
    provenance: await analysisProvenance(deps.provenance, {
      request,
      seeds,
      sampled,
      modelVersion: deps.modelVersion,
    }),
    // The Analysis row keeps the services' full departures; the job's summary the headline numbers.
    diagnostics: {
      ...summary,
      departures: {
        oMinusB: analysisScore.oMinusB,
        oMinusA: analysisScore.samples[0]?.oMinusA,
        check: checked.oMinusB,
      },
      shape: [M, C, H, W],
    },
    result: {
      ...summary,
      timings: {
        ...timings,
        storeS: (performance.now() - tStore) / 1000,
        totalS: (performance.now() - t0) / 1000,
      },
    },
  });
  if (!recorded) {
    // Cancelled while it ran: its file goes with it.
    removeResults(deps.homeDir, job.jobId);
    return undefined;
  }
  job.onProgress('store', 1);
  return summary;
}

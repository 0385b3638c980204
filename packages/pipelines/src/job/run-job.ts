/**
 * One assimilation job in one process (issue 13): the reference the HTTP platform's orchestrator, encoder, sampler
 * and forecast services must match bit for bit. A validated request and an opened source and model set in; the
 * analysis (mean, per-value spread, members), the background and O-B / O-A out, with progress by callback and
 * cancellation by AbortSignal (checked between stages and, inside packages/da's sampler, between sampler steps).
 */
import { memberSeed } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { createLatentSessions } from '@alignda/nn';
import type { LatentModels, LatentSessions } from '@alignda/nn';
import { createField, denormalise, normalise } from '@alignda/tensor';
import type { Field, NormStats } from '@alignda/tensor';
import { parseIsoUtc } from '@alignda/world';
import type { DaSource } from '@alignda/world';

import { assimilate } from '../assimilate.js';
import type { Analysis } from '../assimilate.js';
import { defaultBackground } from '../evaluate-latent-options.js';
import type { BackgroundKind } from '../evaluate-latent-options.js';
import { LEAD_STEPS } from '../evaluate-tuning.js';
import { encodeState, latentPrior } from '../latent-models.js';
import { backgroundForecaster, jobStateIndex } from './background.js';
import { fitJobBSqrt } from './job-b.js';
import { memberMean, memberStd } from './member-stats.js';
import { jobDiagnostics, normaliseObservations } from './job-observations.js';
import type { JobDiagnostics, NormalisedObservations } from './job-observations.js';
import { checkRequestAgainstSource, jobSourceShape } from './request.js';
import type { AssimilationRequest } from './request.js';

/**
 * 3D-Var's correlation length scale when none is given, km. [choice] A job has no truth to tune it on; 500 km is the
 * middle of the evaluation's candidates (LENGTH_SCALES_M, 150-1500 km); a caller that has tuned it passes its own.
 */
export const JOB_LENGTH_SCALE_KM = 500;

/** Train-period background/truth pairs B's variances are estimated from: evaluateLatent's `trainCases` default. */
export const JOB_VAR3D_TRAIN_CASES = 32;

/** Options of {@link runAssimilationJob}: the settings a request does not carry. */
export interface RunJobOptions {
  /** Backgrounds from the physical model or the emulator. @defaultValue model on a world, emulator on a dataset */
  readonly background?: BackgroundKind;
  /** The backgrounds the score network was trained on (the model folder's manifest); another kind is refused. */
  readonly modelBackground?: BackgroundKind;
  /** Langevin corrections per sampler step. @defaultValue 1, as the evaluation */
  readonly corrections?: number;
  /** DPS step scale zeta'. @defaultValue packages/da's (0.2): a job has no cases to tune it on */
  readonly zeta?: number;
  /** Repaint blend weight. @defaultValue packages/da's (1) */
  readonly blend?: number;
  /** 3D-Var correlation length scale, km. @defaultValue {@link JOB_LENGTH_SCALE_KM} */
  readonly lengthScaleKm?: number;
  /** Train-period pairs of 3D-Var's B (at most those the train period holds). @defaultValue {@link JOB_VAR3D_TRAIN_CASES} */
  readonly var3dTrainCases?: number;
  /** Stage (`background`, `fit-b`, `encode`, `sample`) and its fraction done. */
  readonly onProgress?: (stage: string, fraction: number) => void;
  /** Cancels the job; it then throws AppError `CANCELLED`. */
  readonly signal?: AbortSignal;
}

/** Wall-clock seconds of a job's stages. */
export interface JobTimings {
  /** Building the frozen model sessions (latent methods and emulator backgrounds). */
  readonly sessionsS: number;
  readonly backgroundS: number;
  /** B from train-period pairs (3D-Var). */
  readonly fitS?: number;
  /** The background latent (latent methods). */
  readonly encodeS?: number;
  /** Sampling and decoding, or the 3D-Var solve. */
  readonly analysisS: number;
  readonly totalS: number;
}

/** The outcome of one assimilation job. Fields are in physical units on the source's grid. */
export interface AssimilationJobResult {
  /** The analysis time, ISO 8601 UTC (`2013-01-03T06:00:00.000Z`), and its state index in the source. */
  readonly validTime: string;
  readonly stateIndex: number;
  /** The time of the state the 48 h background starts from. */
  readonly backgroundStartTime: string;
  readonly backgroundKind: BackgroundKind;
  /** The analysis: the members' mean (latent methods) or the 3D-Var analysis. */
  readonly mean: Field;
  /** Per-value std across members (n - 1 in the denominator); latent methods with more than one member. */
  readonly spread?: Field;
  /** The decoded members, [members, C, H, W] (latent methods). */
  readonly members?: Float32Array;
  readonly background: Field;
  readonly diagnostics: JobDiagnostics;
  /** The sampler seed and each member's noise seed (memberSeed(seed, m)); latent methods. */
  readonly seeds?: { readonly sampler: number; readonly members: readonly number[] };
  /** The guidance strength or length scale used. */
  readonly settings: {
    readonly zeta?: number;
    readonly blend?: number;
    readonly lengthScaleKm?: number;
    readonly var3dTrainCases?: number;
    readonly corrections?: number;
  };
  readonly timings: JobTimings;
}

const isoHour = (source: DaSource, i: number): string =>
  new Date(parseIsoUtc(source.timeOf(i))).toISOString();

/** Checks that the opened source is the one the request names. */
function checkSource(source: DaSource, request: AssimilationRequest): void {
  const want = 'world' in request.source ? request.source.world : request.source.dataset;
  const kind = 'world' in request.source ? 'world' : 'dataset';
  if (source.name !== want || source.kind !== kind)
    throw new AppError(
      'INVALID_ARGUMENT',
      `the request names ${kind} '${want}' but the job was given ${source.kind} '${source.name}'`,
    );
}

/**
 * Runs one assimilation job: the background is the 48 h forecast valid at `request.validTime` from the source's
 * state 48 h earlier (never the state at the valid time itself), the observations are the request's, and the
 * analysis is `request.method`'s with the request's members, steps and seed. The same request, source, models and
 * options give bit-identical output.
 * @param models - the trained model set (the request's `modelVersion` is resolved by the caller)
 * @throws AppError `INVALID_ARGUMENT` for a request that does not fit the source (see checkRequestAgainstSource);
 *   `NOT_FOUND` for a valid time that is no state of the source; `FAILED_PRECONDITION` when the state 48 h earlier
 *   is missing, or the models were trained on another kind of background; `CANCELLED` when `signal` aborts
 */
export async function runAssimilationJob(
  source: DaSource,
  models: LatentModels,
  request: AssimilationRequest,
  options: RunJobOptions = {},
): Promise<AssimilationJobResult> {
  const t0 = performance.now();
  const { signal } = options;
  const checkAbort = (): void => {
    if (signal?.aborted === true)
      throw new AppError('CANCELLED', 'the assimilation job was cancelled', { cause: signal.reason });
  };
  const progress = options.onProgress ?? (() => undefined);
  checkSource(source, request);
  const shapeOf = jobSourceShape(source);
  const resolved = checkRequestAgainstSource(request, shapeOf);
  const { index, startIndex } = jobStateIndex(source, request.validTime);
  const kind = options.background ?? defaultBackground(source);
  if (options.modelBackground !== undefined && options.modelBackground !== kind)
    throw new AppError(
      'FAILED_PRECONDITION',
      `the score network was trained on ${options.modelBackground} backgrounds; a job with ${kind} backgrounds would use it out of its training distribution: train a model set with --background ${kind}`,
    );
  const norm = models.vae.norm;
  const shape = source.shape;
  const obs = normaliseObservations(resolved, shapeOf, norm);
  const method = request.method;
  const latent = method !== '3dvar';
  const corrections = options.corrections ?? 1;

  try {
    checkAbort();
    const tS = performance.now();
    const one: LatentSessions | undefined =
      latent || kind === 'emulator'
        ? await createLatentSessions(models, 1, { leadSteps: LEAD_STEPS })
        : undefined;
    let sessionsS = (performance.now() - tS) / 1000;
    const forecast = backgroundForecaster(source, norm, one, kind);
    const normState = (i: number): Float32Array =>
      normalise({ data: source.state(i).data, shape }, norm).data;

    progress('background', 0);
    const tBg = performance.now();
    const xb = await forecast(startIndex);
    const backgroundS = (performance.now() - tBg) / 1000;
    progress('background', 1);
    checkAbort();

    let analysis: Analysis;
    let fitS: number | undefined;
    let encodeS: number | undefined;
    let settings: AssimilationJobResult['settings'];
    let analysisS: number;
    if (method === '3dvar') {
      const lengthScaleKm = options.lengthScaleKm ?? JOB_LENGTH_SCALE_KM;
      const tFit = performance.now();
      const { bSqrt, n } = await fitJobBSqrt(
        source,
        forecast,
        normState,
        options.var3dTrainCases ?? JOB_VAR3D_TRAIN_CASES,
        lengthScaleKm,
        (f) => progress('fit-b', f),
        checkAbort,
      );
      fitS = (performance.now() - tFit) / 1000;
      checkAbort();
      const tA = performance.now();
      analysis = await assimilate({ method: '3dvar', background: xb, obs: obs.obs, bSqrt });
      analysisS = (performance.now() - tA) / 1000;
      settings = { lengthScaleKm, var3dTrainCases: n };
    } else {
      if (one === undefined) throw new AppError('INTERNAL', 'runAssimilationJob: no latent sessions');
      const tEns = performance.now();
      const ens =
        request.members === 1
          ? one
          : await createLatentSessions(models, request.members, { leadSteps: LEAD_STEPS });
      sessionsS += (performance.now() - tEns) / 1000;
      progress('encode', 0);
      const tE = performance.now();
      const zb = await encodeState(one, xb);
      encodeS = (performance.now() - tE) / 1000;
      progress('encode', 1);
      checkAbort();
      const param =
        request.method === 'dps' ? options.zeta : request.method === 'repaint' ? options.blend : undefined;
      const tA = performance.now();
      analysis = await assimilate({
        method,
        prior: latentPrior(ens, zb, models.score.config.latentShape),
        obs: obs.obs,
        members: request.members,
        seed: request.seed,
        steps: request.steps,
        corrections,
        ...(param === undefined ? {} : { param }),
        onProgress: (f) => progress('sample', f),
        ...(signal === undefined ? {} : { signal }),
      });
      analysisS = (performance.now() - tA) / 1000;
      settings = {
        corrections,
        ...(request.method === 'dps' && options.zeta !== undefined ? { zeta: options.zeta } : {}),
        ...(request.method === 'repaint' && options.blend !== undefined ? { blend: options.blend } : {}),
      };
    }
    return finish(source, norm, request, analysis, xb, obs, {
      index,
      startIndex,
      kind,
      settings,
      timings: {
        sessionsS,
        backgroundS,
        ...(fitS === undefined ? {} : { fitS }),
        ...(encodeS === undefined ? {} : { encodeS }),
        analysisS,
        totalS: (performance.now() - t0) / 1000,
      },
    });
  } catch (err) {
    if (signal?.aborted === true && !(err instanceof AppError && err.code === 'CANCELLED'))
      throw new AppError('CANCELLED', 'the assimilation job was cancelled', { cause: err });
    throw err;
  }
}

/** The result in physical units: fields, members and their per-value spread, and the diagnostics. */
function finish(
  source: DaSource,
  norm: NormStats,
  request: AssimilationRequest,
  analysis: Analysis,
  xb: Float32Array,
  obs: NormalisedObservations,
  at: {
    readonly index: number;
    readonly startIndex: number;
    readonly kind: BackgroundKind;
    readonly settings: AssimilationJobResult['settings'];
    readonly timings: JobTimings;
  },
): AssimilationJobResult {
  const [C, H, W] = source.shape;
  const field = (data: Float32Array): Field =>
    createField({ data, channels: source.channels, units: source.units, grid: source.grid });
  const physical = (data: Float32Array): Float32Array => denormalise({ data, shape: [C, H, W] }, norm).data;
  const M = request.members;
  const members =
    analysis.members === undefined
      ? undefined
      : denormalise({ data: analysis.members, shape: [M, C, H, W] }, norm).data; // [M, C, H, W]
  const out = {
    validTime: isoHour(source, at.index),
    stateIndex: at.index,
    backgroundStartTime: isoHour(source, at.startIndex),
    backgroundKind: at.kind,
    // A latent job's mean is that of its physical members, as the platform, which gets them back from the encoder
    // service in physical units, computes it (member-stats.ts): the same arithmetic, the same bits.
    mean: field(members === undefined ? physical(analysis.mean) : memberMean(members, M)),
    background: field(physical(xb)),
    diagnostics: jobDiagnostics(obs, xb, analysis.mean, source.channels),
    settings: at.settings,
    timings: at.timings,
  };
  if (members === undefined) return out;
  return {
    ...out,
    members,
    ...(M > 1 ? { spread: field(memberStd(members, M)) } : {}),
    seeds: {
      sampler: request.seed,
      members: Array.from({ length: M }, (_, m) => memberSeed(request.seed, m)),
    },
  };
}

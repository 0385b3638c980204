/**
 * The 3D-Var observing-system simulation experiment (OSSE) on a QG nature run: backgrounds are forecasts of the
 * imperfect physical model from the truth 48 h earlier; B is estimated from background-minus-truth statistics of
 * training cases and its length scale tuned on some of them; test cases are assimilated with simulated gridded
 * observations and verified against the truth, with forecasts from background and analysis compared 48 h later.
 * Everything is solved in normalised units (per-channel z-scores of the training period).
 */
import { fit3DVar } from '@alignda/da';
import type { BackgroundErrorStats, Tune3DVarResult, Var3DCase } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { createRng, denormalise, fitNormStats, latWeightedRmse, mse, normalise } from '@alignda/tensor';
import type { Field, NormStats } from '@alignda/tensor';
import { forecastModel } from '@alignda/world';
import type { NatureRun, QgForecastModel } from '@alignda/world';

import { assimilate } from './assimilate.js';
import { pickPhasedCases } from './cases.js';
import { DEFAULT_OBS_FRACTION, observe } from './observe.js';
import type { ObsLayout, ObserveOptions } from './observe.js';
import { backgroundTruthPairs } from './var3d-pairs.js';

/** Settings of an observing-system simulation experiment (OSSE) on a QG nature run. */
export interface QgOsseOptions {
  /**
   * What is observed. @defaultValue 'columns' (the paper's masking: whole columns; the demo's OSSE has reported on
   * columns since it was written)
   */
  readonly obsLayout?: ObsLayout;
  /** Share of grid columns observed (all channels). @defaultValue {@link DEFAULT_OBS_FRACTION} (the paper's 1 %) */
  readonly obsFraction?: number;
  /**
   * Observation noise standard deviation in normalised units (per channel std = 1). Also the error std R
   * assumes. @defaultValue 0.02 (the paper's smallest ablation; R must be > 0 for 3D-Var)
   */
  readonly noiseStd?: number;
  /** Background lead time, hours (forecast of the imperfect model from the truth this long before). @defaultValue 48 */
  readonly leadHours?: number;
  /** Training cases used for B and tuning. @defaultValue 24 */
  readonly trainCases?: number;
  /** Of those, cases used for the length-scale search. @defaultValue 6 */
  readonly tuneCases?: number;
  /** Held-out test cases. @defaultValue 8 */
  readonly testCases?: number;
  /** Candidate correlation length scales, metres. @defaultValue 150-1200 km */
  readonly lengthScalesM?: readonly number[];
  /** Seed of observation draws and case picks. @defaultValue 7 */
  readonly seed?: number;
  /** Progress as (stage, fraction of that stage). */
  readonly onProgress?: (stage: string, fraction: number) => void;
}

/** Per-case verification numbers. */
export interface QgOsseCase {
  readonly index: number;
  readonly validTimeHours: number;
  readonly observations: number;
  /** MSE over all normalised channels. */
  readonly backgroundMse: number;
  readonly analysisMse: number;
  /** Latitude-weighted RMSE per channel (physical units). */
  readonly backgroundWrmse: Float64Array;
  readonly analysisWrmse: Float64Array;
  /** MSE (normalised) of the forecast started from each, at +leadHours, against the truth then. */
  readonly forecastFromBackgroundMse: number;
  readonly forecastFromAnalysisMse: number;
  readonly cgIterations: number;
}

/** Result of {@link runVar3dOsse}. */
export interface QgOsseResult {
  readonly stats: BackgroundErrorStats;
  readonly tuning: Tune3DVarResult;
  readonly cases: readonly QgOsseCase[];
  /** The first test case's fields, for maps: truth, background, analysis (physical units). */
  readonly example: { readonly truth: Field; readonly background: Field; readonly analysis: Field };
  readonly norm: NormStats;
}

function normField(f: Field, norm: NormStats): Float32Array {
  return normalise({ data: f.data, shape: f.shape }, norm).data;
}

/** Runs the OSSE (see the module comment). */
export async function runVar3dOsse(run: NatureRun, opts: QgOsseOptions = {}): Promise<QgOsseResult> {
  const leadHours = opts.leadHours ?? 48;
  const leadSteps = leadHours / 6;
  const observeOpts: ObserveOptions = {
    layout: opts.obsLayout ?? 'columns',
    fraction: opts.obsFraction ?? DEFAULT_OBS_FRACTION,
    noiseStd: opts.noiseStd ?? 0.02,
  };
  const nTrain = opts.trainCases ?? 24;
  const nTune = Math.min(opts.tuneCases ?? 6, nTrain);
  const nTest = opts.testCases ?? 8;
  const lengthScalesM = opts.lengthScalesM ?? [150e3, 300e3, 450e3, 600e3, 900e3, 1200e3];
  // One stream for case picks and observations, drawn in a fixed order: train picks, tuning observations, test
  // picks, test observations.
  const rng = createRng(opts.seed ?? 7);
  const progress = opts.onProgress ?? (() => undefined);
  const model: QgForecastModel = forecastModel();
  const shape = [run.channels.length, run.grid.latDeg.length, run.grid.lonDeg.length] as const;
  const n = shape[0] * shape[1] * shape[2];

  // Normalisation statistics from a thinned train period (every 4th state = daily).
  const [trainLo, trainHi] = run.periods.train;
  const sampleIdx: number[] = [];
  for (let i = trainLo; i < trainHi; i += 4) sampleIdx.push(i);
  const stack = new Float32Array(sampleIdx.length * n);
  sampleIdx.forEach((i, k) => stack.set(run.state(i).data, k * n));
  const norm = fitNormStats({ data: stack, shape: [sampleIdx.length, ...shape] }, { channels: run.channels });

  const background = (i: number): Field => {
    const last = model.forecast(run.state(i - leadSteps), leadHours).at(-1);
    if (!last) throw new AppError('INTERNAL', 'the forecast model returned no state');
    return last;
  };
  const observeTruth = (truth: Field) =>
    observe({ ...truth, data: normField(truth, norm) }, observeOpts, rng);

  // Training cases: B statistics, and every (nTrain / nTune)-th of them for the length-scale search.
  const trainIdx = pickPhasedCases(rng, trainLo + leadSteps, trainHi, nTrain);
  const pairs = await backgroundTruthPairs(
    trainIdx,
    shape,
    (i) => normField(background(i), norm),
    (i) => normField(run.state(i), norm),
    (f) => progress('backgrounds (train)', f),
  );
  const tuneCases: Var3DCase[] = [];
  trainIdx.forEach((i, k) => {
    if (k % Math.max(1, Math.floor(nTrain / nTune)) !== 0 || tuneCases.length >= nTune) return;
    tuneCases.push({
      background: pairs.background.data.slice(k * n, (k + 1) * n),
      truth: pairs.truth.data.slice(k * n, (k + 1) * n),
      obs: observeTruth(run.state(i)),
    });
  });
  const { stats, tuning, bSqrt } = fit3DVar(pairs, tuneCases, run.grid, {
    lengthScalesM,
    stats: { perLatitude: true, crossChannel: true },
    onProgress: (f) => progress('tune length scale', f),
  });

  // Test cases.
  const [testLo, testHi] = run.periods.test;
  const testIdx = pickPhasedCases(rng, testLo + leadSteps, testHi - leadSteps, nTest);
  const cases: QgOsseCase[] = [];
  let example: QgOsseResult['example'] | undefined;
  for (const [k, i] of testIdx.entries()) {
    const truth = run.state(i);
    const bgField = background(i);
    const bg = normField(bgField, norm);
    const obs = observeTruth(truth);
    const res = await assimilate({ method: '3dvar', background: bg, obs, bSqrt });
    const anNorm = res.mean;
    const analysis: Field = { ...truth, data: denormalise({ data: anNorm, shape }, norm).data };
    const tr = normField(truth, norm);
    const later = normField(run.state(i + leadSteps), norm);
    const fcB = normField(model.forecast(bgField, leadHours).at(-1) ?? bgField, norm);
    const fcA = normField(model.forecast(analysis, leadHours).at(-1) ?? analysis, norm);
    const lat = run.grid.latDeg;
    cases.push({
      index: i,
      validTimeHours: run.hours[i] ?? Number.NaN,
      observations: obs.values.length,
      backgroundMse: mse({ data: bg, shape }, { data: tr, shape }).overall,
      analysisMse: mse({ data: anNorm, shape }, { data: tr, shape }).overall,
      backgroundWrmse: latWeightedRmse({ data: bgField.data, shape }, { data: truth.data, shape }, lat)
        .perChannel,
      analysisWrmse: latWeightedRmse({ data: analysis.data, shape }, { data: truth.data, shape }, lat)
        .perChannel,
      forecastFromBackgroundMse: mse({ data: fcB, shape }, { data: later, shape }).overall,
      forecastFromAnalysisMse: mse({ data: fcA, shape }, { data: later, shape }).overall,
      cgIterations: res.iterations ?? 0,
    });
    example ??= { truth, background: bgField, analysis };
    progress('assimilate (test)', (k + 1) / nTest);
  }
  if (!example) throw new AppError('INVALID_ARGUMENT', 'the OSSE has no test case');
  return { stats, tuning, cases, example, norm };
}

import { estimateBackgroundError, solve3DVar, tune3DVar } from '@alignda/da';
import type { BackgroundErrorStats, Observations, Tune3DVarResult, Var3DCase } from '@alignda/da';
import { createBSqrt } from '@alignda/da';
import { createRng, fitNormStats, latWeightedRmse, mse, normalise, denormalise } from '@alignda/tensor';
import type { Field, NormStats, Rng } from '@alignda/tensor';
import { forecastModel, simulateGriddedObs } from '@alignda/world';
import type { NatureRun, QgForecastModel } from '@alignda/world';
import { griddedFromBatch } from './observations.js';

/** Settings of an observing-system simulation experiment (OSSE) on a QG nature run. */
export interface QgOsseOptions {
  /** Share of grid columns observed (all channels). @defaultValue 0.01 (the paper's 1 %) */
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

/** Result of {@link runQgOsse}. */
export interface QgOsseResult {
  readonly stats: BackgroundErrorStats;
  readonly tuning: Tune3DVarResult;
  readonly cases: readonly QgOsseCase[];
  /** The first test case's fields, for maps: truth, background, analysis (physical units). */
  readonly example: { readonly truth: Field; readonly background: Field; readonly analysis: Field };
  readonly norm: NormStats;
}

function pickIndices(rng: Rng, lo: number, hi: number, n: number): number[] {
  const span = hi - lo;
  if (span < n) throw new RangeError(`need ${n} cases in [${lo}, ${hi}) but the period has ${span} states`);
  // Evenly spaced with a random phase: cases far apart in time are closer to independent.
  const step = span / n;
  const phase = rng.uniform() * step;
  return Array.from({ length: n }, (_, k) => lo + Math.floor(phase + k * step));
}

function normField(f: Field, norm: NormStats): Float32Array {
  return normalise({ data: f.data, shape: f.shape }, norm).data;
}

function withData(like: Field, data: Float32Array): Field {
  return { ...like, data };
}

/**
 * A 3D-Var OSSE on a QG nature run: backgrounds are imperfect-model forecasts from the truth `leadHours`
 * earlier; B is estimated from background-minus-truth statistics of training cases and its length scale
 * tuned on some of them; test cases are assimilated with simulated gridded observations and verified
 * against the truth, with forecasts from background and analysis compared `leadHours` later.
 * Everything is solved in normalised units (per-channel z-scores of the training period).
 */
export function runQgOsse(run: NatureRun, opts: QgOsseOptions = {}): QgOsseResult {
  const leadHours = opts.leadHours ?? 48;
  const leadSteps = leadHours / 6;
  const obsFraction = opts.obsFraction ?? 0.01;
  const noiseStd = opts.noiseStd ?? 0.02;
  const nTrain = opts.trainCases ?? 24;
  const nTune = Math.min(opts.tuneCases ?? 6, nTrain);
  const nTest = opts.testCases ?? 8;
  const lengthScalesM = opts.lengthScalesM ?? [150e3, 300e3, 450e3, 600e3, 900e3, 1200e3];
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
    const fc = model.forecast(run.state(i - leadSteps), leadHours);
    const last = fc[fc.length - 1];
    if (!last) throw new Error('forecast returned no state');
    return last;
  };
  const observe = (truth: Field): Observations => {
    const truthNorm = withData(truth, normField(truth, norm));
    const { batch } = simulateGriddedObs(truthNorm, { fraction: obsFraction, noiseStd, rng });
    return griddedFromBatch(batch, shape);
  };

  // Training cases: B statistics and tuning.
  const trainIdx = pickIndices(rng, trainLo + leadSteps, trainHi, nTrain);
  const bgs = new Float32Array(nTrain * n);
  const truths = new Float32Array(nTrain * n);
  const tuneCases: Var3DCase[] = [];
  trainIdx.forEach((i, k) => {
    const truth = run.state(i);
    const bg = normField(background(i), norm);
    const tr = normField(truth, norm);
    bgs.set(bg, k * n);
    truths.set(tr, k * n);
    if (k % Math.max(1, Math.floor(nTrain / nTune)) === 0 && tuneCases.length < nTune) {
      tuneCases.push({ background: bg, truth: tr, obs: observe(truth) });
    }
    progress('backgrounds (train)', (k + 1) / nTrain);
  });
  const stats = estimateBackgroundError(
    { data: bgs, shape: [nTrain, ...shape] },
    { data: truths, shape: [nTrain, ...shape] },
    { perLatitude: true, crossChannel: true },
  );
  const tuning = tune3DVar({
    grid: run.grid,
    stats,
    cases: tuneCases,
    lengthScalesM,
    onProgress: (f) => progress('tune length scale', f),
  });
  const bSqrt = createBSqrt(run.grid, stats, { lengthScaleM: tuning.best.lengthScaleM });

  // Test cases.
  const [testLo, testHi] = run.periods.test;
  const testIdx = pickIndices(rng, testLo + leadSteps, testHi - leadSteps, nTest);
  const cases: QgOsseCase[] = [];
  let example: QgOsseResult['example'] | undefined;
  testIdx.forEach((i, k) => {
    const truth = run.state(i);
    const bgField = background(i);
    const bg = normField(bgField, norm);
    const obs = observe(truth);
    const res = solve3DVar({ background: bg, obs, bSqrt });
    const anNorm = Float32Array.from(res.analysis);
    const analysis = withData(truth, denormalise({ data: anNorm, shape }, norm).data);
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
      cgIterations: res.iterations,
    });
    example ??= { truth, background: bgField, analysis };
    progress('assimilate (test)', (k + 1) / nTest);
  });
  if (!example) throw new Error('no test case');
  return { stats, tuning, cases, example, norm };
}

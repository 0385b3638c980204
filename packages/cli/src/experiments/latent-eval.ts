/**
 * Evaluation of latent score-based DA against the background and 3D-Var on held-out cases (METHOD.md section 7,
 * issue 5): for each test case, the background is the emulator's 48 h forecast from the truth 48 h earlier, the
 * observations a random share of grid columns of the truth (plus noise); the same background latent and the same
 * observations go to ObsFree, Repaint and DPS (one prior, paired seeds) and to 3D-Var (B from train-period
 * background-minus-truth statistics, tuned length scale). Metrics: MSE/MAE (normalised), latitude-weighted RMSE per
 * channel (physical), MSE of the emulator's 48 h forecast from each analysis, Geo-Score.
 */
import {
  createBSqrt,
  dps,
  estimateBackgroundError,
  memberSeed,
  obsFree,
  repaint,
  sample,
  solve3DVar,
  tune3DVar,
} from '@alignda/da';
import type { Guidance, Observations, Var3DCase } from '@alignda/da';
import { createLatentSessions, latentPorts } from '@alignda/nn';
import type { LatentModels, LatentSessions } from '@alignda/nn';
import {
  createRng,
  denormalise,
  geoScore,
  geostrophicDeviation,
  latWeightedRmse,
  mae,
  mse,
  normalise,
} from '@alignda/tensor';
import type { Field, NormStats } from '@alignda/tensor';
import { simulateGriddedObs } from '@alignda/world';

import { griddedFromBatch } from './observations.js';
import type { DaSource } from './sources.js';

/** The analysis methods, in table order. */
export const METHODS = ['background', 'obsfree', 'repaint', 'dps', '3dvar'] as const;
export type Method = (typeof METHODS)[number];
/** The latent guidance modes among {@link METHODS}. */
export const LATENT_MODES = ['obsfree', 'repaint', 'dps'] as const;
export type LatentMode = (typeof LATENT_MODES)[number];

export const METHOD_TITLES: Record<Method, string> = {
  background: 'background',
  obsfree: 'ObsFree',
  repaint: 'Repaint',
  dps: 'DPS',
  '3dvar': '3D-Var',
};

/** Lead of backgrounds and verifying forecasts, 6-hourly steps (48 h). */
export const LEAD_STEPS = 8;

/**
 * Scale s of the Geo-Score 2 sigmoid(-|D - D_truth| / s) (METHOD.md section 5). [choice] 0.25: on the qg world
 * (ci models) the truth has D ~ 0.35, 48 h emulator backgrounds ~ 0.89 and analyses 0.45-0.9, so |D - D_truth|
 * spans 0.1-0.55; with s = 0.25 those map to scores of 0.2-0.9 (s = 0.05 put every method below 0.25).
 */
export const GEO_SCORE_SCALE = 0.25;

/** Candidate DPS step scales zeta' (packages/da's default is 0.2, chosen on a linear-Gaussian test). */
export const DPS_ZETAS = [0.25, 0.5, 1, 2, 4] as const;
/** Candidate Repaint blend weights (1 = replace the latent by the re-noised observation-consistent one). */
export const REPAINT_BLENDS = [0.05, 0.1, 0.25, 0.5, 1] as const;

/** Candidate 3D-Var correlation length scales, metres. */
export const LENGTH_SCALES_M = [150e3, 300e3, 500e3, 750e3, 1000e3, 1500e3] as const;

/** Cases on which 3D-Var's length scale, the DPS step and the Repaint blend are tuned. */
export const TUNE_CASES = 6;

/** Options of {@link runLatentEval}. */
export interface LatentEvalOptions {
  /** Share of grid columns observed (every channel). @defaultValue 0.01 */
  readonly obsFraction?: number;
  /** Std of the observation noise, normalised units; 0 = noise-free (the paper's default). @defaultValue 0 */
  readonly noiseStd?: number;
  /** Held-out cases. @defaultValue 8 */
  readonly cases?: number;
  /** Ensemble members per latent analysis (the analysis is their mean). @defaultValue 1 */
  readonly members?: number;
  /** Predictor steps. @defaultValue 64 */
  readonly steps?: number;
  /** Langevin corrections per step. @defaultValue 1 */
  readonly corrections?: number;
  /** DPS step scale zeta'; undefined: tuned on train cases over {@link DPS_ZETAS}. */
  readonly zeta?: number;
  /** Repaint blend weight; undefined: tuned on train cases over {@link REPAINT_BLENDS}. */
  readonly blend?: number;
  /** 3D-Var correlation length scale, km; undefined: tuned over {@link LENGTH_SCALES_M}. */
  readonly lengthScaleKm?: number;
  /** Seed of case picks, observations and sampler noise. @defaultValue 7 */
  readonly seed?: number;
  /** Cases come in whole days (4 analyses at 00, 06, 12, 18 UTC) for station verification. @defaultValue false */
  readonly wholeDays?: boolean;
  /** Train cases for B statistics. @defaultValue 32 */
  readonly trainCases?: number;
  /** Progress as (stage, fraction). */
  readonly onProgress?: (stage: string, fraction: number) => void;
  /** Called with every analysis (physical units) for extra verification (stations). */
  readonly onAnalysis?: (caseIndex: number, stateIndex: number, method: Method, field: Field) => void;
}

/** Scores of one method on one case. */
export interface MethodScores {
  /** MSE and MAE over all (valid) normalised values. */
  readonly mse: number;
  readonly mae: number;
  /** Latitude-weighted RMSE per channel, physical units. */
  readonly wrmse: readonly number[];
  /** MSE (normalised) of the emulator's 48 h forecast from this state against the truth 48 h later. */
  readonly forecastMse: number;
  /** Mean Geo-Score over levels with z, u, v (NaN when the dataset has none). */
  readonly geoScore: number;
  /** Mean geostrophic deviation D over those levels (NaN when none). */
  readonly geoDeviation: number;
  /** Ensemble spread (RMS member std, normalised) for latent modes with members > 1. */
  readonly spread?: number;
  /** Wall seconds of the analysis. */
  readonly seconds: number;
}

/** One evaluated case. */
export interface EvalCase {
  readonly stateIndex: number;
  readonly time: string;
  readonly observations: number;
  /** The truth's mean geostrophic deviation D (NaN when no level has z, u, v). */
  readonly truthGeoDeviation: number;
  readonly scores: Readonly<Record<Method, MethodScores>>;
}

/** Result of {@link runLatentEval}. */
export interface LatentEvalResult {
  readonly cases: readonly EvalCase[];
  /** 3D-Var length-scale tuning (km -> MSE). */
  readonly tuning: readonly { readonly lengthScaleKm: number; readonly mse: number }[];
  readonly lengthScaleKm: number;
  /** The period whose cases the length scale and the guidance strengths were tuned on. */
  readonly tunedOn: 'alignment' | 'train';
  /** Guidance-strength tuning on train cases (value -> MSE), empty for a mode whose value was given. */
  readonly latentTuning: {
    readonly repaint: { readonly value: number; readonly mse: number }[];
    readonly dps: { readonly value: number; readonly mse: number }[];
  };
  /** The Repaint blend and DPS zeta' used. */
  readonly blend: number | undefined;
  readonly zeta: number | undefined;
  /** Observation error std assumed by R (normalised). */
  readonly obsErrorStd: number;
  /** Fields of the first case for maps (physical units). */
  readonly example: { readonly truth: Field; readonly analyses: Readonly<Record<Method, Field>> };
}

/** Geostrophic levels of a source: channel indices of z, u, v with the same suffix (`z_upper`, `u_upper`, ...). */
export function geoLevels(channels: readonly string[]): { z: number; u: number; v: number; name: string }[] {
  const out: { z: number; u: number; v: number; name: string }[] = [];
  channels.forEach((c, z) => {
    const m = /^z(_.+)?$/.exec(c);
    if (!m) return;
    const suffix = m[1] ?? '';
    const u = channels.indexOf(`u${suffix}`);
    const v = channels.indexOf(`v${suffix}`);
    if (u >= 0 && v >= 0) out.push({ z, u, v, name: suffix.replace(/^_/, '') || 'single' });
  });
  return out;
}

/**
 * State indices of `n` cases in [lo, hi): evenly spaced, or with `wholeDays` ceil(n / 4) whole days of 4
 * consecutive states, each day starting at a multiple of 4 (00 UTC for sources whose state 0 is at 00 UTC).
 * @throws RangeError when the range holds too few states or days
 */
export function pickCases(lo: number, hi: number, n: number, wholeDays: boolean): number[] {
  if (wholeDays) {
    const days = Math.ceil(n / 4);
    const first = Math.ceil(lo / 4) * 4;
    const span = Math.floor((hi - first) / 4);
    if (span < days) throw new RangeError(`need ${days} days in the test period, it has ${span}`);
    const stride = Math.floor(span / days);
    const out: number[] = [];
    for (let d = 0; d < days; d++) for (let k = 0; k < 4; k++) out.push(first + d * stride * 4 + k);
    return out;
  }
  const span = hi - lo;
  if (span < n) throw new RangeError(`need ${n} cases in the test period, it has ${span} usable states`);
  const step = span / n;
  return Array.from({ length: n }, (_, k) => lo + Math.floor(step / 2 + k * step));
}

/** Settings of one latent analysis. */
interface AnalysisSettings {
  readonly zShape: readonly [number, number, number];
  readonly steps: number;
  readonly corrections: number;
  /** DPS zeta' or Repaint blend weight; undefined: the mode's default. */
  readonly param: number | undefined;
  readonly onProgress?: (fraction: number) => void;
}

/**
 * One latent analysis from the background latent `zb1` (standardised, one member; see {@link encodeBackground})
 * with `obs`: sample `s.members` members with the mode's guidance (member m seeded by (seed, m)) and decode; returns
 * the ensemble mean and, for several members, the RMS spread about it.
 */
export async function latentAnalysis(
  s: LatentSessions,
  zb1: Float32Array,
  obs: Observations,
  mode: LatentMode,
  seed: number,
  set: AnalysisSettings,
): Promise<{ mean: Float32Array; spread?: number }> {
  const members = s.members;
  const zb = new Float32Array(members * zb1.length);
  for (let m = 0; m < members; m++) zb.set(zb1, m * zb1.length);
  const ports = latentPorts(s, zb);
  const guidance: Guidance =
    mode === 'obsfree'
      ? obsFree()
      : mode === 'repaint'
        ? repaint({
            obs,
            encoder: ports.encoder,
            decoder: ports.decoder,
            ...(set.param === undefined ? {} : { blend: set.param }),
          })
        : dps({
            obs,
            decoder: ports.decoder,
            vjp: ports.vjp,
            ...(set.param === undefined ? {} : { zeta: set.param }),
          });
  const z = await sample(ports.denoiser, guidance, {
    zShape: set.zShape,
    members,
    batchSize: members,
    steps: set.steps,
    corrections: set.corrections,
    seed,
    ...(set.onProgress === undefined ? {} : { onProgress: set.onProgress }),
  });
  const xs = await ports.decoder(z.data, [members, ...set.zShape]); // [members, C, H, W]
  const size = obs.operator.stateShape.reduce((a, d) => a * d, 1);
  const mean = new Float32Array(size);
  for (let m = 0; m < members; m++)
    for (let j = 0; j < size; j++) mean[j] = (mean[j] as number) + (xs[m * size + j] as number) / members;
  if (members === 1) return { mean };
  let v = 0;
  for (let m = 0; m < members; m++)
    for (let j = 0; j < size; j++) v += ((xs[m * size + j] as number) - (mean[j] as number)) ** 2;
  return { mean, spread: Math.sqrt(v / ((members - 1) * size)) };
}

/** The standardised latent E(x_b) of one normalised background state, with one-member sessions. */
export function encodeBackground(one: LatentSessions, background: Float32Array): Promise<Float32Array> {
  return runOne(one, 'encoder', background);
}

/**
 * Runs one frozen session on one sample (replicated over the session's members) and returns member 0's output.
 * `hour` is the UTC hour of `x`, fed to a forecast session whose emulator has solar forcing.
 * @throws RangeError when the forecast session needs an hour and none is given
 */
async function runOne(
  s: LatentSessions,
  which: 'forecast' | 'encoder',
  x: Float32Array,
  hour?: number,
): Promise<Float32Array> {
  const n = s.members;
  const feed = new Float32Array(n * x.length);
  for (let i = 0; i < n; i++) feed.set(x, i * x.length);
  const name = which === 'forecast' ? 'y' : 'z';
  const clocked = which === 'forecast' && s.forecastTakesHour;
  if (clocked && (hour === undefined || !Number.isFinite(hour)))
    throw new RangeError(
      `eval: the emulator has solar forcing and needs the start state's UTC hour, got ${hour}; the source gives no hourOf`,
    );
  const feeds: Record<string, Float32Array> = { x: feed };
  if (clocked) feeds.hour = new Float32Array(n).fill(hour as number);
  const out = await s[which].run(feeds, [name]);
  const data = out[name]?.data;
  if (!(data instanceof Float32Array)) throw new Error(`eval: no '${name}' output`);
  return data.slice(0, data.length / n);
}

/**
 * Runs the evaluation on `source`'s test period with trained `models`. Nothing here reads the truth except to
 * make observations and to verify: the samplers see the background latent and the observations only.
 */
export async function runLatentEval(
  source: DaSource,
  models: LatentModels,
  opts: LatentEvalOptions = {},
): Promise<LatentEvalResult> {
  const obsFraction = opts.obsFraction ?? 0.01;
  const noiseStd = opts.noiseStd ?? 0;
  const obsErrorStd = Math.max(noiseStd, 0.02);
  const nCases = opts.cases ?? 8;
  const members = opts.members ?? 1;
  const steps = opts.steps ?? 64;
  const corrections = opts.corrections ?? 1;
  const seed = opts.seed ?? 7;
  const nTrain = opts.trainCases ?? 32;
  const progress = opts.onProgress ?? (() => undefined);
  const norm: NormStats = models.vae.norm;
  const shape = source.shape;
  const [C, H, W] = shape;
  const size = C * H * W;
  const mask = source.validMask;
  const lat = source.grid.latDeg;
  const levels = geoLevels(source.channels);

  const one = await createLatentSessions(models, 1, { leadSteps: LEAD_STEPS });
  const ens = members === 1 ? one : await createLatentSessions(models, members, { leadSteps: LEAD_STEPS });
  const zShape = models.score.config.latentShape;

  const normState = (i: number): Float32Array => normalise({ data: source.state(i).data, shape }, norm).data;
  const physical = (x: Float32Array | Float64Array): Float32Array =>
    denormalise({ data: Float32Array.from(x), shape }, norm).data;
  const asField = (like: Field, data: Float32Array): Field => ({ ...like, data });
  const hourOf = (i: number): number | undefined => source.hourOf?.(i);
  const background = (i: number): Promise<Float32Array> =>
    runOne(one, 'forecast', normState(i - LEAD_STEPS), hourOf(i - LEAD_STEPS));
  const observe = (truth: Field, caseSeed: number): Observations => {
    const truthNorm: Field = { ...truth, data: normalise({ data: truth.data, shape }, norm).data };
    const { batch } = simulateGriddedObs(truthNorm, {
      fraction: obsFraction,
      noiseStd,
      errorStd: obsErrorStd,
      rng: createRng(caseSeed),
      ...(mask === undefined ? {} : { validMask: mask }),
    });
    return griddedFromBatch(batch, shape);
  };
  const metricOpts = mask === undefined ? {} : { mask };

  // 3D-Var: B from emulator-background-minus-truth statistics of train cases (its length scale is tuned below).
  const [trainLo, trainHi] = source.periods.train;
  const trainIdx = pickCases(trainLo + LEAD_STEPS, trainHi, nTrain, false);
  const bgs = new Float32Array(nTrain * size);
  const truths = new Float32Array(nTrain * size);
  const trainTune: Var3DCase[] = [];
  for (const [k, i] of trainIdx.entries()) {
    const bg = await background(i);
    const tr = normState(i);
    bgs.set(bg, k * size);
    truths.set(tr, k * size);
    if (k % Math.floor(nTrain / TUNE_CASES) === 0 && trainTune.length < TUNE_CASES)
      trainTune.push({
        background: bg,
        truth: tr,
        obs: observe(source.field(i), memberSeed(seed ^ 0x5eed, k)),
      });
    progress('3D-Var: train backgrounds', (k + 1) / nTrain);
  }
  // Tuning cases: from the alignment period when the source has one (held out from every training, so a prior that
  // has seen the train period's truths cannot flatter its own guidance strength), else the train subset above.
  const tuneCases: Var3DCase[] = trainTune;
  const tunePeriod = source.periods.alignment;
  let tunedOn: 'alignment' | 'train' = 'train';
  if (tunePeriod !== undefined && tunePeriod[1] - tunePeriod[0] - LEAD_STEPS >= TUNE_CASES) {
    tunedOn = 'alignment';
    tuneCases.length = 0;
    for (const [k, i] of pickCases(tunePeriod[0] + LEAD_STEPS, tunePeriod[1], TUNE_CASES, false).entries())
      tuneCases.push({
        background: await background(i),
        truth: normState(i),
        obs: observe(source.field(i), memberSeed(seed ^ 0x5eed, k)),
      });
  }
  const stats = estimateBackgroundError(
    { data: bgs, shape: [nTrain, ...shape] },
    { data: truths, shape: [nTrain, ...shape] },
    { perLatitude: true, crossChannel: C > 1 },
  );
  const tuning = tune3DVar({
    grid: source.grid,
    stats,
    cases: tuneCases,
    lengthScalesM: opts.lengthScaleKm === undefined ? LENGTH_SCALES_M : [opts.lengthScaleKm * 1000],
    onProgress: (f) => progress('3D-Var: tune length scale', f),
  });
  const bSqrt = createBSqrt(source.grid, stats, { lengthScaleM: tuning.best.lengthScaleM });

  // The guidance strengths, tuned like 3D-Var's length scale: on the same cases, one member, best MSE.
  const tuned: Record<LatentMode, number | undefined> = {
    obsfree: undefined,
    repaint: opts.blend,
    dps: opts.zeta,
  };
  const latentTuning: LatentEvalResult['latentTuning'] = { repaint: [], dps: [] };
  const grids = { repaint: REPAINT_BLENDS, dps: DPS_ZETAS } as const;
  const toTune = (['repaint', 'dps'] as const).filter((m) => tuned[m] === undefined);
  const tuneTotal = toTune.reduce((n, m) => n + grids[m].length * tuneCases.length, 0);
  let tuneDone = 0;
  const tuneLatents: Float32Array[] = [];
  for (const c of toTune.length === 0 ? [] : tuneCases)
    tuneLatents.push(await encodeBackground(one, Float32Array.from(c.background)));
  for (const mode of toTune) {
    let best = { value: Number.NaN, mse: Infinity };
    for (const value of grids[mode]) {
      let sum = 0;
      for (const [k, c] of tuneCases.entries()) {
        const a = await latentAnalysis(
          one,
          tuneLatents[k] as Float32Array,
          c.obs,
          mode,
          memberSeed(seed ^ 0x7e57, k),
          {
            zShape,
            steps,
            corrections,
            param: value,
          },
        );
        sum += mse({ data: a.mean, shape }, { data: Float32Array.from(c.truth), shape }, metricOpts).overall;
        progress(`tune guidance (${tunedOn} cases)`, ++tuneDone / tuneTotal);
      }
      const row = { value, mse: sum / tuneCases.length };
      latentTuning[mode].push(row);
      if (row.mse < best.mse) best = row;
    }
    tuned[mode] = best.value;
  }

  // Test cases.
  const [testLo, testHi] = source.periods.test;
  const idx = pickCases(testLo + LEAD_STEPS, testHi - LEAD_STEPS, nCases, opts.wholeDays ?? false);
  const cases: EvalCase[] = [];
  let example: LatentEvalResult['example'] | undefined;
  const total = idx.length * (LATENT_MODES.length + 1);
  let done = 0;
  for (const [k, i] of idx.entries()) {
    const truth = source.field(i);
    const truthN = normState(i);
    const laterN = normState(i + LEAD_STEPS);
    const caseSeed = memberSeed(seed, k);
    const obs = observe(truth, caseSeed);
    const analyses = {} as Record<Method, Float32Array>;
    const seconds = {} as Record<Method, number>;
    const spreads: Partial<Record<Method, number>> = {};
    let t0 = performance.now();
    analyses.background = await background(i);
    seconds.background = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const zb1 = await encodeBackground(one, analyses.background);
    const encodeSeconds = (performance.now() - t0) / 1000; // every latent analysis needs it: counted in each
    for (const mode of LATENT_MODES) {
      t0 = performance.now();
      const a = await latentAnalysis(ens, zb1, obs, mode, caseSeed, {
        zShape,
        steps,
        corrections,
        param: tuned[mode],
        onProgress: (f) => progress('assimilate (test cases)', (done + f) / total),
      });
      if (a.spread !== undefined) spreads[mode] = a.spread;
      const meanX = a.mean;
      analyses[mode] = meanX;
      seconds[mode] = (performance.now() - t0) / 1000 + encodeSeconds;
      done++;
    }
    t0 = performance.now();
    analyses['3dvar'] = Float32Array.from(
      solve3DVar({ background: analyses.background, obs, bSqrt }).analysis,
    );
    seconds['3dvar'] = (performance.now() - t0) / 1000;
    done++;
    progress('assimilate (test cases)', done / total);

    const truthPhys = truth.data;
    const dTruth = levels.map((l) => deviation(truthPhys, l, source, shape));
    const scores = {} as Record<Method, MethodScores>;
    const fields = {} as Record<Method, Field>;
    for (const method of METHODS) {
      const a = analyses[method];
      const phys = physical(a);
      fields[method] = asField(truth, phys);
      opts.onAnalysis?.(k, i, method, fields[method]);
      const fc = await runOne(one, 'forecast', a, hourOf(i));
      const dev = levels.map((l) => deviation(phys, l, source, shape));
      const geo =
        levels.length === 0
          ? Number.NaN
          : dev.reduce((s, d, j) => s + geoScore(d, dTruth[j] as number, GEO_SCORE_SCALE), 0) / levels.length;
      const spread = spreads[method];
      scores[method] = {
        mse: mse({ data: a, shape }, { data: truthN, shape }, metricOpts).overall,
        mae: mae({ data: a, shape }, { data: truthN, shape }, metricOpts).overall,
        wrmse: Array.from(
          latWeightedRmse({ data: phys, shape }, { data: truthPhys, shape }, lat, metricOpts).perChannel,
        ),
        forecastMse: mse({ data: fc, shape }, { data: laterN, shape }, metricOpts).overall,
        geoScore: geo,
        geoDeviation: levels.length === 0 ? Number.NaN : dev.reduce((a, b) => a + b, 0) / levels.length,
        seconds: seconds[method],
        ...(spread === undefined ? {} : { spread }),
      };
    }
    example ??= { truth, analyses: fields };
    cases.push({
      stateIndex: i,
      time: source.timeOf(i),
      observations: obs.values.length,
      truthGeoDeviation: levels.length === 0 ? Number.NaN : dTruth.reduce((a, b) => a + b, 0) / levels.length,
      scores,
    });
  }
  if (example === undefined) throw new Error('eval: no test case');
  return {
    cases,
    tuning: tuning.table.map((r) => ({ lengthScaleKm: r.lengthScaleM / 1000, mse: r.mse })),
    lengthScaleKm: tuning.best.lengthScaleM / 1000,
    latentTuning,
    tunedOn,
    blend: tuned.repaint,
    zeta: tuned.dps,
    obsErrorStd,
    example,
  };
}

function deviation(
  data: Float32Array,
  l: { z: number; u: number; v: number },
  source: DaSource,
  shape: readonly [number, number, number],
): number {
  const HW = shape[1] * shape[2];
  const slab = (c: number): { data: Float32Array; shape: number[] } => ({
    data: data.subarray(c * HW, (c + 1) * HW),
    shape: [shape[1], shape[2]],
  });
  return geostrophicDeviation(
    slab(l.u),
    slab(l.v),
    slab(l.z),
    source.grid,
    source.validMask === undefined ? {} : { mask: source.validMask },
  ).d;
}

/**
 * The latent DA evaluation (METHOD.md section 7, issues 5 and 11): on held-out cases of a source, ObsFree, Repaint
 * and DPS (one prior, paired seeds) against the background, the bias-corrected background, 3D-Var (separable and
 * balanced), an LETKF and hybrid EnVar (the LETKF's members), with the VAE's reconstruction of the truth as the
 * latent floor, and aligned score networks beside the reference. Backgrounds are 48 h forecasts of the physical
 * model (or the emulator) from the truth 48 h earlier; observations are drawn once per case from the case seed;
 * every method's settings are tuned on the same held-out alignment-period cases. The classical rows are fitted in
 * evaluate-classical.ts, the aligned rows' statistics computed in evaluate-aligned.ts.
 */
import { memberSeed } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { createLatentSessions } from '@alignda/nn';
import type { LatentModels, LatentSessions } from '@alignda/nn';
import { createRng, normalise } from '@alignda/tensor';
import { sourceStepHours } from '@alignda/world';
import type { DaSource } from '@alignda/world';

import { LATENT_MODES, assimilate } from './assimilate.js';
import type { LatentMode } from './assimilate.js';
import { pickCases } from './cases.js';
import {
  LEAD_STEPS,
  TUNE_CASES,
  balanceSpec,
  tuneOnCases,
  tuneTrials,
  tuningCases,
} from './evaluate-tuning.js';
import { evaluate } from './evaluate.js';
import type { EvalMethod } from './evaluate.js';
import { leadForecaster } from './job/background.js';
import { decodeState, encodeState, latentPrior } from './latent-models.js';
import { DEFAULT_OBS_FRACTION, observe } from './observe.js';
import type { ObserveOptions } from './observe.js';
import { protocolCard } from './protocol.js';
import { backgroundTruthPairs } from './var3d-pairs.js';
import { DPS_ZETAS, GEO_SCORE_SCALE, REPAINT_BLENDS, defaultBackground } from './evaluate-latent-options.js';
import type { AlignedMethodId } from './evaluate-aligned.js';
import type { EvalMethodId, LatentEvalOptions, LatentEvalResult } from './evaluate-latent-options.js';
import { classicalRows } from './evaluate-classical.js';
import { alignmentGains, alignmentTrends, calibration, checkAligned } from './evaluate-aligned.js';

export { LEAD_STEPS, TUNE_CASES, balanceSpec };
export {
  BACKGROUND_KINDS,
  DPS_ZETAS,
  EVAL_METHODS,
  GEO_SCORE_SCALE,
  HYBRID_GRID,
  LENGTH_SCALES_M,
  LETKF_GRID,
  REPAINT_BLENDS,
  defaultBackground,
} from './evaluate-latent-options.js';
export { splitMethodId } from './evaluate-aligned.js';
export type { AlignedMethodId, AlignedScore } from './evaluate-aligned.js';
export type {
  BackgroundKind,
  EvalMethodId,
  LatentEvalOptions,
  LatentEvalResult,
} from './evaluate-latent-options.js';

/**
 * Runs the evaluation on `source`'s test period with trained `models`. The samplers see the background latent and
 * the observations only.
 */
export async function evaluateLatent(
  source: DaSource,
  models: LatentModels,
  opts: LatentEvalOptions = {},
): Promise<LatentEvalResult> {
  const noiseStd = opts.noiseStd ?? 0.02;
  const obsErrorStd = Math.max(noiseStd, 0.02);
  const layout = opts.obsLayout ?? 'values';
  const backgroundKind = opts.background ?? defaultBackground(source);
  if (backgroundKind === 'model' && source.kind !== 'world')
    throw new AppError(
      'INVALID_ARGUMENT',
      `${source.name} has no dynamical model for backgrounds: use the emulator (background 'emulator')`,
    );
  if (opts.modelBackground !== undefined && opts.modelBackground !== backgroundKind)
    throw new AppError(
      'FAILED_PRECONDITION',
      `the score network was trained on ${opts.modelBackground} backgrounds; evaluating it on ${backgroundKind} backgrounds would not be fair: train a model set with --background ${backgroundKind}`,
    );
  const observeOpts: ObserveOptions = {
    layout,
    fraction: opts.obsFraction ?? DEFAULT_OBS_FRACTION,
    noiseStd,
    errorStd: obsErrorStd,
    ...(source.validMask === undefined ? {} : { validMask: source.validMask }),
  };
  const members = opts.members ?? 1;
  const steps = opts.steps ?? 64;
  const corrections = opts.corrections ?? 1;
  const seed = opts.seed ?? 7;
  const nTrain = opts.trainCases ?? 32;
  const progress = opts.onProgress ?? (() => undefined);
  const norm = models.vae.norm;
  const shape = source.shape;
  const mask = source.validMask;
  const metricOpts = mask === undefined ? {} : { mask };
  const zShape = models.score.config.latentShape;

  const aligned = opts.aligned ?? [];
  checkAligned(models.score, aligned);

  const one = await createLatentSessions(models, 1, { leadSteps: LEAD_STEPS });
  const ens = members === 1 ? one : await createLatentSessions(models, members, { leadSteps: LEAD_STEPS });
  // Each aligned prior with the reference's VAE and emulator: the same encoder, decoder and forecast.
  const alignedEns: { name: string; sessions: LatentSessions }[] = [];
  for (const a of aligned)
    alignedEns.push({
      name: a.name,
      sessions: await createLatentSessions({ ...models, score: a.score }, members, { leadSteps: LEAD_STEPS }),
    });
  const normState = (i: number): Float32Array => normalise({ data: source.state(i).data, shape }, norm).data;
  // The forecast model of backgrounds and of the 48 h skill row: the physical model or the emulator (the jobs' own).
  const forecast48 = leadForecaster(source, norm, one, backgroundKind);
  const background = (i: number): Promise<Float32Array> =>
    forecast48(normState(i - LEAD_STEPS), i - LEAD_STEPS);
  const observeAt = (i: number, caseSeed: number) =>
    observe({ ...source.field(i), data: normState(i) }, observeOpts, createRng(caseSeed));

  // 3D-Var: B from emulator-background-minus-truth statistics of train cases (its length scale is tuned below).
  const [trainLo, trainHi] = source.periods.train;
  const trainIdx = pickCases(trainLo + LEAD_STEPS, trainHi, nTrain, false);
  const pairs = await backgroundTruthPairs(trainIdx, shape, background, normState, (f) =>
    progress('3D-Var: train backgrounds', f),
  );
  const {
    cases: tuneCases,
    indices: tuneIdx,
    period: tunedOn,
  } = await tuningCases(source, trainIdx, pairs, background, normState, (i, k) =>
    observeAt(i, memberSeed(seed ^ 0x5eed, k)),
  );
  const classical = await classicalRows({
    source,
    norm,
    layout,
    seed,
    opts,
    pairs,
    nTrain,
    tuneCases,
    tuneIdx,
    tunedOn,
    normState,
    forecast48,
    progress,
  });

  // The guidance strengths, tuned like 3D-Var's length scale: on the same cases, one member, best MSE.
  const tuned: Record<LatentMode, number | undefined> = {
    obsfree: undefined,
    repaint: opts.blend,
    dps: opts.zeta,
  };
  const latentTuning: LatentEvalResult['latentTuning'] = { repaint: [], dps: [] };
  const grids = { repaint: REPAINT_BLENDS, dps: DPS_ZETAS } as const;
  const toTune = (['repaint', 'dps'] as const).filter(
    (m) => tuned[m] === undefined && (m !== 'repaint' || layout !== 'points'),
  );
  const tuneTotal = toTune.reduce((n, m) => n + grids[m].length * tuneCases.length, 0);
  let tuneDone = 0;
  const tuneLatents: Float32Array[] = [];
  for (const c of toTune.length === 0 ? [] : tuneCases)
    tuneLatents.push(await encodeState(one, Float32Array.from(c.background)));
  for (const mode of toTune) {
    const t = await tuneOnCases(grids[mode], tuneCases, shape, metricOpts, async (value, c, k) => {
      const a = await assimilate({
        method: mode,
        prior: latentPrior(one, tuneLatents[k] as Float32Array, zShape),
        obs: c.obs,
        seed: memberSeed(seed ^ 0x7e57, k),
        steps,
        corrections,
        param: value,
      });
      progress(`tune guidance (${tunedOn} cases)`, ++tuneDone / tuneTotal);
      return a.mean;
    });
    latentTuning[mode].push(...t.table.map((r) => ({ value: r.candidate, mse: r.mse })));
    tuned[mode] = t.best;
  }

  // Test cases: every latent mode starts from the same background latent, encoded once per case.
  let encoded: { caseIndex: number; z: Float32Array; seconds: number } | undefined;
  const backgroundLatent = async (
    caseIndex: number,
    bg: Float32Array,
  ): Promise<{ z: Float32Array; seconds: number }> => {
    if (encoded?.caseIndex !== caseIndex) {
      const t0 = performance.now();
      const z = await encodeState(one, bg);
      encoded = { caseIndex, z, seconds: (performance.now() - t0) / 1000 };
    }
    return encoded;
  };
  // A latent mode with the reference's prior (`dps`) or an aligned one (`dps@M`): the same background latent,
  // observations, sampler seed and guidance strength, so the rows differ by the prior alone.
  const latentMethod = (mode: LatentMode, sessions = ens, id: EvalMethodId = mode): EvalMethod => ({
    id,
    analyse: async (c) => {
      const zb = await backgroundLatent(c.caseIndex, c.background);
      const t0 = performance.now();
      const a = await assimilate({
        method: mode,
        prior: latentPrior(sessions, zb.z, zShape),
        obs: c.obs,
        members,
        seed: c.seed,
        steps,
        corrections,
        ...(tuned[mode] === undefined ? {} : { param: tuned[mode] }),
        onProgress: c.onProgress,
      });
      // Every latent analysis needs the encoded background: its time is counted in each.
      const seconds = (performance.now() - t0) / 1000 + zb.seconds;
      return {
        analysis: a.mean,
        seconds,
        ...(a.spread === undefined ? {} : { spread: a.spread }),
        ...(members > 1 && a.members !== undefined ? { members: a.members } : {}),
      };
    },
  });

  // The floor of any latent method: the decoded posterior mean of the truth's own encoding.
  // It reads the truth by design (seesTruth): it runs while the cases are made, before the truth may be hidden.
  const vaeFloor: EvalMethod = {
    id: 'vae',
    seesTruth: true,
    analyse: async (c) => ({
      analysis: await decodeState(one, await encodeState(one, normState(c.stateIndex))),
    }),
  };
  const modes = LATENT_MODES.filter((m) => m !== 'repaint' || layout !== 'points');
  const latentRows = modes.flatMap((m) => [
    latentMethod(m),
    ...alignedEns.map((a) => latentMethod(m, a.sessions, `${m}@${a.name}` satisfies AlignedMethodId)),
  ]);
  const methods: EvalMethodId[] = [
    'background',
    'background-bc',
    'vae',
    ...latentRows.map((r) => r.id as EvalMethodId),
    ...classical.ids,
  ];
  const [testLo, testHi] = source.periods.test;
  const samplerSeeds = opts.samplerSeeds ?? 1;
  const res = await evaluate(
    {
      source,
      norm,
      background,
      forecast: forecast48,
      ...(classical.backgroundEnsemble === undefined
        ? {}
        : { backgroundEnsemble: classical.backgroundEnsemble }),
    },
    [
      classical.backgroundBc,
      vaeFloor,
      ...latentRows.map((r) => ({ ...r, stochastic: true })),
      ...classical.rows,
    ],
    {
      cases: pickCases(testLo + LEAD_STEPS, testHi - LEAD_STEPS, opts.cases ?? 8, opts.wholeDays ?? false),
      seed,
      observe: observeOpts,
      leadSteps: LEAD_STEPS,
      geoScoreScale: GEO_SCORE_SCALE,
      samplerSeeds,
      onProgress: progress,
      ...(opts.onCasesMade === undefined ? {} : { onCasesMade: opts.onCasesMade }),
      ...(opts.onAnalysis === undefined
        ? {}
        : { onAnalysis: (k, i, m, f) => opts.onAnalysis?.(k, i, m as EvalMethodId, f) }),
    },
  );
  const gains = alignmentGains({ methods, cases: res.cases });
  const trials = (n: number): string => tuneTrials(n, tuneCases.length, tunedOn);
  return {
    methods,
    protocol: protocolCard({
      source,
      observe: observeOpts,
      obsErrorStd,
      background:
        backgroundKind === 'model'
          ? 'the imperfect physical model (QG, perturbed parameters)'
          : 'the learned emulator',
      leadHours: LEAD_STEPS * sourceStepHours(source),
      cases: res.cases.length,
      samplerSeeds,
      members,
      tuning: {
        ...classical.tuning,
        dps: `zeta': ${opts.zeta === undefined ? trials(DPS_ZETAS.length) : 'given'}`,
        repaint: `blend: ${opts.blend === undefined ? trials(REPAINT_BLENDS.length) : 'given'}`,
        obsfree: 'none',
        ...Object.fromEntries(
          aligned.map((a) => [
            `@${a.name}`,
            "the reference's DPS zeta' and Repaint blend (not re-tuned); the same cases, observations, background latents and sampler seeds as the reference",
          ]),
        ),
        vae: 'none (sees the truth: the floor of latent methods, not a competitor)',
      },
    }),
    cases: res.cases,
    ...classical.result,
    latentTuning,
    tunedOn,
    aligned: aligned.map((a) => a.name),
    members,
    gains,
    calibration: calibration({ methods, cases: res.cases }, members),
    trends: aligned.length === 0 ? [] : alignmentTrends(gains, { methods, cases: res.cases }, modes),
    blend: tuned.repaint,
    zeta: tuned.dps,
    obsErrorStd,
    example: res.example,
  };
}

/**
 * The latent DA evaluation (METHOD.md section 7, issues 5 and 11): on held-out cases of a source, ObsFree, Repaint
 * and DPS (one prior, paired seeds) against the background, the bias-corrected background, 3D-Var (separable and
 * balanced), an LETKF and hybrid EnVar (the LETKF's members), with the VAE's reconstruction of the truth as the
 * latent floor. Backgrounds are 48 h
 * forecasts of the physical model (or the emulator) from the truth 48 h earlier; observations are drawn once per
 * case from the case seed; every method's settings are tuned on the same held-out alignment-period cases.
 */
import { biasCorrect, fit3DVar, fitBalanced3DVar, memberSeed } from '@alignda/da';
import type { FitBalanced3DVarResult } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { createLatentSessions } from '@alignda/nn';
import type { LatentModels, LatentSessions } from '@alignda/nn';
import { createRng, denormalise, normalise } from '@alignda/tensor';
import type { Field, FloatArray } from '@alignda/tensor';
import { forecastModel } from '@alignda/world';
import type { DaSource } from '@alignda/world';

import { LATENT_MODES, assimilate } from './assimilate.js';
import type { LatentMode } from './assimilate.js';
import { pickCases } from './cases.js';
import { LEAD_STEPS, TUNE_CASES, balanceSpec, tuneOnCases, tuningCases } from './evaluate-tuning.js';
import { evaluate } from './evaluate.js';
import type { EvalMethod } from './evaluate.js';
import {
  columnLocalisation,
  forecastEnsemble,
  hybridAnalysis,
  letkfMean,
  localisationSqrts,
} from './ensemble.js';
import { decodeState, encodeState, forecastState, latentPrior } from './latent-models.js';
import { DEFAULT_OBS_FRACTION, observe } from './observe.js';
import type { ObserveOptions } from './observe.js';
import { protocolCard } from './protocol.js';
import { backgroundTruthPairs } from './var3d-pairs.js';
import {
  DPS_ZETAS,
  GEO_SCORE_SCALE,
  HYBRID_GRID,
  LENGTH_SCALES_M,
  LETKF_GRID,
  REPAINT_BLENDS,
  defaultBackground,
} from './evaluate-latent-options.js';
import type { AlignedMethodId } from './evaluate-aligned.js';
import type { EvalMethodId, LatentEvalOptions, LatentEvalResult } from './evaluate-latent-options.js';
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
  const hourOf = (i: number): number | undefined => source.hourOf?.(i);
  // The forecast model of backgrounds and of the 48 h skill row: the physical model or the emulator.
  const physicalModel = backgroundKind === 'model' ? forecastModel() : undefined;
  const forecast48 = (x: Float32Array, i: number): Promise<Float32Array> => {
    if (physicalModel === undefined) return forecastState(one, x, hourOf(i));
    const start: Field = {
      ...source.field(i),
      data: denormalise({ data: Float32Array.from(x), shape }, norm).data,
    };
    const end = physicalModel.forecast(start, LEAD_STEPS * 6).at(-1) ?? start;
    return Promise.resolve(normalise({ data: end.data, shape }, norm).data);
  };
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
  const var3d = fit3DVar(pairs, tuneCases, source.grid, {
    lengthScalesM: opts.lengthScaleKm === undefined ? LENGTH_SCALES_M : [opts.lengthScaleKm * 1000],
    stats: { perLatitude: true, crossChannel: shape[0] > 1 },
    ...(mask === undefined ? {} : { validMask: mask }),
    onProgress: (f) => progress('3D-Var: tune length scale', f),
  });
  // The fair 3D-Var: bias-corrected, balanced where the source declares its dynamics' balance.
  const balance = balanceSpec(source, norm.std);
  const balanced: FitBalanced3DVarResult | undefined =
    balance === undefined
      ? undefined
      : fitBalanced3DVar(pairs, tuneCases, source.grid, {
          balance,
          stats: { perLatitude: true },
          ...(mask === undefined ? {} : { validMask: mask }),
          onProgress: (f) => progress('3D-Var: balanced B, tune length scales', f),
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
  const var3dMethod: EvalMethod = {
    id: '3dvar',
    analyse: async (c) => ({
      analysis: (
        await assimilate({ method: '3dvar', background: c.background, obs: c.obs, bSqrt: var3d.bSqrt })
      ).mean,
    }),
  };
  const backgroundBc: EvalMethod = {
    id: 'background-bc',
    analyse: (c) => Promise.resolve({ analysis: Float32Array.from(biasCorrect(c.background, var3d.stats)) }),
  };
  const var3dBalanced: EvalMethod | undefined =
    balanced === undefined
      ? undefined
      : {
          id: '3dvar-bal',
          analyse: async (c) => ({
            analysis: (
              await assimilate({
                method: '3dvar',
                background: balanced.correctBackground(c.background),
                obs: c.obs,
                bSqrt: balanced.bSqrt,
              })
            ).mean,
          }),
        };
  // The LETKF: an ensemble of model forecasts from perturbed initial states, tuned like the others.
  const nEns = opts.ensembleMembers ?? 16;
  if (!Number.isInteger(nEns) || nEns < 0 || nEns === 1)
    throw new AppError(
      'INVALID_ARGUMENT',
      `ensembleMembers must be 0 (no LETKF) or an integer >= 2, got ${nEns}`,
    );
  const useLetkf = nEns >= 2 && layout !== 'points';
  const ensembleOf = (i: number, bg: Float32Array, scale: number, ensSeed: number): Promise<Float32Array> =>
    forecastEnsemble(normState(i - LEAD_STEPS), bg, var3d.bSqrt, {
      members: nEns,
      scale,
      rng: createRng(ensSeed),
      forecast: (x) => forecast48(x, i - LEAD_STEPS),
    });
  // One ensemble per tuning case and perturbation scale, shared by the LETKF's half-widths and by hybrid EnVar.
  const tuneEnsembles = new Map<string, Promise<Float32Array>>();
  const tuneEnsemble = (k: number, bg: FloatArray, scale: number): Promise<Float32Array> => {
    const key = `${k}:${scale}`;
    let ens = tuneEnsembles.get(key);
    if (ens === undefined) {
      ens = ensembleOf(tuneIdx[k] as number, Float32Array.from(bg), scale, memberSeed(seed ^ 0x1e7f, k));
      tuneEnsembles.set(key, ens);
    }
    return ens;
  };
  let letkfTuning: { scale: number; halfWidthKm: number; mse: number }[] = [];
  let letkfBest = LETKF_GRID[0] as (typeof LETKF_GRID)[number];
  if (useLetkf) {
    let doneT = 0;
    const t = await tuneOnCases(LETKF_GRID, tuneCases, shape, metricOpts, async (cand, c, k) => {
      const loc = columnLocalisation(source.grid, shape, c.obs, cand.halfWidthM);
      const a = letkfMean(await tuneEnsemble(k, c.background, cand.scale), nEns, c.obs, loc, 1);
      progress(`LETKF: tune (${tunedOn} cases)`, ++doneT / (tuneCases.length * LETKF_GRID.length));
      return a.mean;
    });
    letkfTuning = t.table.map((r) => ({
      scale: r.candidate.scale,
      halfWidthKm: r.candidate.halfWidthM / 1000,
      mse: r.mse,
    }));
    letkfBest = t.best;
  }
  // A test case's ensemble, made with its background by evaluate (the backgroundEnsemble port below) for each sampler
  // seed, and shared by the LETKF and hybrid EnVar.
  const caseEnsemble = (c: { ensemble?: Float32Array }): Float32Array => {
    if (c.ensemble === undefined)
      throw new AppError('INTERNAL', 'evaluateLatent: a test case came without its background ensemble');
    return c.ensemble;
  };
  const letkfMethod: EvalMethod = {
    id: 'letkf',
    stochastic: true,
    analyse: (c) => {
      const ens = caseEnsemble(c);
      const a = letkfMean(
        ens,
        nEns,
        c.obs,
        columnLocalisation(source.grid, shape, c.obs, letkfBest.halfWidthM),
        1,
      );
      return Promise.resolve({ analysis: a.mean, spread: a.spread });
    },
  };
  // Hybrid EnVar: the fair 3D-Var's B_clim and background with the LETKF's members (its tuned scale), tuned alike.
  const bClim = balanced?.bSqrt ?? var3d.bSqrt;
  const hybridBackground = (bg: FloatArray): Float64Array =>
    balanced === undefined ? Float64Array.from(bg) : balanced.correctBackground(bg);
  const locSqrt = localisationSqrts(source.grid);
  let hybridTuning: { weight: number; halfWidthKm: number; mse: number }[] = [];
  let hybridBest = HYBRID_GRID[0] as (typeof HYBRID_GRID)[number];
  if (useLetkf) {
    let doneH = 0;
    const t = await tuneOnCases(HYBRID_GRID, tuneCases, shape, metricOpts, async (cand, c, k) => {
      const ens = await tuneEnsemble(k, c.background, letkfBest.scale);
      const a = hybridAnalysis(
        ens,
        nEns,
        hybridBackground(c.background),
        c.obs,
        bClim,
        cand.weight,
        locSqrt(cand.halfWidthM),
      );
      progress(`hybrid: tune (${tunedOn} cases)`, ++doneH / (tuneCases.length * HYBRID_GRID.length));
      return a;
    });
    hybridTuning = t.table.map((r) => ({
      weight: r.candidate.weight,
      halfWidthKm: r.candidate.halfWidthM / 1000,
      mse: r.mse,
    }));
    hybridBest = t.best;
  }
  const hybridMethod: EvalMethod = {
    id: 'hybrid',
    stochastic: true,
    analyse: (c) =>
      Promise.resolve({
        analysis: hybridAnalysis(
          caseEnsemble(c),
          nEns,
          hybridBackground(c.background),
          c.obs,
          bClim,
          hybridBest.weight,
          locSqrt(hybridBest.halfWidthM),
        ),
      }),
  };
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
    '3dvar',
    ...(var3dBalanced === undefined ? [] : (['3dvar-bal'] as const)),
    ...(useLetkf ? (['letkf', 'hybrid'] as const) : []),
  ];
  const [testLo, testHi] = source.periods.test;
  const samplerSeeds = opts.samplerSeeds ?? 1;
  const res = await evaluate(
    {
      source,
      norm,
      background,
      forecast: forecast48,
      ...(useLetkf
        ? {
            backgroundEnsemble: (i: number, bg: Float32Array, s: number) =>
              ensembleOf(i, bg, letkfBest.scale, s ^ 0x1e7f),
          }
        : {}),
    },
    [
      backgroundBc,
      vaeFloor,
      ...latentRows.map((r) => ({ ...r, stochastic: true })),
      var3dMethod,
      ...(var3dBalanced === undefined ? [] : [var3dBalanced]),
      ...(useLetkf ? [letkfMethod, hybridMethod] : []),
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
  const tuneTrials = (n: number): string => `${n} values x ${tuneCases.length} ${tunedOn}-period cases`;
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
      leadHours: LEAD_STEPS * 6,
      cases: res.cases.length,
      samplerSeeds,
      members,
      tuning: {
        'background-bc': `the mean background error of ${nTrain} train-period pairs removed`,
        '3dvar': `separable univariate B from ${nTrain} train-period pairs; length scale: ${opts.lengthScaleKm === undefined ? tuneTrials(LENGTH_SCALES_M.length) : 'given'}`,
        ...(balanced === undefined
          ? {}
          : {
              '3dvar-bal': `bias-corrected backgrounds; balanced multivariate B (geostrophic winds, hydrostatic temperature), per-variable variances and length scales from ${nTrain} train-period pairs; a common length-scale multiplier: ${tuneTrials(balanced.tuning.table.length)}`,
            }),
        dps: `zeta': ${opts.zeta === undefined ? tuneTrials(DPS_ZETAS.length) : 'given'}`,
        repaint: `blend: ${opts.blend === undefined ? tuneTrials(REPAINT_BLENDS.length) : 'given'}`,
        ...(useLetkf
          ? {
              letkf: `${nEns} members: ${LEAD_STEPS * 6} h forecasts of the background's model from the truth ${LEAD_STEPS * 6} h earlier plus initial perturbations scale x U_clim v, recentred on the background; Gaspari-Cohn localisation over grid columns, no inflation; scale x half-width: ${tuneTrials(LETKF_GRID.length)}`,
              hybrid: `B = (1 - a) B_clim + a P_ens o L by the augmented control vector; B_clim and background: ${balanced === undefined ? "the separable 3D-Var's (no bias correction)" : "the balanced 3D-Var's (bias-corrected)"}; P_ens: the LETKF's ${nEns} members (its perturbation scale ${letkfBest.scale}, the same draws); L: Gaspari-Cohn between grid cells (horizontal, every channel alike); weight a x half-width: ${tuneTrials(HYBRID_GRID.length)}`,
            }
          : {}),
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
    tuning: var3d.tuning.table.map((r) => ({ lengthScaleKm: r.lengthScaleM / 1000, mse: r.mse })),
    ...(useLetkf
      ? {
          letkf: {
            members: nEns,
            tuning: letkfTuning,
            best: { scale: letkfBest.scale, halfWidthKm: letkfBest.halfWidthM / 1000 },
          },
          hybrid: {
            members: nEns,
            scale: letkfBest.scale,
            bClim: balanced === undefined ? 'separable' : 'balanced',
            tuning: hybridTuning,
            best: { weight: hybridBest.weight, halfWidthKm: hybridBest.halfWidthM / 1000 },
          },
        }
      : {}),
    lengthScaleKm: var3d.tuning.best.lengthScaleM / 1000,
    ...(balanced === undefined
      ? {}
      : {
          balanced: {
            lengthScalesKm: Array.from(balanced.tuning.best.lengthScalesM, (l) => l / 1000),
            tuning: balanced.tuning.table.map((r) => ({ multiplier: r.multiplier, mse: r.mse })),
          },
        }),
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

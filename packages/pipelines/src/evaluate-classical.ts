/**
 * The classical rows of the latent evaluation (METHOD.md section 7, "A fair comparison"): the bias-corrected
 * background, 3D-Var with the separable B, the balanced bias-corrected 3D-Var where the source declares its balance,
 * the LETKF and hybrid EnVar on the LETKF's members, each fitted on train-period pairs and tuned on the same held-out
 * cases as the latent rows' guidance strengths.
 */
import { biasCorrect, fit3DVar, fitBalanced3DVar, memberSeed } from '@alignda/da';
import type { FitBalanced3DVarResult, Var3DCase } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { createRng } from '@alignda/tensor';
import type { FloatArray, NormStats } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';

import { assimilate } from './assimilate.js';
import {
  columnLocalisation,
  forecastEnsemble,
  hybridAnalysis,
  letkfMean,
  localisationSqrts,
} from './ensemble.js';
import { HYBRID_GRID, LENGTH_SCALES_M, LETKF_GRID } from './evaluate-latent-options.js';
import type { EvalMethodId, LatentEvalOptions, LatentEvalResult } from './evaluate-latent-options.js';
import { LEAD_STEPS, balanceSpec, tuneOnCases, tuneTrials } from './evaluate-tuning.js';
import type { EvalMethod } from './evaluate.js';
import type { ObsLayout } from './observe.js';
import type { backgroundTruthPairs } from './var3d-pairs.js';

/** What the classical rows are fitted and tuned on, made once by the evaluation for every row. */
export interface ClassicalInputs {
  readonly source: DaSource;
  /** The normalisation DA is solved in. */
  readonly norm: NormStats;
  readonly layout: ObsLayout;
  /** The evaluation's seed (the tuning ensembles' draws derive from it). */
  readonly seed: number;
  readonly opts: Pick<LatentEvalOptions, 'lengthScaleKm' | 'ensembleMembers'>;
  /** Train-period (background, truth) pairs and their count. */
  readonly pairs: Awaited<ReturnType<typeof backgroundTruthPairs>>;
  readonly nTrain: number;
  /** The tuning cases, their state indices and their period. */
  readonly tuneCases: readonly Var3DCase[];
  readonly tuneIdx: readonly number[];
  readonly tunedOn: 'alignment' | 'train';
  readonly normState: (i: number) => Float32Array;
  /** The normalised 48 h forecast of the backgrounds' model from the normalised state x valid at state i. */
  readonly forecast48: (x: Float32Array, i: number) => Promise<Float32Array>;
  readonly progress: (stage: string, fraction: number) => void;
}

/** The classical rows, fitted and tuned, and what the result and the protocol card say of them. */
export interface ClassicalRows {
  /** The bias-corrected background (first after the background in the table). */
  readonly backgroundBc: EvalMethod;
  /** 3D-Var, the balanced 3D-Var, the LETKF and hybrid EnVar as evaluated, in table order, and their ids. */
  readonly rows: readonly EvalMethod[];
  readonly ids: readonly EvalMethodId[];
  /** The background ensemble of a test case (the LETKF's and hybrid's members), when those rows run. */
  readonly backgroundEnsemble?: (i: number, background: Float32Array, seed: number) => Promise<Float32Array>;
  /** The protocol card's tuning lines of these rows. */
  readonly tuning: Readonly<Record<string, string>>;
  /** The result's fields of these rows. */
  readonly result: Pick<LatentEvalResult, 'tuning' | 'lengthScaleKm' | 'letkf' | 'hybrid' | 'balanced'>;
}

/**
 * Fits and tunes the classical rows.
 * @throws AppError INVALID_ARGUMENT for an ensemble size of 1 or a negative one
 */
export async function classicalRows(inputs: ClassicalInputs): Promise<ClassicalRows> {
  const {
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
  } = inputs;
  const progress = inputs.progress;
  const shape = source.shape;
  const mask = source.validMask;
  const metricOpts = mask === undefined ? {} : { mask };
  const trials = (n: number): string => tuneTrials(n, tuneCases.length, tunedOn);
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
  return {
    backgroundBc,
    rows: [
      var3dMethod,
      ...(var3dBalanced === undefined ? [] : [var3dBalanced]),
      ...(useLetkf ? [letkfMethod, hybridMethod] : []),
    ],
    ids: [
      '3dvar',
      ...(var3dBalanced === undefined ? [] : (['3dvar-bal'] as const)),
      ...(useLetkf ? (['letkf', 'hybrid'] as const) : []),
    ],
    ...(useLetkf
      ? {
          backgroundEnsemble: (i: number, bg: Float32Array, s: number) =>
            ensembleOf(i, bg, letkfBest.scale, s ^ 0x1e7f),
        }
      : {}),
    tuning: {
      'background-bc': `the mean background error of ${nTrain} train-period pairs removed`,
      '3dvar': `separable univariate B from ${nTrain} train-period pairs; length scale: ${opts.lengthScaleKm === undefined ? trials(LENGTH_SCALES_M.length) : 'given'}`,
      ...(balanced === undefined
        ? {}
        : {
            '3dvar-bal': `bias-corrected backgrounds; balanced multivariate B (geostrophic winds, hydrostatic temperature), per-variable variances and length scales from ${nTrain} train-period pairs; a common length-scale multiplier: ${trials(balanced.tuning.table.length)}`,
          }),
      ...(useLetkf
        ? {
            letkf: `${nEns} members: ${LEAD_STEPS}-step forecasts of the background's model from the truth ${LEAD_STEPS} steps earlier plus initial perturbations scale x U_clim v, recentred on the background; Gaspari-Cohn localisation over grid columns, no inflation; scale x half-width: ${trials(LETKF_GRID.length)}`,
            hybrid: `B = (1 - a) B_clim + a P_ens o L by the augmented control vector; B_clim and background: ${balanced === undefined ? "the separable 3D-Var's (no bias correction)" : "the balanced 3D-Var's (bias-corrected)"}; P_ens: the LETKF's ${nEns} members (its perturbation scale ${letkfBest.scale}, the same draws); L: Gaspari-Cohn between grid cells (horizontal, every channel alike); weight a x half-width: ${trials(HYBRID_GRID.length)}`,
          }
        : {}),
    },
    result: {
      tuning: var3d.tuning.table.map((r) => ({ lengthScaleKm: r.lengthScaleM / 1000, mse: r.mse })),
      lengthScaleKm: var3d.tuning.best.lengthScaleM / 1000,
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
      ...(balanced === undefined
        ? {}
        : {
            balanced: {
              lengthScalesKm: Array.from(balanced.tuning.best.lengthScalesM, (l) => l / 1000),
              tuning: balanced.tuning.table.map((r) => ({ multiplier: r.multiplier, mse: r.mse })),
            },
          }),
    },
  };
}

/**
 * Cycled hybrid EnVar (issue 11, items 3 and 7), as operational hybrids cycle (Wang et al. 2013, MWR 141, 4098-4117,
 * section 2: GSI 3DEnVar with an EnKF ensemble recentred on the hybrid analysis): the deterministic analysis and the
 * members are forecast; the members are updated by the LETKF with its tuned settings; the deterministic background
 * gets the hybrid analysis with B = (1 - a) B_clim + a P_ens o L, B_clim the cycled balanced B on the bias-corrected
 * background and P_ens the covariance of the background members; the analysis members are then recentred on the
 * hybrid analysis, so that the ensemble samples errors about what the cycle carries.
 */
import { letkf, solveHybridEnVar } from '@alignda/da';
import type { BSqrt, LocalisationSqrt } from '@alignda/da';
import { AppError } from '@alignda/errors';

import type { CycleAnalyser, CycleWorld, Perturb } from './cycle-step.js';
import { ensembleMean, letkfAnalyser } from './cycle-step.js';
import { columnLocalisation } from './ensemble.js';

/** What the cycled hybrid is built from. */
export interface HybridCycleSettings {
  /** The ensemble's LETKF: members, inflation, RTPS and its own (R-localisation) half-width. */
  readonly members: number;
  readonly inflation: number;
  readonly rtps: number;
  readonly letkfHalfWidthM: number;
  /** The climatological perturbations and their size in the initial members (the LETKF's). */
  readonly perturb: Perturb;
  readonly initialError: number;
  /** B_clim^(1/2) and the background correction that goes with it (the balanced B's bias). */
  readonly bSqrt: BSqrt;
  readonly correct: (b: Float32Array) => Float64Array;
  /** The ensemble's share a of B, in [0, 1]. */
  readonly weight: number;
  /** L^(1/2) of P_ens's Gaspari-Cohn localisation over the grid cells. */
  readonly localisation: LocalisationSqrt;
  /** Relative residual at which the conjugate gradients stop. */
  readonly cgTol: number;
}

/** The cycled hybrid EnVar (see the module comment); its initial members are the LETKF's for the same seed. */
export function hybridAnalyser(world: CycleWorld, s: HybridCycleSettings): CycleAnalyser {
  const M = s.members;
  const [C, H, W] = world.shape;
  const n = C * H * W;
  const ensembleInit = letkfAnalyser(world, {
    members: M,
    inflation: s.inflation,
    rtps: s.rtps,
    halfWidthM: s.letkfHalfWidthM,
    perturb: s.perturb,
    initialError: s.initialError,
  });
  return {
    id: 'hybrid',
    init: (x0, seed) => ({ ...ensembleInit.init(x0, seed), analysis: Float32Array.from(x0) }),
    step: async (carried, obs, from) => {
      const { analysis, ensemble } = carried;
      if (analysis === undefined || ensemble === undefined)
        throw new AppError('INTERNAL', 'hybrid: the carried state needs an analysis and an ensemble');
      const background = await world.forecast(analysis, from);
      const bg = new Float32Array(M * n); // [M, C, H, W]
      for (let m = 0; m < M; m++)
        bg.set(await world.forecast(ensemble.subarray(m * n, (m + 1) * n), from), m * n);
      const res = solveHybridEnVar({
        background: s.correct(background),
        ensemble: { data: bg, shape: [M, C, H, W] },
        obs,
        bSqrt: s.bSqrt,
        weight: s.weight,
        localisation: s.localisation,
        cg: { tol: s.cgTol },
      });
      const xa = Float32Array.from(res.analysis);
      const ens = letkf({ data: bg, shape: [M, C, H, W] }, obs, {
        localisation: columnLocalisation(world.source.grid, world.shape, obs, s.letkfHalfWidthM),
        inflation: s.inflation,
        rtps: s.rtps,
      }).data;
      // Recentre the LETKF's analysis members on the hybrid analysis.
      const am = ensembleMean(ens, M);
      const a = new Float32Array(M * n);
      for (let m = 0; m < M; m++)
        for (let k = 0; k < n; k++)
          a[m * n + k] = (ens[m * n + k] as number) - (am.mean[k] as number) + (xa[k] as number);
      return {
        carried: { analysis: xa, ensemble: a, members: M },
        background,
        analysis: xa,
        backgroundSpread: ensembleMean(bg, M).spread,
        analysisSpread: am.spread,
      };
    },
  };
}

import type { FloatArray, Tensor } from '@alignda/tensor';
import type { Observations } from '../ports.js';
import type { BSqrt } from './b-sqrt.js';
import type { CgOptions } from './cg.js';
import { solveInControlSpace } from './control-solve.js';
import type { LocalisationSqrt } from './localisation-sqrt.js';
import { checkSameShape, fmtShape, invalidArgument } from '../internal/errors.js';

/** Input of {@link solveHybridEnVar}. */
export interface HybridInput {
  /** Background x_b, shape [C, H, W] (one state). */
  readonly background: FloatArray;
  /**
   * Ensemble of background members, shape [N, C, H, W], N >= 2: only their perturbations about their own mean enter
   * (P_ens is their sample covariance), so they may be centred anywhere.
   */
  readonly ensemble: Tensor<FloatArray>;
  /** Observations of the state. */
  readonly obs: Observations;
  /** B_clim^(1/2) (e.g. {@link createBalancedBSqrt} or {@link createBSqrt}). */
  readonly bSqrt: BSqrt;
  /** The ensemble's share a in [0, 1] of B = (1 - a) B_clim + a P_ens: 0 is 3D-Var with B_clim, 1 pure EnVar. */
  readonly weight: number;
  /**
   * The horizontal localisation of P_ens over the H W cells ({@link gaspariCohnSqrt}), the same for every channel.
   * @defaultValue none (the raw sample covariance; the ensemble part then has one control value per member)
   */
  readonly localisation?: LocalisationSqrt;
  /** Conjugate-gradient settings. */
  readonly cg?: CgOptions;
}

/** Result of {@link solveHybridEnVar}. */
export interface HybridResult {
  /** x_a, shape [C, H, W]. */
  readonly analysis: Float64Array;
  /** The control vector at the minimum: v (length C H W), then alpha_k for k = 1..N (length `rank` each). */
  readonly control: Float64Array;
  /** Control values per member (the localisation's rank; 1 without localisation). */
  readonly rank: number;
  readonly iterations: number;
  readonly converged: boolean;
  /** Gradient norms = CG residuals, k = 0..iterations. */
  readonly residualNorms: number[];
  /** Cost J(w_k) = w^T w / 2 + ||d - H T w||^2_{R^-1} / 2, k = 0..iterations (non-increasing). */
  readonly costs: number[];
}

/**
 * Hybrid EnVar (3D): the analysis with B = (1 - a) B_clim + a (P_ens o L), by the augmented control vector (alpha
 * control variables) of Lorenc (2003, QJRMS 129, 3183-3203, section 4) and Buehner (2005, QJRMS 131, 1013-1043,
 * eqs 6-9). With w = (v, alpha_1..alpha_N),
 *   x = x_b + T w,   T w = sqrt(1 - a) U v + sqrt(a) sum_k (X'_k / sqrt(N - 1)) o E S alpha_k,
 * U = B_clim^(1/2), X'_k member k's perturbation about the ensemble mean, S = L^(1/2) over the H W cells (`rank`
 * columns) and E its copy to every channel. Then T T^T = (1 - a) B_clim + a P_ens o (E L E^T) (Wang, Snyder & Hamill
 * 2007, MWR 135, show it is the same analysis as the covariance-blended one), and J(w) = w^T w / 2 + obs term is
 * minimised by the conjugate gradients of {@link solve3DVar}, on a control of C H W + N rank values. Localisation is
 * horizontal only, as the LETKF here analyses whole grid columns.
 * @throws AppError INVALID_ARGUMENT for a weight outside [0, 1], fewer than 2 members, an ensemble whose states
 *   are not B's, a non-finite member, a localisation over other cells, or bad observations (a non-positive error
 *   variance among them)
 */
export function solveHybridEnVar(input: HybridInput): HybridResult {
  const fn = 'solveHybridEnVar';
  const { ensemble, bSqrt, localisation } = input;
  const a = input.weight;
  if (!(a >= 0 && a <= 1))
    throw invalidArgument(
      fn,
      `weight (the ensemble share a of B = (1 - a) B_clim + a P_ens) must be in [0, 1], got ${a}`,
    );
  const N = ensemble.shape[0] as number;
  if (!(N >= 2)) throw invalidArgument(fn, `an ensemble needs at least 2 members, got ${N}`);
  const stateShape = bSqrt.stateShape;
  checkSameShape(fn, 'an ensemble member', ensemble.shape.slice(1), 'B_clim', stateShape);
  const [C, H, W] = stateShape;
  const HW = H * W;
  const n = C * HW;
  if (ensemble.data.length !== N * n)
    throw invalidArgument(
      fn,
      `ensemble data of length ${ensemble.data.length} does not match its shape ${fmtShape(ensemble.shape)}`,
    );
  if (localisation !== undefined && localisation.cells !== HW)
    throw invalidArgument(
      fn,
      `the localisation is over ${localisation.cells} cells but the grid has ${H} x ${W} = ${HW}`,
    );
  // X [N, n]: the perturbations scaled by sqrt(a / (N - 1)), so that X^T X = a P_ens.
  const mean = new Float64Array(n);
  for (let k = 0; k < N; k++)
    for (let j = 0; j < n; j++) {
      const v = ensemble.data[k * n + j] as number;
      if (!Number.isFinite(v)) throw invalidArgument(fn, `member ${k} has a non-finite value at ${j}`);
      mean[j] = (mean[j] as number) + v / N;
    }
  const X = new Float64Array(N * n);
  const f = Math.sqrt(a / (N - 1));
  for (let k = 0; k < N; k++)
    for (let j = 0; j < n; j++)
      X[k * n + j] = f * ((ensemble.data[k * n + j] as number) - (mean[j] as number));
  const cClim = Math.sqrt(1 - a);
  const r = localisation?.rank ?? 1;
  const cell = new Float64Array(HW);
  const sAlpha = new Float64Array(HW);
  const transform = {
    controlSize: n + N * r,
    apply(w: Float64Array): Float64Array {
      const u = bSqrt.apply(w.subarray(0, n));
      const out = new Float64Array(n);
      for (let j = 0; j < n; j++) out[j] = cClim * (u[j] as number);
      for (let k = 0; k < N; k++) {
        const alpha = w.subarray(n + k * r, n + (k + 1) * r);
        if (localisation === undefined) sAlpha.fill(alpha[0] as number);
        else localisation.apply(alpha, sAlpha);
        for (let c = 0; c < C; c++)
          for (let p = 0; p < HW; p++) {
            const j = c * HW + p;
            out[j] = (out[j] as number) + (X[k * n + j] as number) * (sAlpha[p] as number);
          }
      }
      return out;
    },
    applyT(x: Float64Array): Float64Array {
      const w = new Float64Array(n + N * r);
      const u = bSqrt.applyT(x);
      for (let j = 0; j < n; j++) w[j] = cClim * (u[j] as number);
      for (let k = 0; k < N; k++) {
        // E^T (X'_k o x): the member's weighted state summed over channels, per cell.
        cell.fill(0);
        for (let c = 0; c < C; c++)
          for (let p = 0; p < HW; p++) {
            const j = c * HW + p;
            cell[p] = (cell[p] as number) + (X[k * n + j] as number) * (x[j] as number);
          }
        const alpha = w.subarray(n + k * r, n + (k + 1) * r);
        if (localisation === undefined) {
          let s = 0;
          for (let p = 0; p < HW; p++) s += cell[p] as number;
          alpha[0] = s;
        } else localisation.applyT(cell, alpha);
      }
      return w;
    },
  };
  const res = solveInControlSpace(fn, input.background, input.obs, stateShape, transform, input.cg);
  return { ...res, rank: r };
}

import type { FloatArray } from '@alignda/tensor';
import type { Observations } from '../ports.js';
import type { BSqrt } from './b-sqrt.js';
import type { CgOptions } from './cg.js';
import { solveInControlSpace } from './control-solve.js';

/** Input of {@link solve3DVar}. */
export interface Var3DInput {
  /** Background x_b, shape [C, H, W] (one state). */
  readonly background: FloatArray;
  /** Observations of the state (gridded, or point observations through the world's interpolation H). */
  readonly obs: Observations;
  /** B^(1/2) from {@link createBSqrt}. */
  readonly bSqrt: BSqrt;
  /** Conjugate-gradient settings. */
  readonly cg?: CgOptions;
}

/** Result of {@link solve3DVar}. */
export interface Var3DResult {
  /** x_a = x_b + B^(1/2) v, shape [C, H, W]. */
  readonly analysis: Float64Array;
  /** The control vector v at the minimum. */
  readonly control: Float64Array;
  readonly iterations: number;
  readonly converged: boolean;
  /** Gradient norms ||grad J(v_k)|| = CG residuals, k = 0..iterations. */
  readonly residualNorms: number[];
  /** Cost J(v_k) = v^T v / 2 + ||d - H B^(1/2) v||^2_{R^-1} / 2, k = 0..iterations (non-increasing). */
  readonly costs: number[];
}

/**
 * 3D-Var / optimal interpolation in control-variable form (Courtier et al. 1998, QJRMS 124, section 3;
 * Lorenc 1986): minimise J(v) = v^T v / 2 + (d - H U v)^T R^-1 (d - H U v) / 2 with U = B^(1/2),
 * d = y - H x_b, by conjugate gradients on the normal equations (I + U^T H^T R^-1 H U) v = U^T H^T R^-1 d.
 * The change of variable is the preconditioner: the Hessian is the identity plus a rank-P term, so CG
 * converges in at most P + 1 iterations and usually far fewer. x_a = x_b + U v is the same analysis as the
 * physical-space solution of (B^-1 + H^T R^-1 H) dx = H^T R^-1 d (the OI / BLUE analysis).
 */
export function solve3DVar(input: Var3DInput): Var3DResult {
  const { bSqrt } = input;
  const [C, H, W] = bSqrt.stateShape;
  return solveInControlSpace(
    'solve3DVar',
    input.background,
    input.obs,
    bSqrt.stateShape,
    { controlSize: C * H * W, apply: (v) => bSqrt.apply(v), applyT: (x) => bSqrt.applyT(x) },
    input.cg,
  );
}

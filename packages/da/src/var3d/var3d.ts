import type { FloatArray } from '@alignda/tensor';
import type { Observations } from '../ports.js';
import type { BSqrt } from './b-sqrt.js';
import { conjugateGradient } from './cg.js';
import type { CgOptions } from './cg.js';
import { validateObservations } from '../observations.js';
import { invalidArgument } from '../internal/errors.js';

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
  const fn = 'solve3DVar';
  const { background, obs, bSqrt } = input;
  const stateShape = bSqrt.stateShape;
  validateObservations(fn, obs, stateShape);
  const n = stateShape[0] * stateShape[1] * stateShape[2];
  if (background.length !== n) {
    throw invalidArgument(
      fn,
      `background has ${background.length} values but B is for states [${stateShape.join(', ')}] (${n})`,
    );
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(background[i]))
      throw invalidArgument(fn, `background has a non-finite value at ${i}`);
  }
  const P = obs.operator.size;
  const rinv = obs.std.map((s) => 1 / (s * s));
  const hx = obs.operator.apply(background, new Float64Array(P));
  const d = new Float64Array(P);
  let dRd = 0;
  for (let p = 0; p < P; p++) {
    d[p] = (obs.values[p] as number) - (hx[p] as number);
    dRd += (d[p] as number) ** 2 * (rinv[p] as number);
  }
  const tmpP = new Float64Array(P);
  const tmpN = new Float64Array(n);
  /** U^T H^T R^-1 w for w in observation space. */
  const adjointFromObs = (w: Float64Array): Float64Array => {
    for (let p = 0; p < P; p++) tmpP[p] = (w[p] as number) * (rinv[p] as number);
    return bSqrt.applyT(obs.operator.adjoint(tmpP, tmpN));
  };
  const applyHessian = (v: Float64Array): Float64Array => {
    const hu = obs.operator.apply(bSqrt.apply(v), new Float64Array(P));
    const out = adjointFromObs(hu);
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + (v[i] as number);
    return out;
  };
  const b = adjointFromObs(d);
  const res = conjugateGradient(applyHessian, b, input.cg);
  const increment = bSqrt.apply(res.x);
  const analysis = new Float64Array(n);
  for (let i = 0; i < n; i++) analysis[i] = (background[i] as number) + (increment[i] as number);
  return {
    analysis,
    control: res.x,
    iterations: res.iterations,
    converged: res.converged,
    residualNorms: res.residualNorms,
    // J(v) = q(v) + d^T R^-1 d / 2 with q the CG quadratic.
    costs: res.quadratic.map((q) => q + 0.5 * dRd),
  };
}

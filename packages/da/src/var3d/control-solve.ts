import type { FloatArray } from '@alignda/tensor';
import type { Observations } from '../ports.js';
import { conjugateGradient } from './cg.js';
import type { CgOptions } from './cg.js';
import { validateObservations } from '../observations.js';
import { invalidArgument } from '../internal/errors.js';

/** The increment of a control vector, x - x_b = T w, and its adjoint: B = T T^T. */
export interface ControlTransform {
  /** Length of w (the state size for 3D-Var's B^(1/2); more for hybrid EnVar's augmented control). */
  readonly controlSize: number;
  /** x - x_b = T w; w has length `controlSize`, the result the state's. */
  apply(w: Float64Array): Float64Array;
  /** T^T x. */
  applyT(x: Float64Array): Float64Array;
}

/** What {@link solveInControlSpace} returns. */
export interface ControlSolution {
  /** x_a = x_b + T w. */
  readonly analysis: Float64Array;
  /** w at the minimum. */
  readonly control: Float64Array;
  readonly iterations: number;
  readonly converged: boolean;
  /** ||grad J(w_k)||, k = 0..iterations. */
  readonly residualNorms: number[];
  /** J(w_k), k = 0..iterations. */
  readonly costs: number[];
}

/**
 * Minimises J(w) = w^T w / 2 + (d - H T w)^T R^-1 (d - H T w) / 2, d = y - H x_b, by conjugate gradients on
 * (I + T^T H^T R^-1 H T) w = T^T H^T R^-1 d (Courtier et al. 1998, QJRMS 124, section 3): the solver of 3D-Var and
 * of hybrid EnVar, which differ only in T.
 * @param fn - the public function asking, for messages
 * @param stateShape - [C, H, W] of the state T maps into
 */
export function solveInControlSpace(
  fn: string,
  background: FloatArray,
  obs: Observations,
  stateShape: readonly [number, number, number],
  T: ControlTransform,
  cg: CgOptions | undefined,
): ControlSolution {
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
  /** T^T H^T R^-1 u for u in observation space. */
  const adjointFromObs = (u: Float64Array): Float64Array => {
    for (let p = 0; p < P; p++) tmpP[p] = (u[p] as number) * (rinv[p] as number);
    return T.applyT(obs.operator.adjoint(tmpP, tmpN));
  };
  const applyHessian = (w: Float64Array): Float64Array => {
    const out = adjointFromObs(obs.operator.apply(T.apply(w), new Float64Array(P)));
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + (w[i] as number);
    return out;
  };
  const res = conjugateGradient(applyHessian, adjointFromObs(d), cg);
  const increment = T.apply(res.x);
  const analysis = new Float64Array(n);
  for (let i = 0; i < n; i++) analysis[i] = (background[i] as number) + (increment[i] as number);
  return {
    analysis,
    control: res.x,
    iterations: res.iterations,
    converged: res.converged,
    residualNorms: res.residualNorms,
    // J(w) = q(w) + d^T R^-1 d / 2 with q the CG quadratic.
    costs: res.quadratic.map((q) => q + 0.5 * dRd),
  };
}

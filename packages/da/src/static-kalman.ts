import type { ObservationOperator } from './ports.js';
import { denseOperator } from './gaussian-prior.js';
import { fmtShape, invalidArgument } from './internal/errors.js';
import { cholesky, choleskySolve, matMul, matVec, transpose } from './internal/linalg.js';

/** The analysis of {@link staticKalmanGain}: x_a = x_b + K (y - H x_b) with a gain fixed for an observing network. */
export interface StaticKalmanUpdate {
  /** K = B H^T (H B H^T + R)^-1, row-major, shape [n, P]. */
  readonly gain: Float64Array;
  /**
   * x_a = x_b + K (y - H x_b).
   * @param background - x_b, length n
   * @param values - y, length P
   * @param out - length n, overwritten (may alias `background`)
   */
  readonly update: (
    background: ArrayLike<number>,
    values: ArrayLike<number>,
    out?: Float64Array,
  ) => Float64Array;
}

/**
 * The Kalman analysis with a static background-error covariance B, solved exactly in one step: the optimal
 * interpolation of Gandin (1963) and Lorenc (1981, MWR 109), and the minimiser of the 3D-Var cost
 * J(x) = |x - x_b|^2_B^-1 + |y - H x|^2_R^-1 (Lorenc 1986, QJRMS 112) for a linear H, which is how DAPPER's
 * `Var3D` and `OptInterp` compute it. For the small dense problems of the Lorenz-96 benchmarks; gridded fields
 * use `solve3DVar` (conjugate gradients with a factored B).
 * @param B - background-error covariance, row-major, shape [n, n], symmetric positive semi-definite
 * @param operator - the linear observation operator H (stateShape of size n)
 * @param std - observation-error standard deviations, length P, all > 0 (R = diag(std^2))
 */
export function staticKalmanGain(
  B: Float64Array,
  operator: ObservationOperator,
  std: ArrayLike<number>,
): StaticKalmanUpdate {
  const fn = 'staticKalmanGain';
  const n = operator.stateShape.reduce((a, b) => a * b, 1);
  const P = operator.size;
  if (B.length !== n * n) {
    throw invalidArgument(
      fn,
      `B has ${B.length} entries but the operator's state shape ${fmtShape(operator.stateShape)} needs [${n}, ${n}]`,
    );
  }
  if (std.length !== P)
    throw invalidArgument(fn, `${std.length} error standard deviations for ${P} observations`);
  for (let p = 0; p < P; p++) {
    const s = std[p] as number;
    if (!(s > 0) || !Number.isFinite(s))
      throw invalidArgument(
        fn,
        `observation ${p} has error standard deviation ${s}; it must be finite and > 0`,
      );
  }
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(B[i * n + i] as number));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = B[i * n + j] as number;
      // symmetric up to round-off relative to the largest variance
      if (!Number.isFinite(v) || Math.abs(v - (B[j * n + i] as number)) > 1e-10 * scale)
        throw invalidArgument(fn, `B must be finite and symmetric; entry (${i}, ${j}) is ${v}`);
    }
  }
  const { H } = denseOperator({ operator, values: new Float64Array(P), std: Float64Array.from(std) }, n); // [P, n]
  const BHt = matMul(B, transpose(H, P, n), n, n, P); // [n, P]
  const S = matMul(H, BHt, P, n, P); // H B H^T + R, [P, P]
  for (let p = 0; p < P; p++) S[p * P + p] = (S[p * P + p] as number) + (std[p] as number) ** 2;
  const gain = transpose(choleskySolve(cholesky(S, P), P, transpose(BHt, n, P), n), P, n); // [n, P]
  const hx = new Float64Array(P);
  const d = new Float64Array(P);
  return {
    gain,
    update: (background, values, out = new Float64Array(n)) => {
      if (background.length !== n || values.length !== P) {
        throw invalidArgument(
          fn,
          `update needs a background of length ${n} and ${P} values, got ${background.length} and ${values.length}`,
        );
      }
      matVec(H, background, P, n, hx);
      for (let p = 0; p < P; p++) d[p] = (values[p] as number) - (hx[p] as number);
      for (let i = 0; i < n; i++) {
        let s = background[i] as number;
        for (let p = 0; p < P; p++) s += (gain[i * P + p] as number) * (d[p] as number);
        out[i] = s;
      }
      return out;
    },
  };
}

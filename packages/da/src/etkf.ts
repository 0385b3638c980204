import type { FloatArray, Tensor } from '@alignda/tensor';
import type { Observations } from './ports.js';
import { validateObservations } from './observations.js';
import { symEig } from './internal/linalg.js';
import { invalidArgument } from './internal/errors.js';

/** Options of {@link etkf}. */
export interface EtkfOptions {
  /**
   * Multiplicative covariance inflation rho >= 1 applied to the background perturbations' covariance.
   * @defaultValue 1 (none; cycled runs with small ensembles usually need 1.02-1.1)
   */
  readonly inflation?: number;
}

/**
 * The ensemble transform Kalman filter analysis (Hunt, Kostelich & Szunyogh 2007, Physica D 230,
 * section 2.3, steps 1-8, without localisation), for cycled mode: with k members, background mean
 * x_b and perturbations X_b (n x k), Y_b = H X_b,
 *   P~_a = [(k - 1) I / rho + Y_b^T R^-1 Y_b]^-1,  w_a = P~_a Y_b^T R^-1 (y - H x_b),
 *   W_a = [(k - 1) P~_a]^(1/2) (symmetric square root, so the analysis perturbations keep zero mean),
 *   x_a^(i) = x_b + X_b (w_a + W_a^(i)).
 * The analysis mean and sample covariance equal the Kalman filter's with the ensemble's (inflated)
 * sample covariance. Costs O(k^2 P + k^3 + k n).
 * @param ensemble - background members, shape [k, ...stateShape], k >= 2
 * @param obs - observations of one state (operator stateShape = ensemble.shape.slice(1))
 * @returns analysis members, shape [k, ...stateShape], float64
 */
export function etkf(
  ensemble: Tensor<FloatArray>,
  obs: Observations,
  options: EtkfOptions = {},
): Tensor<Float64Array> {
  const fn = 'etkf';
  const k = ensemble.shape[0] as number;
  const stateShape = ensemble.shape.slice(1);
  if (!(k >= 2)) throw invalidArgument(fn, `an ensemble needs at least 2 members, got ${k}`);
  validateObservations(fn, obs, stateShape);
  const n = ensemble.data.length / k;
  if (!Number.isInteger(n) || n !== stateShape.reduce((a, b) => a * b, 1)) {
    throw invalidArgument(
      fn,
      `ensemble data of length ${ensemble.data.length} does not match its shape [${ensemble.shape.join(', ')}]`,
    );
  }
  const rho = options.inflation ?? 1;
  if (!(rho >= 1) || !Number.isFinite(rho))
    throw invalidArgument(fn, `inflation must be finite and >= 1, got ${rho}`);
  const P = obs.operator.size;
  const xm = new Float64Array(n);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < n; j++) xm[j] = (xm[j] as number) + (ensemble.data[i * n + j] as number) / k;
  // Y_b columns: H x^(i) - mean_i H x^(i), stored [k, P]; the ensemble is the only state we read.
  const Y = new Float64Array(k * P);
  const ym = new Float64Array(P);
  const hx = new Float64Array(P);
  for (let i = 0; i < k; i++) {
    obs.operator.apply(ensemble.data.subarray(i * n, (i + 1) * n), hx);
    for (let p = 0; p < P; p++) {
      Y[i * P + p] = hx[p] as number;
      ym[p] = (ym[p] as number) + (hx[p] as number) / k;
    }
  }
  for (let i = 0; i < k; i++)
    for (let p = 0; p < P; p++) Y[i * P + p] = (Y[i * P + p] as number) - (ym[p] as number);
  const rinv = obs.std.map((s) => 1 / (s * s));
  // A = (k - 1) I / rho + Y^T R^-1 Y  (k x k), c = Y^T R^-1 (y - ybar)  (k)
  const A = new Float64Array(k * k);
  const c = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    for (let p = 0; p < P; p++)
      c[a] =
        (c[a] as number) +
        (Y[a * P + p] as number) * (rinv[p] as number) * ((obs.values[p] as number) - (ym[p] as number));
    for (let b = a; b < k; b++) {
      let s = a === b ? (k - 1) / rho : 0;
      for (let p = 0; p < P; p++)
        s += (Y[a * P + p] as number) * (rinv[p] as number) * (Y[b * P + p] as number);
      A[a * k + b] = s;
      A[b * k + a] = s;
    }
  }
  const { values, vectors: V } = symEig(A, k);
  // w_a = V diag(1/l) V^T c ; W_a = V diag(sqrt((k-1)/l)) V^T ; columns of (w_a 1^T + W_a) weight the perturbations.
  const Vtc = new Float64Array(k);
  for (let q = 0; q < k; q++)
    for (let a = 0; a < k; a++) Vtc[q] = (Vtc[q] as number) + (V[a * k + q] as number) * (c[a] as number);
  const W = new Float64Array(k * k); // W[a, i]: weight of perturbation a in member i
  for (let a = 0; a < k; a++) {
    let wa = 0;
    for (let q = 0; q < k; q++) wa += ((V[a * k + q] as number) * (Vtc[q] as number)) / (values[q] as number);
    for (let i = 0; i < k; i++) {
      let s = 0;
      for (let q = 0; q < k; q++)
        s += (V[a * k + q] as number) * Math.sqrt((k - 1) / (values[q] as number)) * (V[i * k + q] as number);
      W[a * k + i] = wa + s;
    }
  }
  const out = new Float64Array(k * n);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < n; j++) {
      let s = xm[j] as number;
      for (let a = 0; a < k; a++)
        s += ((ensemble.data[a * n + j] as number) - (xm[j] as number)) * (W[a * k + i] as number);
      out[i * n + j] = s;
    }
  }
  return { data: out, shape: [...ensemble.shape] };
}

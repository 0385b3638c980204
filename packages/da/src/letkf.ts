import type { FloatArray, Rng, Tensor } from '@alignda/tensor';

import { randomMeanPreservingRotation } from './ensemble-rotation.js';
import { checkLocalisation, globalLocalisation, sameLocalSet } from './letkf-localisation.js';
import type { LetkfLocalisation, LocalObservations } from './letkf-localisation.js';
import { validateObservations } from './observations.js';
import type { Observations } from './ports.js';
import { fmtShape, invalidArgument } from './internal/errors.js';
import { symEigQl } from './internal/sym-eig-ql.js';

/** Options of {@link letkf}. */
export interface LetkfOptions {
  /**
   * Where the local analyses are and which observations each uses ({@link gaspariCohnLocalisation}).
   * @defaultValue one global analysis with every observation at weight 1: the ETKF of {@link etkf}
   */
  readonly localisation?: LetkfLocalisation;
  /**
   * Multiplicative prior inflation lambda >= 1: the background perturbations are scaled by lambda (the covariance by
   * lambda^2; {@link etkf}'s `inflation` is that covariance factor rho = lambda^2). @defaultValue 1 (none)
   */
  readonly inflation?: number;
  /**
   * Multiplicative posterior inflation >= 1 of the analysis perturbations (DAPPER's `infl`, applied after the
   * analysis in its `post_process`). @defaultValue 1 (none)
   */
  readonly posteriorInflation?: number;
  /**
   * Relaxation to prior spread alpha in [0, 1] (Whitaker & Hamill 2012, MWR 140, 3078-3089): at every state point
   * the analysis perturbations are scaled by alpha sigma_b / sigma_a + 1 - alpha, sigma_b the spread of the ensemble
   * given (before inflation), sigma_a the analysis spread. @defaultValue 0 (off)
   */
  readonly rtps?: number;
  /**
   * Draws one random mean-preserving rotation of the analysis perturbations per call
   * ({@link randomMeanPreservingRotation}; DAPPER's `rot=True`). @defaultValue none (the symmetric square root)
   */
  readonly rotation?: Rng;
}

/**
 * The local ensemble transform Kalman filter analysis (Hunt, Kostelich & Szunyogh 2007, Physica D 230, 112-126,
 * eqs 20-26 with the local algorithm of their section 2.3). For each batch of state points, with the local
 * observations' scaled perturbations Y~ = R_l^-1/2 H X_b (R_l^-1 = diag(weight / std^2)), the innovation
 * d~ = R_l^-1/2 (y - mean H x) and k members:
 *   P~_a = [(k - 1) I / lambda^2 + Y~^T Y~]^-1,   w_a = P~_a Y~^T d~,   W_a = [(k - 1) P~_a]^(1/2) (symmetric),
 *   x_a^(i) = x_b + X_b (w_a + W_a^(i))   on the batch's points.
 * When a batch has fewer local observations p than members, the same quantities come from the p x p matrix
 * Y~ Y~^T (the push-through identity), which is what makes N = 40 on 40 variables cheap. A batch whose local set
 * (indices and weights) equals the previous batch's reuses its transform, so with no localisation one transform
 * serves every point and the result is {@link etkf}'s. Posterior inflation, RTPS and the rotation then act on
 * the analysis perturbations. Costs O(k P + k n) plus, per batch with r = min(k, p_l), O(r^3 + k r p_l + k r |batch|).
 * @param ensemble - background members, shape [k, ...stateShape], k >= 2
 * @param obs - observations of one state (operator stateShape = ensemble.shape.slice(1))
 * @param options - localisation, inflation, RTPS, rotation
 * @returns analysis members, shape [k, ...stateShape], float64
 */
export function letkf(
  ensemble: Tensor<FloatArray>,
  obs: Observations,
  options: LetkfOptions = {},
): Tensor<Float64Array> {
  const fn = 'letkf';
  const k = ensemble.shape[0] as number;
  const stateShape = ensemble.shape.slice(1);
  if (!(k >= 2)) throw invalidArgument(fn, `an ensemble needs at least 2 members, got ${k}`);
  validateObservations(fn, obs, stateShape);
  const n = stateShape.reduce((a, b) => a * b, 1);
  if (ensemble.data.length !== k * n) {
    throw invalidArgument(
      fn,
      `ensemble data of length ${ensemble.data.length} does not match its shape ${fmtShape(ensemble.shape)}`,
    );
  }
  const P = obs.operator.size;
  const lambda = checkFactor(fn, 'inflation', options.inflation ?? 1);
  const post = checkFactor(fn, 'posteriorInflation', options.posteriorInflation ?? 1);
  const rtps = options.rtps ?? 0;
  if (!(rtps >= 0 && rtps <= 1)) throw invalidArgument(fn, `rtps must be in [0, 1], got ${rtps}`);
  const loc = options.localisation ?? globalLocalisation(n, P);
  checkLocalisation(fn, loc, n, P, stateShape);

  // Background mean [n] and perturbations X_b [k, n]; scaled observation perturbations Y~ [k, P] and innovation d~ [P].
  const xm = new Float64Array(n);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < n; j++) xm[j] = (xm[j] as number) + (ensemble.data[i * n + j] as number) / k;
  const X = new Float64Array(k * n);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < n; j++) X[i * n + j] = (ensemble.data[i * n + j] as number) - (xm[j] as number);
  const Y = new Float64Array(P * k); // scaled perturbations stored obs-major, [P, k]
  const ym = new Float64Array(P);
  const hx = new Float64Array(P);
  for (let i = 0; i < k; i++) {
    obs.operator.apply(ensemble.data.subarray(i * n, (i + 1) * n), hx);
    for (let p = 0; p < P; p++) {
      Y[p * k + i] = hx[p] as number;
      ym[p] = (ym[p] as number) + (hx[p] as number) / k;
    }
  }
  for (let p = 0; p < P; p++) {
    const m = ym[p] as number;
    const s = obs.std[p] as number;
    for (let i = 0; i < k; i++) Y[p * k + i] = ((Y[p * k + i] as number) - m) / s;
  }
  const dy = Float64Array.from(ym, (m, p) => ((obs.values[p] as number) - m) / (obs.std[p] as number));

  const a = (k - 1) / (lambda * lambda);
  const out = new Float64Array(k * n);
  const { batches, local } = loc;
  for (let b = 0; b < batches.length;) {
    // Consecutive batches with the same local set share one transform.
    const set = local[b] as LocalObservations;
    let end = b + 1;
    let points = (batches[b] as Int32Array).length;
    while (end < batches.length && sameLocalSet(set, local[end] as LocalObservations))
      points += (batches[end++] as Int32Array).length;
    if (set.obsIndex.length === 0 && lambda === 1) {
      // No observation reaches these points: their members are the prior's, bit for bit.
      for (; b < end; b++)
        for (const j of batches[b] as Int32Array)
          for (let i = 0; i < k; i++) out[i * n + j] = ensemble.data[i * n + j] as number;
      continue;
    }
    const transform = localTransform(Y, dy, k, a, set, points);
    for (; b < end; b++) applyTransform(transform, batches[b] as Int32Array, X, xm, k, n, out);
  }
  if (post !== 1 || rtps > 0 || options.rotation !== undefined)
    adjustPerturbations(out, X, k, n, post, rtps, options.rotation);
  return { data: out, shape: [...ensemble.shape] };
}

/**
 * One local analysis' transform: the mean weights w_a (k) and W_a = c0 I + sum_q beta_q z_q z_q^T, kept as its
 * r rank-one terms (Z rows z_q, [r, k]) or, when it serves enough points, formed as a k x k matrix.
 */
interface Transform {
  readonly w: Float64Array;
  readonly c0: number;
  readonly beta: Float64Array;
  readonly Z: Float64Array;
  /** W_a, row-major [k, k] (W[q, i]: weight of perturbation q in member i); absent: apply the terms. */
  readonly W?: Float64Array;
}

/** The transform of one local analysis, from the primal (k x k) or the dual (p x p, p < k) eigenproblem. */
function localTransform(
  Y: Float64Array,
  dy: Float64Array,
  k: number,
  a: number,
  local: LocalObservations,
  points: number,
): Transform {
  const p = local.obsIndex.length;
  // Local Y~_l [p, k] and d~_l [p]: R^-1 multiplied by the weight, so Y~ and d~ by its square root.
  const Yl = new Float64Array(p * k);
  const dl = new Float64Array(p);
  for (let q = 0; q < p; q++) {
    const o = local.obsIndex[q] as number;
    const s = Math.sqrt(local.weight[q] as number);
    dl[q] = (dy[o] as number) * s;
    for (let i = 0; i < k; i++) Yl[q * k + i] = (Y[o * k + i] as number) * s;
  }
  const sk = Math.sqrt(k - 1);
  const w = new Float64Array(k);
  let c0: number;
  let beta: Float64Array;
  let Z: Float64Array;
  if (p >= k) {
    // Primal: A = a I + Y~^T Y~ = V diag(mu) V^T; w_a = V diag(1/mu) V^T Y~^T d~; W_a = V diag(sqrt((k-1)/mu)) V^T.
    const A = new Float64Array(k * k);
    const c = new Float64Array(k);
    for (let q = 0; q < p; q++) {
      const dq = dl[q] as number;
      for (let i = 0; i < k; i++) {
        const yi = Yl[q * k + i] as number;
        c[i] = (c[i] as number) + yi * dq;
        for (let j = i; j < k; j++) A[i * k + j] = (A[i * k + j] as number) + yi * (Yl[q * k + j] as number);
      }
    }
    for (let i = 0; i < k; i++) {
      A[i * k + i] = (A[i * k + i] as number) + a;
      for (let j = i + 1; j < k; j++) A[j * k + i] = A[i * k + j] as number;
    }
    const { values: mu, vectors: V } = symEigQl(A, k);
    c0 = 0;
    beta = Float64Array.from(mu, (m) => sk / Math.sqrt(m));
    Z = new Float64Array(k * k);
    for (let q = 0; q < k; q++) {
      let vc = 0;
      for (let i = 0; i < k; i++) {
        const v = V[i * k + q] as number;
        Z[q * k + i] = v;
        vc += v * (c[i] as number);
      }
      const f = vc / (mu[q] as number);
      for (let i = 0; i < k; i++) w[i] = (w[i] as number) + f * (Z[q * k + i] as number);
    }
  } else {
    // Dual: G = Y~ Y~^T = U diag(l) U^T (p x p), z_q = Y~^T u_q (|z_q|^2 = l_q). Then
    //   w_a = sum_q z_q (u_q^T d~) / (a + l_q),
    //   W_a = sqrt(k-1) [a^-1/2 I - sum_q z_q z_q^T / (sqrt(a) sqrt(a+l_q) (sqrt(a) + sqrt(a+l_q)))],
    // the closed forms of P~_a and its square root on span(z_q), stable as l_q -> 0.
    const sa = Math.sqrt(a);
    c0 = sk / sa;
    beta = new Float64Array(p);
    Z = new Float64Array(p * k);
    if (p > 0) {
      const G = new Float64Array(p * p);
      for (let q = 0; q < p; q++) {
        for (let r = q; r < p; r++) {
          let s = 0;
          for (let i = 0; i < k; i++) s += (Yl[q * k + i] as number) * (Yl[r * k + i] as number);
          G[q * p + r] = s;
          G[r * p + q] = s;
        }
      }
      const { values: l, vectors: U } = symEigQl(G, p);
      for (let q = 0; q < p; q++) {
        const lq = Math.max(0, l[q] as number);
        let ud = 0;
        for (let r = 0; r < p; r++) {
          const u = U[r * p + q] as number;
          ud += u * (dl[r] as number);
          for (let i = 0; i < k; i++) Z[q * k + i] = (Z[q * k + i] as number) + u * (Yl[r * k + i] as number);
        }
        const st = Math.sqrt(a + lq);
        beta[q] = -sk / (sa * st * (sa + st));
        const f = ud / (a + lq);
        for (let i = 0; i < k; i++) w[i] = (w[i] as number) + f * (Z[q * k + i] as number);
      }
    }
  }
  // Applying the r terms costs 2 r k per point; forming W_a costs r k^2 once and k^2 per point.
  const r = beta.length;
  if (r * k + points * k >= 2 * r * points) return { w, c0, beta, Z };
  const W = new Float64Array(k * k);
  for (let i = 0; i < k; i++) W[i * k + i] = c0;
  for (let q = 0; q < r; q++) {
    const bq = beta[q] as number;
    for (let i = 0; i < k; i++) {
      const f = bq * (Z[q * k + i] as number);
      for (let j = 0; j < k; j++) W[i * k + j] = (W[i * k + j] as number) + f * (Z[q * k + j] as number);
    }
  }
  return { w, c0, beta, Z, W };
}

/** x_a^(i)[j] = x_b[j] + sum_q X_b^(q)[j] (w_a[q] + W_a[q, i]) for the points j of `batch`, into `out` [k, n]. */
function applyTransform(
  t: Transform,
  batch: Int32Array,
  X: Float64Array,
  xm: Float64Array,
  k: number,
  n: number,
  out: Float64Array,
): void {
  const x = new Float64Array(k);
  const r = t.beta.length;
  for (const j of batch) {
    let m = xm[j] as number;
    for (let q = 0; q < k; q++) {
      x[q] = X[q * n + j] as number;
      m += (x[q] as number) * (t.w[q] as number);
    }
    if (t.W !== undefined) {
      for (let i = 0; i < k; i++) {
        let s = m;
        for (let q = 0; q < k; q++) s += (x[q] as number) * (t.W[q * k + i] as number);
        out[i * n + j] = s;
      }
      continue;
    }
    for (let i = 0; i < k; i++) out[i * n + j] = m + t.c0 * (x[i] as number);
    for (let q = 0; q < r; q++) {
      let proj = 0;
      for (let i = 0; i < k; i++) proj += (x[i] as number) * (t.Z[q * k + i] as number);
      const f = (t.beta[q] as number) * proj;
      for (let i = 0; i < k; i++)
        out[i * n + j] = (out[i * n + j] as number) + f * (t.Z[q * k + i] as number);
    }
  }
}

/** Posterior inflation, RTPS and the rotation, on the analysis perturbations of `out` [k, n] (in place). */
function adjustPerturbations(
  out: Float64Array,
  Xb: Float64Array,
  k: number,
  n: number,
  post: number,
  rtps: number,
  rotation: Rng | undefined,
): void {
  const Q = rotation === undefined ? undefined : randomMeanPreservingRotation(k, rotation);
  const col = new Float64Array(k);
  for (let j = 0; j < n; j++) {
    let m = 0;
    for (let i = 0; i < k; i++) m += (out[i * n + j] as number) / k;
    let va = 0;
    let vb = 0;
    for (let i = 0; i < k; i++) {
      col[i] = (out[i * n + j] as number) - m;
      va += (col[i] as number) ** 2;
      vb += (Xb[i * n + j] as number) ** 2;
    }
    let f = post;
    // RTPS on the spreads sigma = sqrt(v / (k - 1)); the factor (k - 1) cancels in the ratio.
    if (rtps > 0 && va > 0) f *= (rtps * Math.sqrt(vb)) / Math.sqrt(va) + 1 - rtps;
    for (let i = 0; i < k; i++) {
      let s = 0;
      if (Q === undefined) s = col[i] as number;
      else for (let q = 0; q < k; q++) s += (Q[i * k + q] as number) * (col[q] as number);
      out[i * n + j] = m + f * s;
    }
  }
}

function checkFactor(fn: string, name: string, v: number): number {
  if (!(v >= 1) || !Number.isFinite(v))
    throw invalidArgument(fn, `${name} must be finite and >= 1, got ${v}`);
  return v;
}

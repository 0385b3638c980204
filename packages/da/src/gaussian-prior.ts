import type { Denoiser, Observations } from './ports.js';
import { mu, sigma } from './schedule.js';
import { cholesky, choleskySolve, matMul, symEig, symFunction, transpose } from './internal/linalg.js';
import { invalidArgument, shapeSize } from './internal/errors.js';

/**
 * An analytic Gaussian data distribution N(m, S) over latents of dimension D, with everything the
 * diffusion needs in closed form. The marginal at time t is N(mu m, mu^2 S + sigma^2 I), so the exact
 * noise predictor is eps(z_t, t) = sigma (mu^2 S + sigma^2 I)^-1 (z_t - mu m).
 * For tests of the sampler and guidance (the analytic prior of issue 5) and for linear-Gaussian settings.
 */
export interface GaussianPrior {
  /** Latent dimension D. */
  readonly dim: number;
  /** m, length D. */
  readonly mean: Float64Array;
  /** S, D x D row-major, symmetric positive semi-definite. */
  readonly cov: Float64Array;
  /** The exact noise predictor, for latents of shape [n, ...zShape] with prod(zShape) = D. */
  readonly denoiser: Denoiser;
  /** (mu^2 S + sigma^2 I)^-1 at time t, D x D. */
  marginalPrecision(t: number): Float64Array;
  /** d z0_hat / d z_t = mu S (mu^2 S + sigma^2 I)^-1 at time t (symmetric), D x D. */
  tweedieJacobian(t: number): Float64Array;
  /**
   * (d z0_hat / d z_t)^T v for each member: the latent part of the DPS vector-Jacobian product.
   * @param v - cotangents, shape [n, D]
   */
  tweedieVjp(t: number, v: Float32Array): Float32Array;
  /**
   * The closed-form posterior of z given linear observations of z (operator state shape of size D):
   * mean m + K (y - H m), covariance S - K H S, K = S H^T (H S H^T + R)^-1.
   */
  posterior(obs: Observations): { mean: Float64Array; cov: Float64Array };
}

/**
 * Builds the analytic Gaussian prior.
 * @param mean - m, length D
 * @param cov - S, D x D row-major, symmetric positive semi-definite
 */
export function createGaussianPrior(mean: ArrayLike<number>, cov: ArrayLike<number>): GaussianPrior {
  const fn = 'createGaussianPrior';
  const D = mean.length;
  if (cov.length !== D * D)
    throw invalidArgument(fn, `cov has ${cov.length} entries but mean has ${D} (need ${D * D})`);
  const m = Float64Array.from(mean);
  const S = Float64Array.from(cov);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < i; j++) {
      if (
        Math.abs((S[i * D + j] as number) - (S[j * D + i] as number)) >
        1e-9 * (1 + Math.abs(S[i * D + j] as number))
      ) {
        throw invalidArgument(fn, `cov is not symmetric at (${i}, ${j})`);
      }
    }
  }
  const eig = symEig(S, D);
  const precisionCache = new Map<number, Float64Array>();
  const marginalPrecision = (t: number): Float64Array => {
    let P = precisionCache.get(t);
    if (P === undefined) {
      const a = mu(t);
      const s = sigma(t);
      P = symFunction(eig, D, (l) => 1 / (a * a * Math.max(l, 0) + s * s));
      precisionCache.set(t, P);
    }
    return P;
  };
  const tweedieJacobian = (t: number): Float64Array => {
    const a = mu(t);
    const s = sigma(t);
    return symFunction(eig, D, (l) => (a * Math.max(l, 0)) / (a * a * Math.max(l, 0) + s * s));
  };
  const denoiser: Denoiser = (z, t, shape) => {
    const n = shape[0] as number;
    if (shapeSize(shape.slice(1)) !== D || z.length !== n * D) {
      throw invalidArgument(
        'gaussian denoiser',
        `latents of shape [${shape.join(', ')}] do not have dimension ${D}`,
      );
    }
    const P = marginalPrecision(t);
    const a = mu(t);
    const s = sigma(t);
    const out = new Float32Array(n * D);
    const d = new Float64Array(D);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < D; j++) d[j] = (z[i * D + j] as number) - a * (m[j] as number);
      for (let j = 0; j < D; j++) {
        let acc = 0;
        for (let k = 0; k < D; k++) acc += (P[j * D + k] as number) * (d[k] as number);
        out[i * D + j] = s * acc;
      }
    }
    return out;
  };
  const jacobianCache = new Map<number, Float64Array>();
  const tweedieVjp = (t: number, v: Float32Array): Float32Array => {
    let J = jacobianCache.get(t);
    if (J === undefined) {
      J = tweedieJacobian(t);
      jacobianCache.set(t, J);
    }
    const n = v.length / D;
    const out = new Float32Array(v.length);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < D; j++) {
        let acc = 0;
        for (let k = 0; k < D; k++) acc += (J[k * D + j] as number) * (v[i * D + k] as number);
        out[i * D + j] = acc;
      }
    }
    return out;
  };
  const posterior = (obs: Observations): { mean: Float64Array; cov: Float64Array } => {
    const { H, P } = denseOperator(obs, D);
    const HS = matMul(H, S, P, D, D); // [P, D]
    const A = matMul(HS, transpose(H, P, D), P, D, P); // H S H^T, [P, P]
    for (let p = 0; p < P; p++) A[p * P + p] = (A[p * P + p] as number) + (obs.std[p] as number) ** 2;
    const L = cholesky(A, P);
    const Hm = matMul(H, m, P, D, 1);
    const innov = new Float64Array(P);
    for (let p = 0; p < P; p++) innov[p] = (obs.values[p] as number) - (Hm[p] as number);
    const w = choleskySolve(L, P, innov); // [P]
    const X = choleskySolve(L, P, HS, D); // (H S H^T + R)^-1 H S, [P, D]
    const postMean = new Float64Array(D);
    const postCov = new Float64Array(D * D);
    for (let j = 0; j < D; j++) {
      let acc = m[j] as number;
      for (let p = 0; p < P; p++) acc += (HS[p * D + j] as number) * (w[p] as number);
      postMean[j] = acc;
      for (let k = 0; k < D; k++) {
        let c = S[j * D + k] as number;
        for (let p = 0; p < P; p++) c -= (HS[p * D + j] as number) * (X[p * D + k] as number);
        postCov[j * D + k] = c;
      }
    }
    return { mean: postMean, cov: postCov };
  };
  return { dim: D, mean: m, cov: S, denoiser, marginalPrecision, tweedieJacobian, tweedieVjp, posterior };
}

/** The dense matrix of an observation operator over a D-dimensional state, P x D (by unit vectors). */
export function denseOperator(obs: Observations, D: number): { H: Float64Array; P: number } {
  const P = obs.operator.size;
  const H = new Float64Array(P * D);
  const e = new Float64Array(D);
  const col = new Float64Array(P);
  for (let j = 0; j < D; j++) {
    e.fill(0);
    e[j] = 1;
    obs.operator.apply(e, col);
    for (let p = 0; p < P; p++) H[p * D + j] = col[p] as number;
  }
  return { H, P };
}

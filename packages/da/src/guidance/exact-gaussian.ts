import type { Guidance } from './guidance.js';
import type { GaussianPrior } from '../gaussian-prior.js';
import { denseOperator } from '../gaussian-prior.js';
import type { Observations } from '../ports.js';
import { freezeObservations } from '../observations.js';
import { mu, sigma } from '../schedule.js';
import { cholesky, choleskySolve, matMul, transpose } from '../internal/linalg.js';
import { invalidArgument, shapeSize } from '../internal/errors.js';

/**
 * Exact likelihood guidance for a Gaussian prior N(m, S) and linear observations y = H z + e of the
 * latent: the score of p(y | z_t) is added to the prior score, eps <- eps - sigma(t) grad log p(y | z_t).
 * Here p(y | z_t) = N(y; H z0_hat(z_t), R + H Cov[z0 | z_t] H^T) exactly, with
 * Cov[z0 | z_t] = S - mu^2 S (mu^2 S + sigma^2 I)^-1 S and grad = J^T H^T (R + H Cov H^T)^-1 (y - H z0_hat),
 * J = d z0_hat / d z_t. This is the likelihood form of Rozet & Louppe 2023 (their eq. 12, where the
 * Gaussian covariance approximation becomes exact for a Gaussian prior). With the analytic denoiser of
 * the same prior the sampler targets the exact posterior, which makes it the reference for sampler tests.
 * z0_hat is taken from the eps the sampler passes in (so it also guides a network prior, approximately).
 * @param prior - the Gaussian prior of the latent (dimension D)
 * @param obs - observations whose operator reads the per-member latent (stateShape = zShape)
 */
export function exactGaussianGuidance(prior: GaussianPrior, obs: Observations): Guidance {
  const fn = 'exactGaussianGuidance';
  const D = prior.dim;
  if (shapeSize(obs.operator.stateShape) !== D) {
    throw invalidArgument(
      fn,
      `the observation operator reads ${shapeSize(obs.operator.stateShape)} values but the prior has dimension ${D}`,
    );
  }
  const y = freezeObservations(fn, obs, obs.operator.stateShape);
  const { H, P } = denseOperator(y, D);
  const Ht = transpose(H, P, D);
  const S = prior.cov;
  const gainCache = new Map<number, Float64Array>();
  /** G_t = J^T H^T (R + H Cov H^T)^-1, D x P. */
  const gain = (t: number): Float64Array => {
    let G = gainCache.get(t);
    if (G !== undefined) return G;
    const a = mu(t);
    const Pt = prior.marginalPrecision(t);
    const SP = matMul(S, Pt, D, D, D);
    const cov0 = matMul(SP, S, D, D, D); // S P_t S
    for (let i = 0; i < D * D; i++) cov0[i] = (S[i] as number) - a * a * (cov0[i] as number);
    const HC = matMul(H, cov0, P, D, D);
    const A = matMul(HC, Ht, P, D, P);
    for (let p = 0; p < P; p++) A[p * P + p] = (A[p * P + p] as number) + (y.std[p] as number) ** 2;
    const J = prior.tweedieJacobian(t); // symmetric
    const JtHt = matMul(J, Ht, D, D, P); // [D, P]
    // G = JtHt A^-1 = (A^-1 JtHt^T)^T since A is symmetric.
    const X = choleskySolve(cholesky(A, P), P, transpose(JtHt, D, P), D); // [P, D]
    G = transpose(X, P, D);
    gainCache.set(t, G);
    return G;
  };
  return {
    name: 'exact-gaussian',
    prepare(zShape) {
      if (shapeSize(zShape) !== D)
        throw invalidArgument(fn, `zShape [${zShape.join(', ')}] does not have dimension ${D}`);
    },
    guideEps(z, t, eps, shape) {
      const n = shape[0] as number;
      const G = gain(t);
      const a = mu(t);
      const s = sigma(t);
      const zhat = new Float64Array(D);
      const Hz = new Float64Array(P);
      const r = new Float64Array(P);
      for (let i = 0; i < n; i++) {
        const o = i * D;
        for (let j = 0; j < D; j++) zhat[j] = ((z[o + j] as number) - s * (eps[o + j] as number)) / a;
        y.operator.apply(zhat, Hz);
        for (let p = 0; p < P; p++) r[p] = (y.values[p] as number) - (Hz[p] as number);
        for (let j = 0; j < D; j++) {
          let g = 0;
          for (let p = 0; p < P; p++) g += (G[j * P + p] as number) * (r[p] as number);
          eps[o + j] = (eps[o + j] as number) - s * g;
        }
      }
      return eps;
    },
  };
}

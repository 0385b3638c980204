/**
 * Shared test fixtures (not exported): a 4 x 4 single-channel latent with a Gaussian prior of
 * squared-exponential covariance (length 1.5 cells) and three gridded observations of std 0.2.
 */
import { createGaussianPrior } from '../gaussian-prior.js';
import type { GaussianPrior } from '../gaussian-prior.js';
import { griddedObservations } from '../observations.js';
import type { Observations } from '../ports.js';
import type { Tensor } from '@alignda/tensor';

export const FIX_H = 4;
export const FIX_W = 4;
export const FIX_D = FIX_H * FIX_W;
export const FIX_SHAPE = [1, FIX_H, FIX_W] as const;

/** The prior N(m, S): m_i = 0.5 sin(i), S_ij = exp(-d_ij^2 / (2 * 1.5^2)) (+1 % on the diagonal). */
export function fixturePrior(): GaussianPrior {
  const m = new Float64Array(FIX_D);
  const S = new Float64Array(FIX_D * FIX_D);
  for (let i = 0; i < FIX_D; i++) m[i] = 0.5 * Math.sin(i);
  for (let i = 0; i < FIX_D; i++) {
    for (let j = 0; j < FIX_D; j++) {
      const dy = Math.floor(i / FIX_W) - Math.floor(j / FIX_W);
      const dx = (i % FIX_W) - (j % FIX_W);
      S[i * FIX_D + j] = Math.exp(-(dx * dx + dy * dy) / (2 * 1.5 ** 2)) * (i === j ? 1.01 : 1);
    }
  }
  return createGaussianPrior(m, S);
}

/** Three observations of the latent grid far from the prior mean. */
export function fixtureObs(values: readonly number[] = [1.5, -1.0, 0.8]): Observations {
  return griddedObservations({
    stateShape: [...FIX_SHAPE],
    channel: [0, 0, 0],
    row: [0, 2, 3],
    col: [1, 3, 0],
    value: values,
    std: 0.2,
  });
}

/** Ensemble mean and (unbiased) variance per dimension of samples of shape [N, D...]. */
export function ensembleStats(z: Tensor): { mean: Float64Array; variance: Float64Array; n: number } {
  const N = z.shape[0] as number;
  const D = z.data.length / N;
  const mean = new Float64Array(D);
  const variance = new Float64Array(D);
  for (let i = 0; i < N; i++)
    for (let j = 0; j < D; j++) mean[j] = (mean[j] as number) + (z.data[i * D + j] as number) / N;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < D; j++)
      variance[j] =
        (variance[j] as number) + ((z.data[i * D + j] as number) - (mean[j] as number)) ** 2 / (N - 1);
  }
  return { mean, variance, n: N };
}

/** Euclidean distance between two vectors. */
export function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
}

/** The identity autoencoder (encoder = decoder = copy). */
export const identityCodec = (z: Float32Array): Float32Array => Float32Array.from(z);

/** Ensemble variance against the closed-form prior and posterior of the fixture, by point group. */
export interface SpreadRatios {
  /** Mean over the observed points of var_ens / var_post. */
  readonly observedVsPost: number;
  /** Largest var_ens / var_prior over the observed points. */
  readonly observedVsPriorMax: number;
  /** Mean over the other points of var_ens / var_post. */
  readonly restVsPost: number;
}

/**
 * Ensemble variance per grid point against the closed-form posterior of {@link fixturePrior} with
 * {@link fixtureObs}, split into the observed points (posterior / prior variance 0.038) and the 13 others,
 * which the three observations constrain only through the prior correlations (posterior / prior variance
 * 0.31 to 0.72: none is free).
 */
export function spreadRatios(variance: Float64Array, observed: readonly number[]): SpreadRatios {
  const prior = fixturePrior();
  const post = prior.posterior(fixtureObs());
  const ratio = (j: number, cov: Float64Array): number =>
    (variance[j] as number) / (cov[j * FIX_D + j] as number);
  const rest = [...Array(FIX_D).keys()].filter((j) => !observed.includes(j));
  const avg = (js: number[], cov: Float64Array): number =>
    js.reduce((acc, j) => acc + ratio(j, cov), 0) / js.length;
  return {
    observedVsPost: avg([...observed], post.cov),
    observedVsPriorMax: Math.max(...observed.map((j) => ratio(j, prior.cov))),
    restVsPost: avg(rest, post.cov),
  };
}

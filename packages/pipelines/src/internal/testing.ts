import { AppError } from '@alignda/errors';
/**
 * Test fixtures of packages/pipelines (not exported from the package): the analytic Gaussian prior and the three
 * observations of packages/da's guidance tests (re-created here, since da keeps its fixtures internal, so that
 * da's measured tolerances apply), that prior as a {@link LatentPrior}, and small dense linear algebra to compute
 * closed-form analyses independently of the code under test.
 */
import { createGaussianPrior, griddedObservations } from '@alignda/da';
import type { GaussianPrior, Observations } from '@alignda/da';
import { betaPlaneGrid, createField, gridHeight, gridWidth } from '@alignda/tensor';
import type { Grid } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';

import type { LatentPrior } from '../assimilate.js';

export const FIX_H = 4;
export const FIX_W = 4;
/** Dimension of the fixture's state (= latent). */
export const FIX_D = FIX_H * FIX_W;
export const FIX_SHAPE = [1, FIX_H, FIX_W] as const;

/**
 * packages/da's fixture prior N(m, S) over a 4 x 4 single-channel grid: m_i = 0.5 sin(i),
 * S_ij = exp(-d_ij^2 / (2 * 1.5^2)) (+1 % on the diagonal), d in cells.
 */
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

/** Where {@link fixtureObs} observes: (row, col) of the three points, and their flat indices. */
export const FIX_OBS_ROWS = [0, 2, 3] as const;
export const FIX_OBS_COLS = [1, 3, 0] as const;
export const FIX_OBS_STD = 0.2;

/** packages/da's three observations (std 0.2) of the fixture grid, far from the prior mean. */
export function fixtureObs(values: readonly number[] = [1.5, -1.0, 0.8]): Observations {
  return griddedObservations({
    stateShape: [...FIX_SHAPE],
    channel: [0, 0, 0],
    row: [...FIX_OBS_ROWS],
    col: [...FIX_OBS_COLS],
    value: values,
    std: FIX_OBS_STD,
  });
}

/** The identity autoencoder (encoder = decoder = copy). */
export const identityCodec = (z: Float32Array): Float32Array => Float32Array.from(z);

/**
 * A Gaussian prior over states as a {@link LatentPrior}: the exact denoiser, the identity as decoder and encoder,
 * and the Tweedie VJP (the decoder is the identity, so the decoded VJP is the latent one).
 */
export function gaussianLatentPrior(prior: GaussianPrior, zShape: readonly number[]): LatentPrior {
  return {
    zShape,
    denoiser: prior.denoiser,
    decoder: identityCodec,
    encoder: identityCodec,
    vjp: (_z, t, cot) => prior.tweedieVjp(t, cot),
  };
}

/** Ensemble mean and (unbiased) variance per dimension of members stacked as [N, D] (flattened). */
export function ensembleStats(
  members: Float32Array,
  n: number,
): { mean: Float64Array; variance: Float64Array } {
  const D = members.length / n;
  const mean = new Float64Array(D);
  const variance = new Float64Array(D);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < D; j++) mean[j] = (mean[j] as number) + (members[i * D + j] as number) / n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < D; j++)
      variance[j] =
        (variance[j] as number) + ((members[i * D + j] as number) - (mean[j] as number)) ** 2 / (n - 1);
  return { mean, variance };
}

/** Euclidean distance between two vectors. */
export function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
}

/** Ensemble variance against the closed-form prior and posterior, by point group (as packages/da's tests). */
export interface SpreadRatios {
  /** Mean over the observed points of var_ens / var_post. */
  readonly observedVsPost: number;
  /** Largest var_ens / var_prior over the observed points. */
  readonly observedVsPriorMax: number;
  /** Mean over the other points of var_ens / var_post. */
  readonly restVsPost: number;
}

/**
 * Per-point ensemble variance against the diagonals of the prior and posterior covariances (D x D), split into
 * the observed points and the others.
 */
export function spreadRatios(
  variance: Float64Array,
  observed: readonly number[],
  priorCov: Float64Array,
  postCov: Float64Array,
): SpreadRatios {
  const D = variance.length;
  const ratio = (j: number, cov: Float64Array): number =>
    (variance[j] as number) / (cov[j * D + j] as number);
  const rest = [...Array(D).keys()].filter((j) => !observed.includes(j));
  const avg = (js: readonly number[], cov: Float64Array): number =>
    js.reduce((acc, j) => acc + ratio(j, cov), 0) / js.length;
  return {
    observedVsPost: avg(observed, postCov),
    observedVsPriorMax: Math.max(...observed.map((j) => ratio(j, priorCov))),
    restVsPost: avg(rest, postCov),
  };
}

/** C = A B for row-major A [n, k] and B [k, m]. */
export function matMul(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  n: number,
  k: number,
  m: number,
): Float64Array {
  const C = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let l = 0; l < k; l++) {
      const a = A[i * k + l] as number;
      if (a === 0) continue;
      for (let j = 0; j < m; j++) C[i * m + j] = (C[i * m + j] as number) + a * (B[l * m + j] as number);
    }
  return C;
}

/** A^T for row-major A [n, m]. */
export function transpose(A: ArrayLike<number>, n: number, m: number): Float64Array {
  const T = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) T[j * n + i] = A[i * m + j] as number;
  return T;
}

/** X = A^-1 B for a square A [n, n] and B [n, m], by Gaussian elimination with partial pivoting. */
export function solveDense(A: ArrayLike<number>, B: ArrayLike<number>, n: number, m: number): Float64Array {
  const a = Float64Array.from(A);
  const x = Float64Array.from(B);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++)
      if (Math.abs(a[r * n + c] as number) > Math.abs(a[p * n + c] as number)) p = r;
    if (!(Math.abs(a[p * n + c] as number) > 0))
      throw new AppError('INTERNAL', `solveDense: singular matrix at column ${c}`);
    if (p !== c) {
      for (let j = 0; j < n; j++)
        [a[c * n + j], a[p * n + j]] = [a[p * n + j] as number, a[c * n + j] as number];
      for (let j = 0; j < m; j++)
        [x[c * m + j], x[p * m + j]] = [x[p * m + j] as number, x[c * m + j] as number];
    }
    for (let r = c + 1; r < n; r++) {
      const f = (a[r * n + c] as number) / (a[c * n + c] as number);
      if (f === 0) continue;
      for (let j = c; j < n; j++) a[r * n + j] = (a[r * n + j] as number) - f * (a[c * n + j] as number);
      for (let j = 0; j < m; j++) x[r * m + j] = (x[r * m + j] as number) - f * (x[c * m + j] as number);
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    for (let j = 0; j < m; j++) {
      let s = x[c * m + j] as number;
      for (let l = c + 1; l < n; l++) s -= (a[c * n + l] as number) * (x[l * m + j] as number);
      x[c * m + j] = s / (a[c * n + c] as number);
    }
  }
  return x;
}

/**
 * The BLUE / Kalman analysis x + S H^T (H S H^T + R)^-1 (y - H x) with dense matrices, R = diag(std^2).
 * @param x - the prior mean or background, length D
 * @param S - its error covariance, D x D
 * @param H - the observation operator, P x D
 */
export function kalmanMean(
  x: ArrayLike<number>,
  S: ArrayLike<number>,
  H: ArrayLike<number>,
  y: ArrayLike<number>,
  std: ArrayLike<number>,
): Float64Array {
  const D = x.length;
  const P = y.length;
  const SHt = matMul(S, transpose(H, P, D), D, D, P); // [D, P]
  const A = matMul(H, SHt, P, D, P); // H S H^T, [P, P]
  for (let p = 0; p < P; p++) A[p * P + p] = (A[p * P + p] as number) + (std[p] as number) ** 2;
  const Hx = matMul(H, x, P, D, 1);
  const innov = Float64Array.from({ length: P }, (_, p) => (y[p] as number) - (Hx[p] as number));
  const w = solveDense(A, innov, P, 1);
  const inc = matMul(SHt, w, D, P, 1);
  return Float64Array.from({ length: D }, (_, j) => (x[j] as number) + (inc[j] as number));
}

/** The selection operator of gridded observations as a dense P x D matrix, from the observed flat indices. */
export function selectionMatrix(flatIndex: readonly number[], D: number): Float64Array {
  const H = new Float64Array(flatIndex.length * D);
  flatIndex.forEach((g, p) => (H[p * D + g] = 1));
  return H;
}

/**
 * A one-variable (temperature, K) dataset held in memory, 6-hourly from 2013-01-01, on `grid` (by default a 32 x 64
 * beta plane at 45 N with 150 km spacing: the ci preset's grid). `states[i]` is read live, so a test may overwrite
 * it in place.
 */
export function memoryDataset(
  states: readonly Float32Array[],
  periods: DaSource['periods'],
  options: { grid?: Grid; validMask?: Uint8Array } = {},
): DaSource {
  const grid = options.grid ?? betaPlaneGrid({ H: 32, W: 64, dxM: 150e3, dyM: 150e3, latCentreDeg: 45 });
  const shape = [1, gridHeight(grid), gridWidth(grid)] as const;
  const state = (i: number): Float32Array => {
    const s = states[i];
    if (s === undefined)
      throw new AppError('INVALID_ARGUMENT', `memoryDataset: no state ${i} of ${states.length}`);
    return s;
  };
  return {
    name: 'memory',
    title: 'in-memory dataset',
    kind: 'dataset',
    grid,
    channels: ['t'],
    units: ['K'],
    shape,
    count: states.length,
    periods,
    ...(options.validMask === undefined ? {} : { validMask: options.validMask }),
    state: (i) => ({ data: state(i), shape }),
    field: (i) => createField({ data: state(i), channels: ['t'], units: ['K'], grid }),
    timeOf: (i) => new Date(Date.UTC(2013, 0, 1, 6 * i)).toISOString().slice(0, 13),
    hourOf: (i) => (6 * i) % 24,
  };
}

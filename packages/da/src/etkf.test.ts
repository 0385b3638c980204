import { describe, expect, it } from 'vitest';
import { createRng } from '@alignda/tensor';
import { etkf } from './etkf.js';
import { griddedObservations } from './observations.js';
import { denseOperator } from './gaussian-prior.js';
import { cholesky, choleskySolve, matMul, transpose } from './internal/linalg.js';

const k = 8;
const n = 12; // state [1, 3, 4]
const rng = createRng(61);
const ensemble = { data: rng.fillNormal(new Float64Array(k * n)), shape: [k, 1, 3, 4] };
for (let i = 0; i < k * n; i++) ensemble.data[i] = (ensemble.data[i] as number) + Math.sin(i % n);
const obs = griddedObservations({
  stateShape: [1, 3, 4],
  channel: [0, 0, 0, 0],
  row: [0, 1, 2, 2],
  col: [0, 2, 1, 3],
  value: [1, -0.5, 2, 0.3],
  std: [0.5, 0.3, 1, 0.4],
});

function meanCov(data: Float64Array, rows: number): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(n);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < n; j++) mean[j] = (mean[j] as number) + (data[i * n + j] as number) / rows;
  const cov = new Float64Array(n * n);
  for (let i = 0; i < rows; i++) {
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        cov[a * n + b] =
          (cov[a * n + b] as number) +
          (((data[i * n + a] as number) - (mean[a] as number)) *
            ((data[i * n + b] as number) - (mean[b] as number))) /
            (rows - 1);
      }
    }
  }
  return { mean, cov };
}

/** The Kalman filter update with background covariance rho * Pb (dense, independent of the ETKF algebra). */
function kalman(
  mean: Float64Array,
  Pb: Float64Array,
  rho: number,
): { mean: Float64Array; cov: Float64Array } {
  const { H, P } = denseOperator(obs, n);
  const B = Pb.map((v) => rho * v);
  const BHt = matMul(B, transpose(H, P, n), n, n, P);
  const S = matMul(H, BHt, P, n, P);
  for (let p = 0; p < P; p++) S[p * P + p] = (S[p * P + p] as number) + (obs.std[p] as number) ** 2;
  const L = cholesky(S, P);
  const Hm = matMul(H, mean, P, n, 1);
  const d = Float64Array.from(obs.values, (v, p) => v - (Hm[p] as number));
  const Sd = choleskySolve(L, P, d);
  const m = Float64Array.from(
    mean,
    (v, j) => v + [...Sd].reduce((s, x, p) => s + (BHt[j * P + p] as number) * x, 0),
  );
  const X = choleskySolve(L, P, transpose(BHt, n, P), n); // S^-1 H B, [P, n]
  const cov = B.map(
    (v, idx) =>
      v -
      [...Array(P).keys()].reduce(
        (s, p) => s + (BHt[Math.floor(idx / n) * P + p] as number) * (X[p * n + (idx % n)] as number),
        0,
      ),
  );
  return { mean: m, cov };
}

describe('etkf', () => {
  it.each([1, 1.1])(
    'gives the Kalman filter mean and covariance of the ensemble statistics (inflation %s) to 1e-9',
    (rho) => {
      const a = etkf(ensemble, obs, { inflation: rho });
      expect(a.shape).toEqual([k, 1, 3, 4]);
      const bg = meanCov(ensemble.data, k);
      const ref = kalman(bg.mean, bg.cov, rho);
      const got = meanCov(a.data, k);
      for (let j = 0; j < n; j++)
        expect(Math.abs((got.mean[j] as number) - (ref.mean[j] as number))).toBeLessThan(1e-9);
      for (let j = 0; j < n * n; j++)
        expect(Math.abs((got.cov[j] as number) - (ref.cov[j] as number))).toBeLessThan(1e-9);
      // the observations pull: the analysis mean differs from the background mean
      expect(Math.abs((got.mean[0] as number) - (bg.mean[0] as number))).toBeGreaterThan(1e-3);
    },
  );

  it('rejects a one-member ensemble, deflation and mismatched observations', () => {
    expect(() => etkf({ data: new Float64Array(n), shape: [1, 1, 3, 4] }, obs)).toThrow(/at least 2 members/);
    expect(() => etkf(ensemble, obs, { inflation: 0.9 })).toThrow(/inflation must be finite and >= 1/);
    expect(() => etkf({ data: new Float64Array(2 * 24), shape: [2, 2, 3, 4] }, obs)).toThrow(
      /reads 1 channels but the state has 2/,
    );
  });
});

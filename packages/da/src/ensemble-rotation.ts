import type { Rng } from '@alignda/tensor';

import { invalidArgument } from './internal/errors.js';

/**
 * A random orthogonal k x k matrix Q with Q 1 = 1 (and so Q^T 1 = 1): multiplying the members' perturbations by it
 * keeps the ensemble mean and sample covariance and mixes the members (the random rotation of Sakov & Oke 2008,
 * MWR 136, 1042-1053, section 4; DAPPER's `genOG_1`). Q = H diag(1, Q') H with H the Householder reflection that
 * maps e_1 to 1 / sqrt(k) and Q' a Haar-distributed (k-1) x (k-1) orthogonal matrix: the Gram-Schmidt QR of a
 * standard normal matrix, whose R has a positive diagonal (Mezzadri 2007, Notices AMS 54, section 5).
 * @param k - ensemble size >= 2
 * @param rng - the source of the normal draws ((k-1)^2 of them)
 * @returns Q, row-major, shape [k, k]
 */
export function randomMeanPreservingRotation(k: number, rng: Rng): Float64Array {
  if (!Number.isInteger(k) || k < 2)
    throw invalidArgument('randomMeanPreservingRotation', `k must be an integer >= 2, got ${k}`);
  const m = k - 1;
  // Q' by modified Gram-Schmidt on the columns of a normal matrix, stored row-major [m, m].
  const Qp = rng.fillNormal(new Float64Array(m * m));
  for (let c = 0; c < m; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let r = 0; r < m; r++) dot += (Qp[r * m + p] as number) * (Qp[r * m + c] as number);
      for (let r = 0; r < m; r++) Qp[r * m + c] = (Qp[r * m + c] as number) - dot * (Qp[r * m + p] as number);
    }
    let norm = 0;
    for (let r = 0; r < m; r++) norm += (Qp[r * m + c] as number) ** 2;
    norm = Math.sqrt(norm);
    for (let r = 0; r < m; r++) Qp[r * m + c] = (Qp[r * m + c] as number) / norm;
  }
  // B = diag(1, Q'), then Q = H B H with H = I - 2 v v^T / (v^T v), v = e_1 - 1 / sqrt(k).
  const B = new Float64Array(k * k);
  B[0] = 1;
  for (let r = 0; r < m; r++) for (let c = 0; c < m; c++) B[(r + 1) * k + c + 1] = Qp[r * m + c] as number;
  const v = new Float64Array(k).fill(-1 / Math.sqrt(k));
  v[0] = (v[0] as number) + 1;
  let vv = 0;
  for (const x of v) vv += x * x;
  const applyH = (M: Float64Array, fromLeft: boolean): void => {
    // M <- H M (fromLeft) or M H, each O(k^2).
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += (v[i] as number) * (M[fromLeft ? i * k + j : j * k + i] as number);
      const f = (2 * s) / vv;
      for (let i = 0; i < k; i++) {
        const idx = fromLeft ? i * k + j : j * k + i;
        M[idx] = (M[idx] as number) - f * (v[i] as number);
      }
    }
  };
  applyH(B, true);
  applyH(B, false);
  return B;
}

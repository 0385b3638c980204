import { describe, expect, it } from 'vitest';
import { betaPlaneGrid, createRng } from '@alignda/tensor';
import type { BackgroundErrorStats } from './background-error.js';
import type { BSqrt } from './b-sqrt.js';
import type { BalanceSpec } from './balance.js';
import { createBalancedBSqrt } from './balanced-b.js';
import { solveHybridEnVar } from './hybrid.js';
import { gaspariCohnSqrt } from './localisation-sqrt.js';
import { solve3DVar } from './var3d.js';
import { gaspariCohn } from '../gaspari-cohn.js';
import { denseOperator } from '../gaussian-prior.js';
import { griddedObservations } from '../observations.js';
import type { Observations } from '../ports.js';
import { cholesky, choleskySolve } from '../internal/linalg.js';

// A QG-like state (z, u, v on two levels and a thickness temperature) on a 4 x 6 periodic beta plane of 300 km cells.
const [C, H, W] = [7, 4, 6];
const HW = H * W;
const n = C * HW;
const DX = 300e3;
const grid = betaPlaneGrid({ H, W, dxM: DX, dyM: DX, latCentreDeg: 45 });
const balance: BalanceSpec = {
  levels: [
    { z: 0, u: 2, v: 4 },
    { z: 1, u: 3, v: 5 },
  ],
  hydrostatic: [{ t: 6, zUpper: 0, zLower: 1, thicknessPerKelvin: 287.05 * Math.log(3) }],
  channelStd: [900, 500, 12, 6, 12, 6, 4],
  channels: ['z_upper', 'z_lower', 'u_upper', 'u_lower', 'v_upper', 'v_lower', 't'],
};
const stats: BackgroundErrorStats = {
  stateShape: [C, H, W],
  perLatitude: false,
  variance: Float64Array.from([0.04, 0.03, 0.002, 0.002, 0.002, 0.002, 0.001]),
  bias: new Float64Array(C),
  samples: 30,
};
const bSqrt = createBalancedBSqrt(grid, stats, balance, { lengthScalesM: 500e3 });
const rng = createRng(11);
const background = rng.fillNormal(new Float64Array(n)).map((v) => 0.3 * v);
const N = 5;
// Members with a smooth shared structure plus noise, so that P_ens is far from B_clim.
const ensemble = {
  data: Float64Array.from({ length: N * n }, (_, k) => {
    const j = k % n;
    const m = Math.floor(k / n);
    return 0.4 * Math.sin(0.7 * j + m) * Math.cos(0.3 * m * (j % W)) + 0.1 * rng.normal();
  }),
  shape: [N, C, H, W],
};
const obs = griddedObservations({
  stateShape: [C, H, W],
  channel: [0, 0, 1, 2, 3, 4, 5, 6, 6, 1, 0, 5],
  row: [0, 3, 1, 2, 0, 3, 1, 2, 0, 3, 2, 0],
  col: [0, 5, 2, 1, 4, 3, 0, 5, 3, 1, 2, 2],
  value: Array.from({ length: 12 }, () => rng.normal()),
  std: [0.1, 0.2, 0.15, 0.3, 0.1, 0.25, 0.2, 0.1, 0.3, 0.2, 0.15, 0.1],
});
const tight = { tol: 1e-13, maxIter: 1000 };

/** B_clim = U U^T, dense [n, n]. */
function denseB(u: BSqrt): Float64Array {
  const U = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(n);
    e[j] = 1;
    const col = u.apply(e);
    for (let i = 0; i < n; i++) U[i * n + j] = col[i] as number;
  }
  const B = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (U[i * n + k] as number) * (U[j * n + k] as number);
      B[i * n + j] = s;
    }
  return B;
}

/** The sample covariance of the ensemble, dense [n, n]. */
function sampleCovariance(): Float64Array {
  const mean = new Float64Array(n);
  for (let m = 0; m < N; m++)
    for (let j = 0; j < n; j++) mean[j] = (mean[j] as number) + (ensemble.data[m * n + j] as number) / N;
  const P = new Float64Array(n * n);
  for (let m = 0; m < N; m++)
    for (let i = 0; i < n; i++) {
      const xi = (ensemble.data[m * n + i] as number) - (mean[i] as number);
      for (let j = 0; j < n; j++)
        P[i * n + j] =
          (P[i * n + j] as number) +
          (xi * ((ensemble.data[m * n + j] as number) - (mean[j] as number))) / (N - 1);
    }
  return P;
}

/** The Kalman (BLUE) update x_b + B H^T (H B H^T + R)^-1 (y - H x_b) by a dense solve in observation space. */
function kalman(B: Float64Array, o: Observations): Float64Array {
  const { H: Hm, P } = denseOperator(o, n);
  const BHt = new Float64Array(n * P); // [n, P]
  for (let i = 0; i < n; i++)
    for (let p = 0; p < P; p++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (B[i * n + k] as number) * (Hm[p * n + k] as number);
      BHt[i * P + p] = s;
    }
  const S = new Float64Array(P * P);
  const d = new Float64Array(P);
  for (let p = 0; p < P; p++) {
    let hx = 0;
    for (let k = 0; k < n; k++) hx += (Hm[p * n + k] as number) * (background[k] as number);
    d[p] = (o.values[p] as number) - hx;
    for (let q = 0; q < P; q++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (Hm[p * n + k] as number) * (BHt[k * P + q] as number);
      S[p * P + q] = s + (p === q ? (o.std[p] as number) ** 2 : 0);
    }
  }
  const z = choleskySolve(cholesky(S, P), P, d);
  return Float64Array.from(background, (xb, i) => {
    let s = xb;
    for (let p = 0; p < P; p++) s += (BHt[i * P + p] as number) * (z[p] as number);
    return s;
  });
}

/** max |a - b| / max |b - x_b|: the error relative to the size of the increment. */
function relError(a: Float64Array, b: Float64Array): number {
  let err = 0;
  let size = 0;
  for (let i = 0; i < n; i++) {
    err = Math.max(err, Math.abs((a[i] as number) - (b[i] as number)));
    size = Math.max(size, Math.abs((b[i] as number) - (background[i] as number)));
  }
  expect(size).toBeGreaterThan(0.05);
  return err / size;
}

/** (1 - a) B + a P_loc, dense. */
const blend = (B: Float64Array, P: Float64Array, a: number): Float64Array =>
  Float64Array.from(B, (b, k) => (1 - a) * b + a * (P[k] as number));

describe('solveHybridEnVar', () => {
  const B = denseB(bSqrt);
  const P = sampleCovariance();

  it('with weight 0 gives the 3D-Var analysis of B_clim (the balanced B) to 1e-10, whatever the ensemble', () => {
    const hybrid = solveHybridEnVar({ background, ensemble, obs, bSqrt, weight: 0, cg: tight });
    const var3d = solve3DVar({ background, obs, bSqrt, cg: tight });
    expect(relError(hybrid.analysis, var3d.analysis)).toBeLessThan(1e-10);
    // The ensemble matters as soon as it has weight: the test above could fail.
    const half = solveHybridEnVar({ background, ensemble, obs, bSqrt, weight: 0.5, cg: tight });
    expect(relError(half.analysis, var3d.analysis)).toBeGreaterThan(0.1);
  });

  it('with weight 1 and no localisation equals the Kalman update with P = the ensemble sample covariance (1e-8)', () => {
    const res = solveHybridEnVar({ background, ensemble, obs, bSqrt, weight: 1, cg: tight });
    expect(res.converged).toBe(true);
    expect(res.rank).toBe(1);
    expect(relError(res.analysis, kalman(P, obs))).toBeLessThan(1e-8);
  });

  it('with weight 0.3 and no localisation equals the Kalman update with B = 0.7 B_clim + 0.3 P (1e-8)', () => {
    const res = solveHybridEnVar({ background, ensemble, obs, bSqrt, weight: 0.3, cg: tight });
    expect(relError(res.analysis, kalman(blend(B, P, 0.3), obs))).toBeLessThan(1e-8);
  });

  it('with Gaspari-Cohn localisation equals the Kalman update with B = (1 - a) B_clim + a P o L (1e-8)', () => {
    const c = 450e3;
    const localisation = gaspariCohnSqrt(grid, c);
    const res = solveHybridEnVar({ background, ensemble, obs, bSqrt, weight: 0.6, localisation, cg: tight });
    // L between state points: Gaspari-Cohn of the cells' distance (zonal chord of the periodic channel), any channels.
    const radius = (W * DX) / (2 * Math.PI);
    const Ploc = Float64Array.from(P, (v, k) => {
      const a = Math.floor(k / n) % HW;
      const b = (k % n) % HW;
      const dx = 2 * radius * Math.sin((Math.PI * Math.abs((a % W) - (b % W))) / W);
      const dy = DX * Math.abs(Math.floor(a / W) - Math.floor(b / W));
      return v * gaspariCohn(Math.hypot(dx, dy), c);
    });
    const exact = kalman(blend(B, Ploc, 0.6), obs);
    expect(relError(res.analysis, exact)).toBeLessThan(1e-8);
    // Localisation changes the answer here, so the comparison above tells the two apart.
    expect(relError(kalman(blend(B, P, 0.6), obs), exact)).toBeGreaterThan(0.01);
  });

  it('converges in at most P + 1 iterations with a non-increasing cost', () => {
    const res = solveHybridEnVar({
      background,
      ensemble,
      obs,
      bSqrt,
      weight: 0.5,
      localisation: gaspariCohnSqrt(grid, 600e3),
      cg: { tol: 1e-10 },
    });
    expect(res.converged).toBe(true);
    expect(res.iterations).toBeLessThanOrEqual(obs.values.length + 1);
    expect(res.control.length).toBe(n + N * res.rank);
    for (let k = 1; k < res.costs.length; k++)
      expect(res.costs[k] as number).toBeLessThanOrEqual((res.costs[k - 1] as number) + 1e-12);
  });

  it('rejects a weight outside [0, 1], fewer than 2 members, a non-positive error variance and mismatched shapes', () => {
    const base = { background, ensemble, obs, bSqrt };
    for (const weight of [-0.1, 1.5, Number.NaN])
      expect(() => solveHybridEnVar({ ...base, weight })).toThrow(
        new RegExp(`solveHybridEnVar: weight .* must be in \\[0, 1\\], got ${weight}`),
      );
    const one = { data: ensemble.data.slice(0, n), shape: [1, C, H, W] };
    expect(() => solveHybridEnVar({ ...base, ensemble: one, weight: 0.5 })).toThrow(
      /an ensemble needs at least 2 members, got 1/,
    );
    for (const s of [0, -0.1]) {
      const bad: Observations = { ...obs, std: Float64Array.from(obs.std, (v, p) => (p === 3 ? s : v)) };
      expect(() => solveHybridEnVar({ ...base, obs: bad, weight: 0.5 })).toThrow(
        new RegExp(`observation 3 has error standard deviation ${s}; it must be finite and > 0`),
      );
    }
    const wrong = { data: ensemble.data, shape: [N, C, W, H] };
    expect(() => solveHybridEnVar({ ...base, ensemble: wrong, weight: 0.5 })).toThrow(
      /an ensemble member has shape \[7, 6, 4\] but B_clim has shape \[7, 4, 6\]/,
    );
    const otherGrid = betaPlaneGrid({ H: 3, W: 6, dxM: DX, dyM: DX, latCentreDeg: 45 });
    expect(() =>
      solveHybridEnVar({ ...base, weight: 0.5, localisation: gaspariCohnSqrt(otherGrid, 500e3) }),
    ).toThrow(/the localisation is over 18 cells but the grid has 4 x 6 = 24/);
    const nan = {
      data: Float64Array.from(ensemble.data, (v, k) => (k === 7 ? Number.NaN : v)),
      shape: ensemble.shape,
    };
    expect(() => solveHybridEnVar({ ...base, ensemble: nan, weight: 0.5 })).toThrow(
      /member 0 has a non-finite value at 7/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { betaPlaneGrid, createRng, latLonGrid } from '@alignda/tensor';
import type { Grid } from '@alignda/tensor';
import { createBSqrt, correlation } from './b-sqrt.js';
import type { BSqrt } from './b-sqrt.js';
import type { BackgroundErrorStats } from './background-error.js';
import { estimateBackgroundError } from './background-error.js';
import { solve3DVar } from './var3d.js';
import { tune3DVar } from './tune.js';
import type { Var3DCase } from './tune.js';
import { griddedObservations } from '../observations.js';
import { denseOperator } from '../gaussian-prior.js';
import { cholesky, choleskySolve, matMul, transpose } from '../internal/linalg.js';

/** B = U U^T as a dense n x n matrix, by applying U to unit vectors. */
function denseB(u: BSqrt): Float64Array {
  const n = u.stateShape[0] * u.stateShape[1] * u.stateShape[2];
  const U = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(n);
    e[j] = 1;
    const col = u.apply(e);
    for (let i = 0; i < n; i++) U[i * n + j] = col[i] as number;
  }
  return matMul(U, transpose(U, n, n), n, n, n);
}

const twoChannel = (H: number, variance: number[], corr?: number[]): BackgroundErrorStats => ({
  stateShape: [2, H, 6],
  perLatitude: variance.length > 2,
  variance: Float64Array.from(variance),
  bias: new Float64Array(variance.length),
  samples: 10,
  ...(corr ? { channelCorrelation: Float64Array.from(corr) } : {}),
});

describe('createBSqrt', () => {
  const beta = betaPlaneGrid({ H: 5, W: 6, dxM: 100e3, dyM: 150e3, latCentreDeg: 45 });

  it('gives on a beta plane exactly B = D^1/2 (C_chan (x) exp(-(chord_x^2 + dy^2) / 2L^2)) D^1/2 (to 1e-10)', () => {
    const stats = twoChannel(5, [1, 1.5, 2, 2.5, 3, 0.5, 0.6, 0.7, 0.8, 0.9], [1, 0.6, 0.6, 1]);
    const L = 200e3;
    const B = denseB(createBSqrt(beta, stats, { lengthScaleM: L }));
    const n = 60;
    const radius = (6 * 100e3) / (2 * Math.PI);
    let worst = 0;
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        const [ca, ia, ka] = [Math.floor(a / 30), Math.floor(a / 6) % 5, a % 6];
        const [cb, ib, kb] = [Math.floor(b / 30), Math.floor(b / 6) % 5, b % 6];
        const dx = 2 * radius * Math.sin((Math.PI * Math.abs(ka - kb)) / 6);
        const dy = 150e3 * Math.abs(ia - ib);
        const rho = ca === cb ? 1 : 0.6;
        const sa = Math.sqrt(stats.variance[ca * 5 + ia] as number);
        const sb = Math.sqrt(stats.variance[cb * 5 + ib] as number);
        const expected = sa * sb * rho * Math.exp(-(dx * dx + dy * dy) / (2 * L * L));
        worst = Math.max(worst, Math.abs((B[a * n + b] as number) - expected));
      }
    }
    expect(worst).toBeLessThan(1e-10);
  });

  it('has the estimated variances on the diagonal on a sphere and applyT as the exact adjoint of apply (SOAR)', () => {
    const grid = latLonGrid([30, 35, 40, 45, 50], [0, 5, 10, 15, 20, 25]);
    const stats = twoChannel(5, [2, 0.5]);
    const u = createBSqrt(grid, stats, { kind: 'soar', lengthScaleM: 400e3 });
    const B = denseB(u);
    for (let a = 0; a < 60; a++) expect(B[a * 60 + a]).toBeCloseTo(a < 30 ? 2 : 0.5, 10);
    const rng = createRng(7);
    const v = rng.fillNormal(new Float64Array(60));
    const x = rng.fillNormal(new Float64Array(60));
    const uv = u.apply(v);
    const utx = u.applyT(x);
    const lhs = uv.reduce((s, val, i) => s + val * (x[i] as number), 0);
    const rhs = utx.reduce((s, val, i) => s + val * (v[i] as number), 0);
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-12 * (Math.abs(lhs) + 1));
    expect(correlation('soar', 400e3, 400e3)).toBeCloseTo(2 * Math.exp(-1), 14);
  });

  it('rejects a grid that does not match the statistics and a non-positive length scale', () => {
    expect(() => createBSqrt(beta, twoChannel(4, [1, 1]), { lengthScaleM: 1e5 })).toThrow(
      /grid is 5 x 6 but the statistics are for 4 x 6/,
    );
    expect(() => createBSqrt(beta, twoChannel(5, [1, 1]), { lengthScaleM: 0 })).toThrow(
      /lengthScaleM must be finite and > 0/,
    );
  });
});

describe('solve3DVar', () => {
  const grid = latLonGrid([30, 35, 40, 45, 50], [0, 5, 10, 15, 20, 25]);
  const stats = twoChannel(5, [1, 1.5, 2, 2.5, 3, 0.5, 0.6, 0.7, 0.8, 0.9], [1, -0.4, -0.4, 1]);
  const u = createBSqrt(grid, stats, { lengthScaleM: 500e3 });
  const rng = createRng(8);
  const background = rng.fillNormal(new Float64Array(60));
  const obs = griddedObservations({
    stateShape: [2, 5, 6],
    channel: [0, 0, 0, 1, 1, 0, 1, 1],
    row: [0, 1, 4, 2, 3, 2, 0, 4],
    col: [0, 3, 5, 1, 4, 2, 5, 0],
    value: Array.from({ length: 8 }, () => 2 * rng.normal()),
    std: [0.3, 0.5, 0.2, 0.4, 0.3, 1, 0.6, 0.25],
  });

  it('equals the dense direct solve of (B^-1 + H^T R^-1 H) dx = H^T R^-1 (y - H x_b) to 1e-8 (float64)', () => {
    const n = 60;
    const res = solve3DVar({ background, obs, bSqrt: u, cg: { tol: 1e-14 } });
    const B = denseB(u);
    const Binv = choleskySolve(
      cholesky(B, n),
      n,
      Float64Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0)),
      n,
    );
    const { H, P } = denseOperator(obs, n);
    const A = Float64Array.from(Binv);
    const rhs = new Float64Array(n);
    for (let p = 0; p < P; p++) {
      const w = 1 / (obs.std[p] as number) ** 2;
      let hxb = 0;
      for (let j = 0; j < n; j++) hxb += (H[p * n + j] as number) * (background[j] as number);
      const d = (obs.values[p] as number) - hxb;
      for (let i = 0; i < n; i++) {
        rhs[i] = (rhs[i] as number) + (H[p * n + i] as number) * w * d;
        for (let j = 0; j < n; j++)
          A[i * n + j] = (A[i * n + j] as number) + (H[p * n + i] as number) * w * (H[p * n + j] as number);
      }
    }
    const dx = choleskySolve(cholesky(A, n), n, rhs);
    let err = 0;
    let size = 0;
    for (let i = 0; i < n; i++) {
      err = Math.max(
        err,
        Math.abs((res.analysis[i] as number) - (background[i] as number) - (dx[i] as number)),
      );
      size = Math.max(size, Math.abs(dx[i] as number));
    }
    expect(size).toBeGreaterThan(0.1);
    expect(err / size).toBeLessThan(1e-8);
  });

  it('converges in at most P + 1 iterations with a non-increasing cost and a residual reduced by 1e10', () => {
    const res = solve3DVar({ background, obs, bSqrt: u, cg: { tol: 1e-10 } });
    expect(res.converged).toBe(true);
    expect(res.iterations).toBeLessThanOrEqual(obs.values.length + 1);
    expect(res.residualNorms.at(-1) as number).toBeLessThan(1e-10 * (res.residualNorms[0] as number));
    for (let k = 1; k < res.costs.length; k++) {
      expect(res.costs[k] as number).toBeLessThanOrEqual((res.costs[k - 1] as number) + 1e-12);
    }
    expect(res.costs.at(-1) as number).toBeLessThan(0.5 * (res.costs[0] as number));
  });

  it('rejects observations of another state and a background of the wrong size', () => {
    const other = griddedObservations({
      stateShape: [3, 5, 6],
      channel: [2],
      row: [0],
      col: [0],
      value: [1],
      std: 1,
    });
    expect(() => solve3DVar({ background, obs: other, bSqrt: u })).toThrow(
      /reads 3 channels but the state has 2/,
    );
    expect(() => solve3DVar({ background: new Float64Array(59), obs, bSqrt: u })).toThrow(
      /background has 59 values/,
    );
  });
});

describe('3D-Var on Gaussian random fields with a known B', () => {
  // Beta plane 16 x 24, 100 km spacing; errors and truths are Gaussian random fields with L = 300 km.
  const grid: Grid = betaPlaneGrid({ H: 16, W: 24, dxM: 100e3, dyM: 100e3, latCentreDeg: 45 });
  const Ltrue = 300e3;
  const trueStats: BackgroundErrorStats = {
    stateShape: [1, 16, 24],
    perLatitude: false,
    variance: Float64Array.from([1]),
    bias: Float64Array.from([0]),
    samples: 1,
  };
  const uTrue = createBSqrt(grid, trueStats, { lengthScaleM: Ltrue });
  const rng = createRng(9);
  const grf = (): Float64Array => uTrue.apply(rng.fillNormal(new Float64Array(384)));
  const makeCase = (): Var3DCase => {
    const truth = grf().map((v) => 2 * v);
    const err = grf();
    const background = truth.map((v, i) => v + (err[i] as number));
    const idx = new Set<number>();
    while (idx.size < 40) idx.add(rng.int(384));
    const g = [...idx];
    const obs = griddedObservations({
      stateShape: [1, 16, 24],
      channel: g.map(() => 0),
      row: g.map((k) => Math.floor(k / 24)),
      col: g.map((k) => k % 24),
      value: g.map((k) => (truth[k] as number) + 0.3 * rng.normal()),
      std: 0.3,
    });
    return { background, truth, obs };
  };
  // Training statistics from 40 background-minus-truth samples.
  const S = 40;
  const bg = new Float64Array(S * 384);
  const tr = new Float64Array(S * 384);
  for (let s = 0; s < S; s++) {
    const e = grf();
    for (let i = 0; i < 384; i++) bg[s * 384 + i] = e[i] as number;
  }
  const stats = estimateBackgroundError(
    { data: bg, shape: [S, 1, 16, 24] },
    { data: tr, shape: [S, 1, 16, 24] },
  );
  const cases = Array.from({ length: 12 }, makeCase);
  const grid5 = [75e3, 150e3, 300e3, 600e3, 1200e3];

  it('estimates the background-error variance within 15 % from 40 samples', () => {
    expect(Math.abs((stats.variance[0] as number) - 1)).toBeLessThan(0.15);
  });

  it('analyses better with the true length scale than with one 3x too short or too long (MSE at least 10 % lower)', () => {
    const { table } = tune3DVar({
      grid,
      stats: trueStats,
      cases,
      lengthScalesM: [Ltrue / 3, Ltrue, Ltrue * 3],
    });
    const [short, right, long] = table.map((r) => r.mse) as [number, number, number];
    expect(right).toBeLessThan(0.9 * short);
    expect(right).toBeLessThan(0.9 * long);
    // and every analysis beats the background (whose MSE is the error variance, 1).
    expect(right).toBeLessThan(0.8);
  });

  it('recovers the length scale within one step of a factor-2 grid by tuning with the estimated statistics', () => {
    const progress: number[] = [];
    const { table, best } = tune3DVar({
      grid,
      stats,
      cases,
      lengthScalesM: grid5,
      onProgress: (f) => progress.push(f),
    });
    expect(table.map((r) => r.lengthScaleM)).toEqual(grid5);
    expect(Math.abs(grid5.indexOf(best.lengthScaleM) - 2)).toBeLessThanOrEqual(1);
    expect(progress.at(-1)).toBe(1);
  });
});

describe('estimateBackgroundError', () => {
  it('estimates per-latitude variances, the bias and the cross-channel correlation of correlated errors', () => {
    const rng = createRng(10);
    const [S, C, H, W] = [200, 2, 3, 8];
    const bg = new Float64Array(S * C * H * W);
    const tr = new Float64Array(S * C * H * W);
    for (let s = 0; s < S; s++) {
      for (let i = 0; i < H; i++) {
        for (let k = 0; k < W; k++) {
          const a = rng.normal();
          const b = 0.8 * a + 0.6 * rng.normal(); // corr(a, b) = 0.8
          const at = ((s * C + 0) * H + i) * W + k;
          const bt = ((s * C + 1) * H + i) * W + k;
          tr[at] = rng.normal(); // any truth: only background - truth matters
          tr[bt] = rng.normal();
          bg[at] = tr[at] + (i + 1) * a + 0.5; // error sd i + 1, bias 0.5
          bg[bt] = tr[bt] + 2 * b; // error sd 2
        }
      }
    }
    const st = estimateBackgroundError(
      { data: bg, shape: [S, C, H, W] },
      { data: tr, shape: [S, C, H, W] },
      { perLatitude: true, crossChannel: true },
    );
    expect(st.variance).toHaveLength(6);
    for (let i = 0; i < 3; i++) expect((st.variance[i] as number) / (i + 1) ** 2).toBeCloseTo(1, 0);
    for (let i = 0; i < 3; i++) expect(Math.abs((st.variance[3 + i] as number) / 4 - 1)).toBeLessThan(0.15);
    expect(st.bias[0]).toBeCloseTo(0.5, 1);
    expect(st.channelCorrelation?.[1]).toBeCloseTo(0.8, 1);
    expect(st.channelCorrelation?.[0]).toBeCloseTo(1, 12);
  });

  it('with a valid mask never reads padded cells and gives a row without data its channel values', () => {
    const rng = createRng(12);
    const [S, C, H, W] = [50, 2, 3, 4];
    // Row 0 is padding, and so is column 3 of the other rows.
    const mask = Uint8Array.from({ length: H * W }, (_, g) => (g >= W && g % W !== W - 1 ? 1 : 0));
    const bg = new Float64Array(S * C * H * W);
    const tr = new Float64Array(S * C * H * W);
    for (let j = 0; j < bg.length; j++) {
      const g = j % (H * W);
      bg[j] = mask[g] === 1 ? rng.normal() + 0.5 : Number.NaN; // NaN would throw if it were read
      tr[j] = mask[g] === 1 ? rng.normal() : Number.NaN;
    }
    const opts = { perLatitude: true, crossChannel: true, validMask: mask };
    const st = estimateBackgroundError(
      { data: bg, shape: [S, C, H, W] },
      { data: tr, shape: [S, C, H, W] },
      opts,
    );
    // The same statistics by hand: errors of the valid cells only.
    const errs = (c: number, rows: number[]): number[] => {
      const out: number[] = [];
      for (let s = 0; s < S; s++)
        for (const i of rows)
          for (let k = 0; k < W; k++) {
            const j = ((s * C + c) * H + i) * W + k;
            if (mask[i * W + k] === 1) out.push((bg[j] as number) - (tr[j] as number));
          }
      return out;
    };
    const meanVar = (xs: number[]): [number, number] => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      return [m, xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)];
    };
    for (let c = 0; c < C; c++) {
      const [mAll, vAll] = meanVar(errs(c, [1, 2]));
      expect(st.bias[c * H]).toBeCloseTo(mAll, 12);
      expect(st.variance[c * H]).toBeCloseTo(vAll, 12);
      for (const i of [1, 2]) {
        const [m, v] = meanVar(errs(c, [i]));
        expect(st.bias[c * H + i]).toBeCloseTo(m, 12);
        expect(st.variance[c * H + i]).toBeCloseTo(v, 12);
      }
    }
    expect(st.channelCorrelation?.every(Number.isFinite)).toBe(true);
    expect(() =>
      estimateBackgroundError(
        { data: bg, shape: [S, C, H, W] },
        { data: tr, shape: [S, C, H, W] },
        { validMask: new Uint8Array(H * W) },
      ),
    ).toThrow(/validMask marks no cell valid/);
  });

  it('rejects mismatched shapes and a single sample', () => {
    const t = (shape: number[]) => ({ data: new Float64Array(shape.reduce((a, b) => a * b)), shape });
    expect(() => estimateBackgroundError(t([2, 1, 2, 2]), t([2, 1, 2, 3]))).toThrow(
      /background has shape \[2, 1, 2, 2\] but truth has shape \[2, 1, 2, 3\]/,
    );
    expect(() => estimateBackgroundError(t([1, 1, 2, 2]), t([1, 1, 2, 2]))).toThrow(/at least 2 samples/);
  });
});

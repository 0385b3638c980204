import { describe, expect, it } from 'vitest';
import { betaPlaneGrid, createRng, latLonGrid } from '@alignda/tensor';
import type { Grid } from '@alignda/tensor';
import type { BalanceSpec } from './balance.js';
import { createBalancedBSqrt } from './balanced-b.js';
import { estimateBalancedStats } from './balanced-stats.js';
import { estimateLengthScales } from './length-scale.js';

const [C, H, W] = [7, 16, 32];
const n = C * H * W;
const grid = betaPlaneGrid({ H, W, dxM: 100e3, dyM: 100e3, latCentreDeg: 45 });
const balance: BalanceSpec = {
  levels: [
    { z: 0, u: 2, v: 4 },
    { z: 1, u: 3, v: 5 },
  ],
  hydrostatic: [{ t: 6, zUpper: 0, zLower: 1, thicknessPerKelvin: 287.05 * Math.log(3) }],
  channelStd: [900, 500, 12, 6, 12, 6, 4],
};
const VAR = [0.04, 0.03, 0.002, 0.002, 0.002, 0.002, 0.001];
const LS = [400e3, 500e3, 200e3, 250e3, 200e3, 250e3, 300e3];

/** 40 pairs whose errors are drawn from a known balanced B (rho(z_upper, z_lower) = 0.6) plus a bias of 0.1. */
function pairs(): { background: Float64Array; truth: Float64Array; S: number } {
  const corr = new Float64Array(C * C);
  for (let c = 0; c < C; c++) corr[c * C + c] = 1;
  corr[1] = 0.6;
  corr[C] = 0.6;
  const u = createBalancedBSqrt(
    grid,
    {
      stateShape: [C, H, W],
      perLatitude: false,
      variance: Float64Array.from(VAR),
      bias: new Float64Array(C),
      samples: 1,
      channelCorrelation: corr,
    },
    balance,
    { lengthScalesM: LS },
  );
  const rng = createRng(5);
  const S = 40;
  const background = new Float64Array(S * n);
  const truth = new Float64Array(S * n);
  for (let s = 0; s < S; s++) {
    const e = u.apply(rng.fillNormal(new Float64Array(n)));
    for (let p = 0; p < n; p++) {
      truth[s * n + p] = rng.normal();
      background[s * n + p] = (truth[s * n + p] as number) + (e[p] as number) + 0.1;
    }
  }
  return { background, truth, S };
}

describe('estimateBalancedStats', () => {
  const { background, truth, S } = pairs();
  const bg = { data: background, shape: [S, C, H, W] };
  const tr = { data: truth, shape: [S, C, H, W] };
  const est = estimateBalancedStats(bg, tr, grid, balance);

  it('recovers the control variables of a known balanced B: variances within 10 %, length scales within 10 %, the level correlation within 0.05', () => {
    // Measured (seed 5): variances 0.93-1.05 x, length scales 0.99-1.08 x, rho 0.601.
    est.control.variance.forEach((v, c) => expect(Math.abs(v / (VAR[c] as number) - 1)).toBeLessThan(0.1));
    est.lengthScalesM.forEach((L, c) => expect(Math.abs(L / (LS[c] as number) - 1)).toBeLessThan(0.1));
    expect(est.control.channelCorrelation?.[1]).toBeCloseTo(0.6, 1);
    expect(Math.abs((est.control.channelCorrelation?.[1] as number) - 0.6)).toBeLessThan(0.05);
  });

  it("keeps only correlations between like control variables ('levels'), all ('full') or none", () => {
    const corr = est.control.channelCorrelation as Float64Array;
    expect(corr[2]).toBe(0); // z_upper with the u_upper residual
    expect(corr[2 * C + 3]).not.toBe(0); // u_upper residual with u_lower residual
    const full = estimateBalancedStats(bg, tr, grid, balance, { controlCorrelation: 'full' });
    expect(full.control.channelCorrelation?.[2]).not.toBe(0);
    expect(Math.abs(full.control.channelCorrelation?.[2] as number)).toBeLessThan(0.1);
    const none = estimateBalancedStats(bg, tr, grid, balance, { controlCorrelation: 'none' });
    expect(none.control.channelCorrelation).toBeUndefined();
  });

  it('reports the variance the balance explains (winds ~0.97-0.98 here, geopotentials 0) and the full-error bias', () => {
    expect(est.explainedVariance[0]).toBe(0);
    expect(est.explainedVariance[1]).toBe(0);
    for (const c of [2, 3, 4, 5]) expect(est.explainedVariance[c] as number).toBeGreaterThan(0.95);
    expect(est.explainedVariance[6] as number).toBeGreaterThan(0.85);
    // The error bias (0.1 plus the sample mean of 40 smooth error fields) is the full error's, per channel.
    est.error.bias.forEach((b) => expect(Math.abs(b - 0.1)).toBeLessThan(0.03));
    expect(est.error.variance).toHaveLength(C);
  });

  it('gives per-latitude variances when asked and rejects a grid of another size', () => {
    const perLat = estimateBalancedStats(bg, tr, grid, balance, { perLatitude: true });
    expect(perLat.control.variance).toHaveLength(C * H);
    expect(perLat.control.perLatitude).toBe(true);
    const small = betaPlaneGrid({ H: 8, W, dxM: 100e3, dyM: 100e3, latCentreDeg: 45 });
    expect(() => estimateBalancedStats(bg, tr, small, balance)).toThrow(
      /the grid is 8 x 32 but the states are 16 x 32/,
    );
  });
});

describe('estimateLengthScales', () => {
  it('recovers the length scale of Gaussian random fields within 15 % on a beta plane and a lat-lon grid', () => {
    const rng = createRng(6);
    const grids: Grid[] = [
      grid,
      latLonGrid(
        Array.from({ length: H }, (_, i) => 20 + 3 * i),
        Array.from({ length: 72 }, (_, k) => 5 * k),
      ),
    ];
    for (const g of grids) {
      const w = g.lonDeg.length;
      for (const L of [200e3, 400e3, 800e3]) {
        const u = createBalancedBSqrt(
          g,
          {
            stateShape: [1, H, w],
            perLatitude: false,
            variance: Float64Array.of(1),
            bias: Float64Array.of(0),
            samples: 1,
          },
          { levels: [], channelStd: [1] },
          { lengthScalesM: L },
        );
        const S = 40;
        const d = new Float64Array(S * H * w);
        for (let s = 0; s < S; s++) d.set(u.apply(rng.fillNormal(new Float64Array(H * w))), s * H * w);
        // Measured: 0.90-1.08 x.
        const est = estimateLengthScales({ data: d, shape: [S, 1, H, w] }, g)[0] as number;
        expect(Math.abs(est / L - 1)).toBeLessThan(0.15);
      }
    }
  });

  it('gives a channel without variance the grid spacing and rejects a floor outside (0, 1)', () => {
    const zeros = { data: new Float64Array(2 * H * W), shape: [2, 1, H, W] };
    expect(estimateLengthScales(zeros, grid)[0]).toBe(100e3 * (32 / Math.PI) * Math.sin(Math.PI / 32));
    expect(() => estimateLengthScales(zeros, grid, { correlationFloor: 1 })).toThrow(
      /correlationFloor must be in \(0, 1\), got 1/,
    );
  });
});

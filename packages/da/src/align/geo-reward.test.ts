import { describe, expect, it } from 'vitest';
import { betaPlaneGrid, createRng, geostrophicWind, latLonGrid } from '@alignda/tensor';
import type { BetaPlaneGrid } from '@alignda/tensor';
import { deviationScale } from './balance-score.js';
import type { BalanceRewardSpec } from './balance-score.js';
import { geoDeviations, geoReward } from './geo-reward.js';

// One QG-like level, channels [z, u, v], on a 16 x 32 beta plane (100 km spacing, centre 45 N).
const [H, W] = [16, 32];
const HW = H * W;
const grid: BetaPlaneGrid = betaPlaneGrid({ H, W, dxM: 100e3, dyM: 100e3, latCentreDeg: 45 });
const balance: BalanceRewardSpec = { levels: [{ z: 0, u: 1, v: 2 }], channels: ['z', 'u', 'v'] };
const fOpts = { tropicsDeg: 0 }; // the channel lies at 38-52 N: keep every row

/** A smooth geopotential (m2 s-2), its f0-geostrophic wind, and a small ageostrophic part of relative size `ageo`. */
function state(seed: number, ageo: number): Float32Array {
  const rng = createRng(seed);
  const [a, b, k] = [rng.uniform() * 6, rng.uniform() * 6, 1 + rng.int(3)];
  const phi = Float64Array.from(
    { length: HW },
    (_, p) => 2e3 * Math.sin((2 * Math.PI * k * (p % W)) / W + a) * Math.cos(Math.floor(p / W) / 4 + b),
  );
  const g = geostrophicWind({ data: phi, shape: [H, W] }, grid, { f0PerS: grid.f0PerS });
  const x = new Float32Array(3 * HW);
  x.set(phi, 0);
  for (let p = 0; p < HW; p++) {
    x[HW + p] = (g.u.data[p] as number) * (1 + ageo * Math.cos(p / 7));
    x[2 * HW + p] = (g.v.data[p] as number) * (1 + ageo * Math.sin(p / 5));
  }
  return x;
}

const stack = (...xs: Float32Array[]): { data: Float32Array; shape: number[] } => {
  const data = new Float32Array(xs.length * 3 * HW);
  xs.forEach((x, i) => data.set(x, i * 3 * HW));
  return { data, shape: [xs.length, 3, H, W] };
};
/** A copy of x with its channels rearranged: out channel c = x channel from[c], times sign[c]. */
const remap = (x: Float32Array, from: number[], sign = [1, 1, 1]): Float32Array => {
  const y = new Float32Array(3 * HW);
  from.forEach((c, o) => {
    for (let p = 0; p < HW; p++) y[o * HW + p] = (sign[o] as number) * (x[c * HW + p] as number);
  });
  return y;
};

describe('geoReward', () => {
  const truth = state(1, 0.1);
  const truthT = { data: truth, shape: [3, H, W] };

  it('scores a sample equal to the truth exactly 1, and one with its winds swapped or sign-flipped lower', () => {
    const swapped = remap(truth, [0, 2, 1]);
    const flipped = remap(truth, [0, 1, 2], [1, -1, -1]);
    const r = geoReward(stack(truth, swapped, flipped), truthT, grid, balance, 0.1, fOpts);
    expect(r[0]).toBe(1);
    expect(r[1]).toBeLessThan(0.5);
    expect(r[2]).toBeLessThan(0.5);
  });

  it('is 2 sigmoid(-(e / (1 + e)) / s) for winds (1 + e) times the geostrophic wind of an exactly balanced truth', () => {
    const balanced = state(2, 0);
    const e = 0.25;
    const scaled = balanced.map((v, k) => (k >= HW ? (1 + e) * v : v));
    const s = 0.1;
    const d = geoDeviations({ data: balanced, shape: [3, H, W] }, grid, balance, fOpts).data[0] as number;
    expect(d).toBeLessThan(1e-6); // float32 storage only
    const r = geoReward(stack(scaled), { data: balanced, shape: [3, H, W] }, grid, balance, s, fOpts);
    expect(r[0]).toBeCloseTo(2 / (1 + Math.exp(e / (1 + e) / s)), 5);
  });

  it('uses f0 on a beta plane by default, and f0 + beta y with coriolis latitude (which makes the balanced truth look unbalanced)', () => {
    const balanced = { data: state(3, 0), shape: [3, H, W] };
    const own = geoDeviations(balanced, grid, balance, fOpts).data[0] as number;
    const f0 = geoDeviations(balanced, grid, { ...balance, coriolis: { kind: 'f0' } }, fOpts)
      .data[0] as number;
    const lat = geoDeviations(balanced, grid, { ...balance, coriolis: { kind: 'latitude' } }, fOpts)
      .data[0] as number;
    expect(own).toBe(f0);
    expect(own).toBeLessThan(1e-6);
    expect(lat).toBeGreaterThan(0.02);
  });

  it('averages the score over levels and gives one deviation per level with both winds', () => {
    const two: BalanceRewardSpec = {
      levels: [
        { z: 0, u: 1, v: 2 },
        { z: 3, u: 4 }, // no v: not a Geo-Score level
        { z: 0, u: 1, v: 2 },
      ],
    };
    const x = new Float32Array(5 * HW);
    x.set(truth, 0);
    const d = geoDeviations({ data: x, shape: [5, H, W] }, grid, two, fOpts);
    expect(d.shape).toEqual([1, 2]);
    expect(d.data[0]).toBe(d.data[1]);
  });

  it('refuses no wind level, a channel out of range, truth of another shape, and f0 on a lat-lon grid without f0PerS', () => {
    const t = { data: truth, shape: [3, H, W] };
    expect(() => geoDeviations(t, grid, { levels: [], channels: ['air'] })).toThrow(
      /geoDeviations: the Geo-Score needs a level with a geopotential and both wind components; the balance has none \(channels air\)/,
    );
    expect(() => geoDeviations(t, grid, { levels: [{ z: 0, u: 1, v: 3 }] })).toThrow(
      /levels\[0\]\.v = 3 is not a channel \(the fields have 3 channels, 0\.\.2\)/,
    );
    expect(() =>
      geoReward(stack(truth), { data: truth.subarray(0, 2 * HW), shape: [2, H, W] }, grid, balance, 1),
    ).toThrow(
      /geoReward: samples must have shape \[N, C, H, W\] and truth \[C, H, W\] with the same C, H, W/,
    );
    const globe = latLonGrid(
      Array.from({ length: H }, (_, i) => 20 + 2 * i),
      Array.from({ length: W }, (_, j) => j * 2),
    );
    expect(() => geoDeviations(t, globe, { ...balance, coriolis: { kind: 'f0' } })).toThrow(/needs f0PerS/);
    expect(() => geoReward(stack(truth), t, grid, balance, 0)).toThrow(/scale must be finite and > 0, got 0/);
  });
});

describe('deviationScale', () => {
  it('is the median |D - D_truth| over candidates, levels and conditions', () => {
    // |D - D_truth|: condition 0 gives 0.1, 0.3; condition 1 gives 0.2, 0.0, 0.5, 0.4. Sorted 0, 0.1, 0.2, 0.3,
    // 0.4, 0.5: the median is (0.2 + 0.3) / 2 = 0.25.
    const s = deviationScale([
      { deviations: { data: Float64Array.of(0.2, 0.5), shape: [1, 2] }, truth: [0.1, 0.2] },
      { deviations: { data: Float64Array.of(0.3, 0.1, 0.6, 0.5), shape: [2, 2] }, truth: [0.1, 0.1] },
    ]);
    expect(s).toBeCloseTo(0.25, 12);
  });

  it('refuses no conditions, candidates as balanced as the truth, and mismatched levels', () => {
    expect(() => deviationScale([])).toThrow(/no conditions/);
    expect(() =>
      deviationScale([{ deviations: { data: Float64Array.of(0.2, 0.2), shape: [2, 1] }, truth: [0.2] }]),
    ).toThrow(/median \|D - D_truth\| over 2 candidate levels is 0/);
    expect(() =>
      deviationScale([
        { deviations: { data: Float64Array.of(0.2, 0.3), shape: [2, 1] }, truth: [0.2] },
        { deviations: { data: Float64Array.of(0.2, 0.3), shape: [1, 2] }, truth: [0.2, 0.1] },
      ]),
    ).toThrow(/conditions\[1\] has 2 levels but conditions\[0\] has 1/);
  });
});

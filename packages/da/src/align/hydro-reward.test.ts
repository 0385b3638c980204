import { describe, expect, it } from 'vitest';
import { R_DRY_J_PER_KG_K, createRng, latLonGrid } from '@alignda/tensor';
import type { BalanceRewardSpec } from './balance-score.js';
import { hydroDeviations, hydroReward } from './hydro-reward.js';

// Channels [z_upper, z_lower, t] on a small lat-lon patch; the QG world's thickness per kelvin R_d ln(750 / 250).
const [H, W] = [6, 8];
const HW = H * W;
const RT = R_DRY_J_PER_KG_K * Math.log(3);
const grid = latLonGrid(
  Array.from({ length: H }, (_, i) => 30 + 5 * i),
  Array.from({ length: W }, (_, j) => 5 * j),
);
const balance: BalanceRewardSpec = {
  levels: [],
  hydrostatic: [{ t: 2, zUpper: 0, zLower: 1, thicknessPerKelvin: RT }],
};

/** A hydrostatic state: random geopotentials, T their thickness over R_d ln 3 (so D = 0 up to float32). */
function hydrostatic(seed: number): Float32Array {
  const rng = createRng(seed);
  const x = new Float32Array(3 * HW);
  for (let p = 0; p < HW; p++) {
    x[p] = 9.5e4 + 500 * rng.normal();
    x[HW + p] = 2.5e4 + 300 * rng.normal();
    x[2 * HW + p] = ((x[p] as number) - (x[HW + p] as number)) / RT;
  }
  return x;
}

describe('hydroReward', () => {
  const truth = hydrostatic(4);
  const truthT = { data: truth, shape: [3, H, W] };

  it('gives D = 0 (to float32) for a hydrostatic state and D = 2 K for its temperature 2 K too warm', () => {
    const warm = truth.map((v, k) => (k >= 2 * HW ? v + 2 : v));
    const d = hydroDeviations(
      { data: Float32Array.of(...truth, ...warm), shape: [2, 3, H, W] },
      grid,
      balance,
    );
    expect(d.shape).toEqual([2, 1]);
    expect(d.data[0]).toBeLessThan(1e-4);
    expect(d.data[1]).toBeCloseTo(2, 4);
  });

  it('scores the truth 1 and a 2 K warm layer 2 sigmoid(-2 / s)', () => {
    const warm = truth.map((v, k) => (k >= 2 * HW ? v + 2 : v));
    const r = hydroReward(
      { data: Float32Array.of(...truth, ...warm), shape: [2, 3, H, W] },
      truthT,
      grid,
      balance,
      1.5,
    );
    expect(r[0]).toBe(1);
    expect(r[1]).toBeCloseTo(2 / (1 + Math.exp(2 / 1.5)), 4);
  });

  it('weights the departure by latitude: a 1 K error on the southernmost row counts more than on the northernmost', () => {
    const south = truth.map((v, k) => (k >= 2 * HW && k < 2 * HW + W ? v + 1 : v));
    const north = truth.map((v, k) => (k >= 3 * HW - W ? v + 1 : v));
    const d = hydroDeviations(
      { data: Float32Array.of(...south, ...north), shape: [2, 3, H, W] },
      grid,
      balance,
    );
    expect(d.data[0]).toBeGreaterThan(d.data[1] as number);
  });

  it('refuses a balance without a hydrostatic layer, a zero thickness and a layer channel out of range', () => {
    expect(() => hydroDeviations(truthT, grid, { levels: [], channels: ['a', 'b', 'c'] })).toThrow(
      /hydroDeviations: the hydrostatic reward needs a temperature between two geopotential levels .* none \(channels a, b, c\)/,
    );
    const layer = { t: 2, zUpper: 0, zLower: 1, thicknessPerKelvin: 0 };
    expect(() => hydroDeviations(truthT, grid, { levels: [], hydrostatic: [layer] })).toThrow(
      /thicknessPerKelvin = 0 must be finite and non-zero/,
    );
    expect(() =>
      hydroDeviations(truthT, grid, {
        levels: [],
        hydrostatic: [{ ...layer, t: 7, thicknessPerKelvin: RT }],
      }),
    ).toThrow(/hydrostatic\[0\]\.t = 7 is not a channel/);
  });
});

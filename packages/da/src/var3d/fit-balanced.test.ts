import { describe, expect, it } from 'vitest';
import { betaPlaneGrid, createRng, mse } from '@alignda/tensor';
import type { BalanceSpec } from './balance.js';
import { createBalancedBSqrt } from './balanced-b.js';
import { fit3DVar } from './fit.js';
import { fitBalanced3DVar } from './fit-balanced.js';
import { solve3DVar } from './var3d.js';
import type { Var3DCase } from './tune.js';
import { griddedObservations } from '../observations.js';

const [C, H, W] = [7, 12, 24];
const HW = H * W;
const n = C * HW;
const grid = betaPlaneGrid({ H, W, dxM: 150e3, dyM: 150e3, latCentreDeg: 45 });
const balance: BalanceSpec = {
  levels: [
    { z: 0, u: 2, v: 4 },
    { z: 1, u: 3, v: 5 },
  ],
  hydrostatic: [{ t: 6, zUpper: 0, zLower: 1, thicknessPerKelvin: 287.05 * Math.log(3) }],
  channelStd: [900, 500, 12, 6, 12, 6, 4],
};
const BIAS = 0.3;

// A synthetic world whose background errors are drawn from a known balanced B, plus a constant bias.
const corr = new Float64Array(C * C);
for (let c = 0; c < C; c++) corr[c * C + c] = 1;
corr[1] = 0.6;
corr[C] = 0.6;
const uTrue = createBalancedBSqrt(
  grid,
  {
    stateShape: [C, H, W],
    perLatitude: false,
    variance: Float64Array.from([0.04, 0.03, 0.002, 0.002, 0.002, 0.002, 0.001]),
    bias: new Float64Array(C),
    samples: 1,
    channelCorrelation: corr,
  },
  balance,
  { lengthScalesM: [500e3, 600e3, 300e3, 300e3, 300e3, 300e3, 400e3] },
);
const rng = createRng(41);
const draw = (): { background: Float64Array; truth: Float64Array } => {
  const truth = rng.fillNormal(new Float64Array(n));
  const e = uTrue.apply(rng.fillNormal(new Float64Array(n)));
  return { truth, background: truth.map((t, p) => t + (e[p] as number) + BIAS) };
};
/** Every channel observed at 5 % of the columns, noise 0.02. */
const makeCase = (): Var3DCase => {
  const { background, truth } = draw();
  const cols = new Set<number>();
  while (cols.size < Math.round(0.05 * HW)) cols.add(rng.int(HW));
  const at = [...cols].flatMap((p) => Array.from({ length: C }, (_, c) => [c, p] as const));
  const obs = griddedObservations({
    stateShape: [C, H, W],
    channel: at.map(([c]) => c),
    row: at.map(([, p]) => Math.floor(p / W)),
    col: at.map(([, p]) => p % W),
    value: at.map(([c, p]) => (truth[c * HW + p] as number) + 0.02 * rng.normal()),
    std: 0.02,
  });
  return { background, truth, obs };
};
const S = 30;
const background = new Float64Array(S * n);
const truth = new Float64Array(S * n);
for (let s = 0; s < S; s++) {
  const d = draw();
  background.set(d.background, s * n);
  truth.set(d.truth, s * n);
}
const pairs = {
  background: { data: background, shape: [S, C, H, W] },
  truth: { data: truth, shape: [S, C, H, W] },
};
const tuneCases = Array.from({ length: 4 }, makeCase);
const testCases = Array.from({ length: 6 }, makeCase);
const shape = [C, H, W];
const score = (
  bSqrt: Parameters<typeof solve3DVar>[0]['bSqrt'],
  correct: (b: Float64Array) => Float64Array,
): number =>
  testCases.reduce((s, c) => {
    const a = solve3DVar({ background: correct(c.background as Float64Array), obs: c.obs, bSqrt }).analysis;
    return s + mse({ data: a, shape }, { data: c.truth, shape }).overall / testCases.length;
  }, 0);

describe('fitBalanced3DVar', () => {
  const separable = fit3DVar(pairs, tuneCases, grid, {
    lengthScalesM: [150e3, 300e3, 600e3, 1200e3],
    stats: { crossChannel: true },
  });
  const separableBc = fit3DVar(pairs, tuneCases, grid, {
    lengthScalesM: [150e3, 300e3, 600e3, 1200e3],
    stats: { crossChannel: true },
    biasCorrection: true,
  });
  const balanced = fitBalanced3DVar(pairs, tuneCases, grid, { balance });

  it('beats the separable 3D-Var on held-out cases of a balanced, biased world: bias correction and the balance each lower the analysis MSE', () => {
    const raw = score(separable.bSqrt, separable.correctBackground);
    const bc = score(separableBc.bSqrt, separableBc.correctBackground);
    const bal = score(balanced.bSqrt, balanced.correctBackground);
    // Measured (seed 41): 0.0238 raw, 0.0220 bias-corrected, 0.0091 balanced and bias-corrected.
    expect(bc).toBeLessThan(0.95 * raw);
    expect(bal).toBeLessThan(0.6 * bc);
  });

  it('reports the tuning table (5 multipliers of the estimated per-variable length scales) and the statistics', () => {
    const { table, best } = balanced.tuning;
    expect(table.map((r) => r.multiplier)).toEqual([0.5, 0.7, 1, 1.4, 2]);
    expect(best.mse).toBe(Math.min(...table.map((r) => r.mse)));
    table.forEach((r) =>
      r.lengthScalesM.forEach((L, c) =>
        expect(L).toBeCloseTo(r.multiplier * (balanced.balanced.lengthScalesM[c] as number), 6),
      ),
    );
    expect(balanced.stats.bias[0]).toBe(balanced.balanced.error.bias[0]);
    expect(balanced.balanced.control.variance).toHaveLength(C);
  });

  it('leaves fit3DVar as before by default (no bias correction: backgrounds are copied unchanged)', () => {
    const bg = testCases[0]?.background as Float64Array;
    expect(separable.correctBackground(bg)).toEqual(bg);
    expect(separableBc.correctBackground(bg)[0]).toBeCloseTo(
      (bg[0] as number) - (separableBc.stats.bias[0] as number),
      12,
    );
  });

  it('rejects a non-positive multiplier', () => {
    expect(() =>
      fitBalanced3DVar(pairs, tuneCases, grid, { balance, lengthScaleMultipliers: [1, -1] }),
    ).toThrow(/lengthScaleMultipliers\[1\] = -1 must be finite and > 0/);
  });

  it('refuses a padded grid (a valid mask with a 0): its statistics have no masked form', () => {
    const validMask = new Uint8Array(HW).fill(1);
    validMask[0] = 0;
    expect(() => fitBalanced3DVar(pairs, tuneCases, grid, { balance, validMask })).toThrow(
      /fitBalanced3DVar: the balanced statistics have no masked form .*a padded grid is not supported/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { betaPlaneGrid, createRng } from '@alignda/tensor';
import type { Grid } from '@alignda/tensor';

import { createBSqrt } from './b-sqrt.js';
import { fit3DVar } from './fit.js';
import { tune3DVar } from './tune.js';
import type { Var3DCase } from './tune.js';
import { griddedObservations } from '../observations.js';

describe('fit3DVar on a padded grid', () => {
  // A 12 x 16 beta plane (100 km) whose outer two rows and columns are padding, as ncep-air's stored 25 x 53 grid
  // sits in its 32 x 64 model grid: 8 x 12 valid cells. Errors and truths are Gaussian random fields, L = 300 km.
  const [H, W] = [12, 16];
  const n = H * W;
  const grid: Grid = betaPlaneGrid({ H, W, dxM: 100e3, dyM: 100e3, latCentreDeg: 45 });
  const mask = Uint8Array.from({ length: n }, (_, g) => {
    const [i, k] = [Math.floor(g / W), g % W];
    return i >= 2 && i < H - 2 && k >= 2 && k < W - 2 ? 1 : 0;
  });
  const valid = [...mask.keys()].filter((g) => mask[g] === 1);
  const unit = { variance: Float64Array.from([1]), bias: Float64Array.from([0]) };
  const grf = createBSqrt(
    grid,
    { stateShape: [1, H, W], perLatitude: false, ...unit, samples: 1 },
    { lengthScaleM: 300e3 },
  );
  const rng = createRng(31);
  const field = (): Float64Array => grf.apply(rng.fillNormal(new Float64Array(n)));
  const S = 30;
  const background = new Float64Array(S * n);
  const truth = new Float64Array(S * n);
  for (let s = 0; s < S; s++) {
    const t = field();
    const e = field();
    for (let g = 0; g < n; g++) {
      truth[s * n + g] = 2 * (t[g] as number);
      background[s * n + g] = 2 * (t[g] as number) + (e[g] as number);
    }
  }
  const cases: Var3DCase[] = Array.from({ length: 6 }, () => {
    const t = field().map((v) => 2 * v);
    const err = field();
    const idx = valid.filter(() => rng.uniform() < 0.3); // observations only where there are data
    const obs = griddedObservations({
      stateShape: [1, H, W],
      channel: idx.map(() => 0),
      row: idx.map((g) => Math.floor(g / W)),
      col: idx.map((g) => g % W),
      value: idx.map((g) => (t[g] as number) + 0.3 * rng.normal()),
      std: 0.3,
    });
    return { background: t.map((v, g) => v + (err[g] as number)), truth: t, obs };
  });
  // Garbage in the padding (sd 5, 5x the background error), as an emulator's unconstrained padded output would be.
  const g1 = createRng(32);
  const junk = Float64Array.from({ length: 16 * n }, () => 5 * g1.normal());
  /** A copy of `x` (states of n cells, stacked) with junk[j + offset] added to every padded value j. */
  const dirty = (x: ArrayLike<number>, offset: number, sign = 1): Float64Array =>
    Float64Array.from(x, (v, j) =>
      mask[j % n] === 1 ? v : v + sign * (junk[(j + offset) % junk.length] as number),
    );
  const shape = [S, 1, H, W];
  const clean = { background: { data: background, shape }, truth: { data: truth, shape } };
  const garbage = { background: { data: dirty(background, 0), shape }, truth: { data: truth, shape } };
  const dirtyCases = cases.map((c, k) => ({
    ...c,
    background: dirty(c.background, k * n),
    truth: dirty(c.truth, (k + 7) * n, -1),
  }));
  const lengthScalesM = [75e3, 150e3, 300e3, 600e3, 1200e3];
  const opts = { lengthScalesM, stats: { perLatitude: true } };

  it('with the valid mask, gives the same B and tuning table whatever the padding holds, and the true 300 km', () => {
    const ref = fit3DVar(clean, cases, grid, { ...opts, validMask: mask });
    const got = fit3DVar(garbage, dirtyCases, grid, { ...opts, validMask: mask });
    expect(got.stats).toEqual(ref.stats);
    expect(got.tuning).toEqual(ref.tuning);
    expect(got.tuning.best.lengthScaleM).toBe(300e3);
  });

  it('without the mask, lets the same garbage pick another length scale (what ncep-air got before the mask)', () => {
    expect(fit3DVar(clean, cases, grid, opts).tuning.best.lengthScaleM).toBe(300e3);
    expect(fit3DVar(garbage, dirtyCases, grid, opts).tuning.best.lengthScaleM).toBe(150e3);
  });

  it('refuses a mask of another grid', () => {
    const stats = fit3DVar(clean, cases, grid, { ...opts, validMask: mask }).stats;
    const wrong = new Uint8Array(n - W).fill(1);
    expect(() => fit3DVar(clean, cases, grid, { ...opts, validMask: wrong })).toThrow(
      /estimateBackgroundError: validMask has 176 cells but the states are 12 x 16/,
    );
    expect(() => tune3DVar({ grid, stats, cases, lengthScalesM, validMask: wrong })).toThrow(
      /tuneBSqrt: validMask has 176 cells but the states are 12 x 16/,
    );
  });
});

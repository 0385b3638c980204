import { createBSqrt, estimateBackgroundError, griddedObservations } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { betaPlaneGrid, createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { cellDistance, columnLocalisation, forecastEnsemble, letkfMean } from './ensemble.js';

const grid = betaPlaneGrid({ H: 4, W: 6, dxM: 100e3, dyM: 200e3, latCentreDeg: 45 });
const shape = [2, 4, 6] as const;
const n = 2 * 4 * 6;

describe('cellDistance', () => {
  it('measures zonal distance the short way round a periodic channel and meridional distance by rows', () => {
    const d = cellDistance(grid);
    expect(d(0, 1)).toBeCloseTo(100e3, 6);
    expect(d(0, 5)).toBeCloseTo(100e3, 6); // periodic: column 5 is next to column 0
    expect(d(0, 6)).toBeCloseTo(200e3, 6); // one row north
    expect(d(0, 9)).toBeCloseTo(Math.hypot(300e3, 200e3), 6);
    expect(d(7, 7)).toBe(0);
  });
});

describe('columnLocalisation', () => {
  const obs = griddedObservations({
    stateShape: shape,
    channel: [0, 1],
    row: [0, 3],
    col: [0, 3],
    value: [1, 2],
    std: [1, 1],
  });

  it('analyses every channel of a column together and drops observations beyond twice the half-width', () => {
    const loc = columnLocalisation(grid, shape, obs, 100e3);
    expect(loc.batches).toHaveLength(24);
    expect(Array.from(loc.batches[7] ?? [])).toEqual([7, 31]); // cell 7, channels 0 and 1
    // Cell 0 holds observation 0 (weight 1) and is 3 columns and 3 rows from observation 1 (beyond 200 km).
    expect(Array.from(loc.local[0]?.obsIndex ?? [])).toEqual([0]);
    expect(loc.local[0]?.weight[0]).toBe(1);
  });

  it('refuses observations off the grid and a zero radius', () => {
    const points = { ...obs, gridIndex: undefined };
    expect(() => columnLocalisation(grid, shape, points, 100e3)).toThrow(AppError);
    expect(() => columnLocalisation(grid, shape, obs, 0)).toThrow(/must be > 0/);
  });
});

describe('forecastEnsemble', () => {
  // A B from random pairs, and an identity "forecast": the members are the perturbed starts, recentred.
  const rng = createRng(3);
  const bg = rng.fillNormal(new Float32Array(4 * n));
  const tr = rng.fillNormal(new Float32Array(4 * n));
  const stats = estimateBackgroundError(
    { data: bg, shape: [4, ...shape] },
    { data: tr, shape: [4, ...shape] },
  );
  const bSqrt = createBSqrt(grid, stats, { lengthScaleM: 200e3 });
  const start = createRng(4).fillNormal(new Float32Array(n));
  const background = createRng(5).fillNormal(new Float32Array(n));

  it('is centred exactly on the background and deterministic for a seed', async () => {
    const make = (seed: number): Promise<Float32Array> =>
      forecastEnsemble(start, background, bSqrt, {
        members: 8,
        scale: 0.5,
        rng: createRng(seed),
        forecast: (x) => Promise.resolve(x),
      });
    const a = await make(1);
    const b = await make(1);
    expect(Array.from(a)).toEqual(Array.from(b));
    for (let k = 0; k < n; k++) {
      let m = 0;
      for (let j = 0; j < 8; j++) m += (a[j * n + k] as number) / 8;
      expect(Math.abs(m - (background[k] as number))).toBeLessThan(1e-5);
    }
    expect(Array.from(await make(2))).not.toEqual(Array.from(a));
  });

  it('gives the LETKF an ensemble whose analysis is pulled toward an observation and whose spread shrinks', async () => {
    const ens = await forecastEnsemble(start, background, bSqrt, {
      members: 16,
      scale: 1,
      rng: createRng(9),
      forecast: (x) => Promise.resolve(x),
    });
    const target = (background[0] as number) + 3;
    const obs = griddedObservations({
      stateShape: shape,
      channel: [0],
      row: [0],
      col: [0],
      value: [target],
      std: [0.1],
    });
    const a = letkfMean(ens, 16, obs, columnLocalisation(grid, shape, obs, 300e3), 1);
    expect(Math.abs((a.mean[0] as number) - target)).toBeLessThan(
      Math.abs((background[0] as number) - target) / 2,
    );
    // Far from the observation (beyond 2 x 300 km) the analysis keeps the background.
    const far = 3 * 6 + 3; // row 3, column 3: 600 km north, 300 km east
    expect(a.mean[far]).toBeCloseTo(background[far] as number, 5);
  });
});

import { describe, expect, it } from 'vitest';
import { EARTH_RADIUS_M, betaPlaneGrid, createRng, latLonGrid } from '@alignda/tensor';
import type { Grid } from '@alignda/tensor';
import { gaspariCohn } from '../gaspari-cohn.js';
import { gaspariCohnSqrt } from './localisation-sqrt.js';
import type { LocalisationSqrt } from './localisation-sqrt.js';

/** S S^T as a dense m x m matrix, by applying S to the unit vectors of its control space. */
function denseL(s: LocalisationSqrt): Float64Array {
  const { cells: m, rank: r } = s;
  const S = new Float64Array(m * r); // [m, r]
  const col = new Float64Array(m);
  for (let t = 0; t < r; t++) {
    const e = new Float64Array(r);
    e[t] = 1;
    s.apply(e, col);
    for (let a = 0; a < m; a++) S[a * r + t] = col[a] as number;
  }
  const L = new Float64Array(m * m);
  for (let a = 0; a < m; a++)
    for (let b = 0; b < m; b++) {
      let v = 0;
      for (let t = 0; t < r; t++) v += (S[a * r + t] as number) * (S[b * r + t] as number);
      L[a * m + b] = v;
    }
  return L;
}

/** Great-circle chord 2 R sin(gamma / 2) between two points (haversine form), metres. */
function sphereChord(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180;
  const h =
    Math.sin(((lat2 - lat1) * r) / 2) ** 2 +
    Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.sqrt(h);
}

/** max |S S^T - GC(d)| over the cells of `grid`, d from `distance`. */
function worstError(
  grid: Grid,
  s: LocalisationSqrt,
  c: number,
  distance: (a: number, b: number) => number,
): number {
  const m = s.cells;
  const L = denseL(s);
  let worst = 0;
  for (let a = 0; a < m; a++)
    for (let b = 0; b < m; b++)
      worst = Math.max(worst, Math.abs((L[a * m + b] as number) - gaspariCohn(distance(a, b), c)));
  expect(m).toBe(grid.latDeg.length * grid.lonDeg.length);
  return worst;
}

describe('gaspariCohnSqrt', () => {
  it.each([8, 7])(
    'gives S S^T = GC(sqrt(chord_x^2 + dy^2)) on a periodic beta plane of width %i (Fourier path, to 1e-10)',
    (W) => {
      const grid = betaPlaneGrid({ H: 5, W, dxM: 200e3, dyM: 150e3, latCentreDeg: 45 });
      const c = 400e3;
      const s = gaspariCohnSqrt(grid, c);
      const radius = (W * 200e3) / (2 * Math.PI);
      const err = worstError(grid, s, c, (a, b) => {
        const dx = 2 * radius * Math.sin((Math.PI * Math.abs((a % W) - (b % W))) / W);
        const dy = 150e3 * Math.abs(Math.floor(a / W) - Math.floor(b / W));
        return Math.hypot(dx, dy);
      });
      expect(err).toBeLessThan(1e-10);
    },
  );

  it('gives S S^T = GC(great-circle chord) on a global lat-lon grid (Fourier path) and a regional one (dense path)', () => {
    const global = latLonGrid([-60, -20, 20, 60], [0, 45, 90, 135, 180, 225, 270, 315]);
    const regional = latLonGrid([40, 45, 50, 55], [0, 5, 10, 15, 20, 25]);
    expect(global.periodicLon).toBe(true);
    expect(regional.periodicLon).toBe(false);
    for (const [grid, c] of [
      [global, 3000e3],
      [regional, 500e3],
    ] as const) {
      const W = grid.lonDeg.length;
      const at = (a: number): [number, number] => [
        grid.latDeg[Math.floor(a / W)] as number,
        grid.lonDeg[a % W] as number,
      ];
      const err = worstError(grid, gaspariCohnSqrt(grid, c), c, (a, b) => sphereChord(...at(a), ...at(b)));
      expect(err).toBeLessThan(1e-10);
    }
  });

  it('has applyT as the exact adjoint of apply', () => {
    const grid = betaPlaneGrid({ H: 6, W: 10, dxM: 100e3, dyM: 100e3, latCentreDeg: 45 });
    const s = gaspariCohnSqrt(grid, 250e3);
    const rng = createRng(3);
    const alpha = rng.fillNormal(new Float64Array(s.rank));
    const x = rng.fillNormal(new Float64Array(s.cells));
    const sa = new Float64Array(s.cells);
    const stx = new Float64Array(s.rank);
    s.apply(alpha, sa);
    s.applyT(x, stx);
    const lhs = sa.reduce((acc, v, i) => acc + v * (x[i] as number), 0);
    const rhs = stx.reduce((acc, v, i) => acc + v * (alpha[i] as number), 0);
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-12 * (Math.abs(lhs) + 1));
  });

  it('is the ones column (rank 1, L all ones) with no localisation, and drops null modes of a wide taper', () => {
    const grid = betaPlaneGrid({ H: 3, W: 4, dxM: 100e3, dyM: 100e3, latCentreDeg: 45 });
    const none = gaspariCohnSqrt(grid, Infinity);
    expect(none.rank).toBe(1);
    expect(Math.max(...denseL(none).map((v) => Math.abs(v - 1)))).toBe(0);
    // A half-width far beyond the grid makes L nearly all ones: a few modes carry it, the rest are dropped.
    const c = 1e8;
    const wide = gaspariCohnSqrt(grid, c);
    expect(wide.rank).toBeLessThan(12);
    const radius = (4 * 100e3) / (2 * Math.PI);
    const err = worstError(grid, wide, c, (a, b) =>
      Math.hypot(
        2 * radius * Math.sin((Math.PI * Math.abs((a % 4) - (b % 4))) / 4),
        100e3 * Math.abs(Math.floor(a / 4) - Math.floor(b / 4)),
      ),
    );
    expect(err).toBeLessThan(1e-9);
  });

  it('rejects a half-width <= 0 and a bad tolerance with messages that name them', () => {
    const grid = betaPlaneGrid({ H: 3, W: 4, dxM: 100e3, dyM: 100e3, latCentreDeg: 45 });
    expect(() => gaspariCohnSqrt(grid, 0)).toThrow(/localisation radius .* must be > 0 metres .* got 0/);
    expect(() => gaspariCohnSqrt(grid, -5)).toThrow(/must be > 0 metres .* got -5/);
    expect(() => gaspariCohnSqrt(grid, Number.NaN)).toThrow(/got NaN/);
    expect(() => gaspariCohnSqrt(grid, 1e5, { tolerance: 1 })).toThrow(
      /tolerance must be in \[0, 1\), got 1/,
    );
  });
});

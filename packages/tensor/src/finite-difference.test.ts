import { describe, expect, it } from 'vitest';
import { ddx, ddy } from './finite-difference.js';
import { EARTH_RADIUS_M as R, betaPlaneGrid, latLonGrid } from './grid.js';
import type { Grid } from './grid.js';

const deg = Math.PI / 180;
const range = (n: number, start: number, step: number): number[] =>
  Array.from({ length: n }, (_, i) => start + i * step);

/** Samples f(lat, lon) (radians) on a lat-lon grid: shape [H, W]. */
function sample(
  grid: Grid,
  f: (lat: number, lon: number) => number,
): { data: Float64Array; shape: number[] } {
  const H = grid.latDeg.length;
  const W = grid.lonDeg.length;
  const data = new Float64Array(H * W);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++)
      data[i * W + j] = f((grid.latDeg[i] ?? NaN) * deg, (grid.lonDeg[j] ?? NaN) * deg);
  return { data, shape: [H, W] };
}

const maxAbsDiff = (a: Float64Array, b: Float64Array): number =>
  a.reduce((m, v, k) => Math.max(m, Math.abs(v - (b[k] ?? NaN))), 0);

// Analytic field on the sphere: f = cos(lat) sin(2 lon) + sin(2 lat), so that
// df/dx = (1 / (R cos lat)) df/dlon = 2 cos(2 lon) / R and df/dy = (1/R) df/dlat = (-sin(lat) sin(2 lon) + 2 cos(2 lat)) / R.
const f = (lat: number, lon: number): number => Math.cos(lat) * Math.sin(2 * lon) + Math.sin(2 * lat);
const fx = (_lat: number, lon: number): number => (2 * Math.cos(2 * lon)) / R;
const fy = (lat: number, lon: number): number =>
  (-Math.sin(lat) * Math.sin(2 * lon) + 2 * Math.cos(2 * lat)) / R;

/** Max error (scaled by R, i.e. per radian) of ddx and ddy on an H x W grid built by `make`. */
function errors(make: (H: number, W: number) => Grid, H: number, W: number): { ex: number; ey: number } {
  const g = make(H, W);
  const phi = sample(g, f);
  return {
    ex: R * maxAbsDiff(ddx(phi, g).data, sample(g, fx).data),
    ey: R * maxAbsDiff(ddy(phi, g).data, sample(g, fy).data),
  };
}

/** Observed orders log2(e(h) / e(h/2)) over three halvings of the spacing. */
function orders(make: (H: number, W: number) => Grid): { x: number[]; y: number[] } {
  // From 17 rows up the error is in its asymptotic range (9 rows gives order 1.66 for the edge rows of ddy).
  const e = [
    [17, 32],
    [33, 64],
    [65, 128],
    [129, 256],
  ].map(([H, W]) => errors(make, H ?? 0, W ?? 0));
  const ord = (k: 'ex' | 'ey'): number[] => e.slice(1).map((v, i) => Math.log2((e[i]?.[k] ?? NaN) / v[k]));
  return { x: ord('ex'), y: ord('ey') };
}

describe('ddx and ddy on lat-lon grids', () => {
  it('converge at second order, edge rows included, on a global grid with ascending latitudes', () => {
    const o = orders((H, W) => latLonGrid(range(H, -80, 160 / (H - 1)), range(W, 0, 360 / W)));
    for (const v of [...o.x, ...o.y]) expect(v).toBeGreaterThan(1.8);
    for (const v of [...o.x, ...o.y]) expect(v).toBeLessThan(2.3);
  });

  it('converge at second order with descending latitudes and a non-periodic longitude band (one-sided edges)', () => {
    const o = orders((H, W) => latLonGrid(range(H, 75, -150 / (H - 1)), range(W, -30, 100 / (W - 1))));
    for (const v of [...o.x, ...o.y]) expect(v).toBeGreaterThan(1.8);
    for (const v of [...o.x, ...o.y]) expect(v).toBeLessThan(2.3);
  });

  it('are exact, edges included, for quadratics: y^2 on uneven descending latitudes, lon^2 on a band', () => {
    const g = latLonGrid([80, 61, 40, 12, -5, -33, -70], range(6, 10, 7));
    // Separate fields: y^2 ~ 1e14 would swamp the x-variation in rounding.
    const qy = sample(g, (lat) => (R * lat) ** 2);
    const qx = sample(g, (_lat, lon) => lon ** 2);
    const wantY = sample(g, (lat) => 2 * R * lat);
    const wantX = sample(g, (lat, lon) => (2 * lon) / (R * Math.cos(lat)));
    // Relative 1e-12 of the largest derivative: rounding only.
    expect(maxAbsDiff(ddy(qy, g).data, wantY.data)).toBeLessThan(1e-12 * 2 * R * 80 * deg);
    expect(maxAbsDiff(ddx(qx, g).data, wantX.data)).toBeLessThan(1e-12 * 1e-6);
  });

  it('give the same northward derivative whichever way the rows are ordered', () => {
    const up = latLonGrid(range(9, -60, 15), range(8, 0, 45));
    const down = latLonGrid(range(9, 60, -15), range(8, 0, 45));
    const dUp = ddy(sample(up, f), up).data;
    const dDown = ddy(sample(down, f), down).data;
    for (let i = 0; i < 9; i++)
      for (let j = 0; j < 8; j++) expect(dDown[(8 - i) * 8 + j]).toBeCloseTo(dUp[i * 8 + j] ?? NaN, 18);
  });

  it('write NaN for d/dx on a pole row, where the zonal spacing is 0', () => {
    const g = latLonGrid([90, 45, 0], range(8, 0, 45));
    const d = ddx(sample(g, f), g).data;
    expect(d.slice(0, 8).every(Number.isNaN)).toBe(true);
    expect(d.slice(8).every(Number.isFinite)).toBe(true);
  });
});

describe('ddx and ddy on beta-plane grids', () => {
  it('converge at second order for a field periodic in x and not in y', () => {
    const Lx = 4000e3;
    const e = [16, 32, 64].map((W) => {
      const H = W / 2 + 1;
      const d = Lx / W;
      const g = betaPlaneGrid({ H, W, dxM: d, dyM: d, latCentreDeg: 45 });
      // x = j d, y = (i - (H - 1) / 2) d; phi = sin(2 pi x / Lx) exp(y / Lx).
      const at = (fn: (x: number, y: number) => number): Float64Array =>
        Float64Array.from({ length: H * W }, (_, k) =>
          fn((k % W) * d, (Math.floor(k / W) - (H - 1) / 2) * d),
        );
      const k = (2 * Math.PI) / Lx;
      const phi = { data: at((x, y) => Math.sin(k * x) * Math.exp(y / Lx)), shape: [H, W] };
      return {
        ex:
          Lx *
          maxAbsDiff(
            ddx(phi, g).data,
            at((x, y) => k * Math.cos(k * x) * Math.exp(y / Lx)),
          ),
        ey:
          Lx *
          maxAbsDiff(
            ddy(phi, g).data,
            at((x, y) => (Math.sin(k * x) * Math.exp(y / Lx)) / Lx),
          ),
      };
    });
    for (let i = 1; i < e.length; i++) {
      for (const key of ['ex', 'ey'] as const) {
        const order = Math.log2((e[i - 1]?.[key] ?? NaN) / (e[i]?.[key] ?? NaN));
        expect(order).toBeGreaterThan(1.8);
        expect(order).toBeLessThan(2.3);
      }
    }
  });
});

describe('ddx and ddy shapes', () => {
  const g = latLonGrid(range(5, -40, 20), range(6, 0, 60));
  const one = sample(g, f);

  it('treat leading axes as independent slabs and fill a given out buffer', () => {
    const two = { data: new Float64Array(60), shape: [2, 5, 6] };
    two.data.set(one.data, 0);
    two.data.set(
      one.data.map((v) => 3 * v),
      30,
    );
    const out = new Float32Array(60);
    const d = ddy(two, g, { out });
    expect(d.data).toBe(out);
    expect(d.shape).toEqual([2, 5, 6]);
    const ref = ddy(one, g).data;
    for (let k = 0; k < 30; k++) {
      expect(out[k]).toBeCloseTo(ref[k] ?? NaN, 10);
      expect(out[30 + k]).toBeCloseTo(3 * (ref[k] ?? NaN), 10);
    }
  });

  it('name both shapes when the field does not fit the grid, and refuse too small a grid', () => {
    expect(() => ddx({ data: new Float64Array(30), shape: [6, 5] }, g)).toThrow(
      /f has shape \[6, 5\] but the grid is \[5, 6\]/,
    );
    expect(() => ddy(one, g, { out: new Float64Array(3) })).toThrow(/out has length 3/);
    const thin = latLonGrid([0, 10], [0, 10, 20]);
    expect(() => ddy({ data: new Float64Array(6), shape: [2, 3] }, thin)).toThrow(/at least 3 rows/);
  });
});

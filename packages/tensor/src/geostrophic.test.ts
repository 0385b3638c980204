import { describe, expect, it } from 'vitest';
import { geoScore, geostrophicDeviation, geostrophicWind } from './geostrophic.js';
import { EARTH_OMEGA_PER_S as OMEGA, EARTH_RADIUS_M as R, betaPlaneGrid, latLonGrid } from './grid.js';
import type { Grid } from './grid.js';

const deg = Math.PI / 180;
const range = (n: number, start: number, step: number): number[] =>
  Array.from({ length: n }, (_, i) => start + i * step);

/** Samples fn(lat, lon) (radians) on a grid: shape [H, W]. */
function sample(
  grid: Grid,
  fn: (lat: number, lon: number) => number,
): { data: Float64Array; shape: number[] } {
  const H = grid.latDeg.length;
  const W = grid.lonDeg.length;
  const data = Float64Array.from({ length: H * W }, (_, k) =>
    fn((grid.latDeg[Math.floor(k / W)] ?? NaN) * deg, (grid.lonDeg[k % W] ?? NaN) * deg),
  );
  return { data, shape: [H, W] };
}

// Analytic geopotential (m2 s-2) on the sphere and its exact geostrophic wind:
// Phi = A (cos(lat) sin(2 lon) + sin(2 lat)), f = 2 Omega sin(lat),
// u_g = -(1 / (f R)) dPhi/dlat = -A (-sin(lat) sin(2 lon) + 2 cos(2 lat)) / (f R),
// v_g = (1 / (f R cos(lat))) dPhi/dlon = 2 A cos(2 lon) / (f R).
const A = 5e4;
const phiFn = (lat: number, lon: number): number =>
  A * (Math.cos(lat) * Math.sin(2 * lon) + Math.sin(2 * lat));
const fCor = (lat: number): number => 2 * OMEGA * Math.sin(lat);
const ugFn = (lat: number, lon: number): number =>
  (-A * (-Math.sin(lat) * Math.sin(2 * lon) + 2 * Math.cos(2 * lat))) / (fCor(lat) * R);
const vgFn = (lat: number, lon: number): number => (2 * A * Math.cos(2 * lon)) / (fCor(lat) * R);

/** Global grid with H rows from -80 to 80 deg (equator included when H is odd) and W columns. */
const globe = (H: number, W: number): Grid => latLonGrid(range(H, -80, 160 / (H - 1)), range(W, 0, 360 / W));

describe('geostrophicDeviation', () => {
  it('is near 0 for the exact geostrophic wind of an analytic geopotential, falling at second order', () => {
    const d = [
      [33, 64],
      [65, 128],
      [129, 256],
    ].map(([H, W]) => {
      const g = globe(H ?? 0, W ?? 0);
      return geostrophicDeviation(sample(g, ugFn), sample(g, vgFn), sample(g, phiFn), g).d;
    });
    // Discretisation error only: observed D = 5.8e-3 (5 deg), 1.4e-3 (2.5 deg), 3.6e-4 (1.25 deg).
    expect(d[0]).toBeLessThan(1e-2);
    expect(d[2]).toBeLessThan(5e-4);
    for (let i = 1; i < d.length; i++) {
      const order = Math.log2((d[i - 1] ?? NaN) / (d[i] ?? NaN));
      expect(order).toBeGreaterThan(1.8);
      expect(order).toBeLessThan(2.3);
    }
  });

  it('equals e / (1 + e) for a wind (1 + e) times the discrete geostrophic wind, and half that when only v is scaled', () => {
    const g = globe(33, 64);
    const phi = sample(g, phiFn);
    const { u, v } = geostrophicWind(phi, g);
    const e = 0.3;
    const scale = (
      t: { data: Float64Array; shape: readonly number[] },
      s: number,
    ): { data: Float64Array; shape: readonly number[] } => ({
      data: t.data.map((x) => s * x),
      shape: t.shape,
    });
    const both = geostrophicDeviation(scale(u, 1 + e), scale(v, 1 + e), phi, g);
    expect(both.d).toBeCloseTo(e / (1 + e), 12);
    const vOnly = geostrophicDeviation(u, scale(v, 1 + e), phi, g);
    expect(vOnly.du).toBeCloseTo(0, 12);
    expect(vOnly.d).toBeCloseTo(e / (1 + e) / 2, 12);
  });

  it('equals |d| / |u_g + d| for an additive perturbation d of u (the tropics and equator left out)', () => {
    const g = globe(33, 64);
    const phi = sample(g, phiFn);
    const { u, v } = geostrophicWind(phi, g);
    const pert = sample(g, (lat, lon) => 3 * Math.cos(lat) * Math.cos(lon));
    const uP = { data: u.data.map((x, k) => x + (pert.data[k] ?? NaN)), shape: u.shape };
    // Independent route: the norms over rows with |lat| >= 15 written out here.
    let num = 0;
    let den = 0;
    for (let k = 0; k < uP.data.length; k++) {
      if (Math.abs(g.latDeg[Math.floor(k / 64)] ?? 0) < 15) continue;
      num += (pert.data[k] ?? NaN) ** 2;
      den += (uP.data[k] ?? NaN) ** 2;
    }
    const r = geostrophicDeviation(uP, v, phi, g);
    expect(r.du).toBeCloseTo(Math.sqrt(num / den), 12);
    expect(r.d).toBeCloseTo(Math.sqrt(num / den) / 2, 12);
  });

  it('is 0 with f0PerS for a wind balanced with f0 on a beta plane, and positive with the grid f = f0 + beta y', () => {
    const g = betaPlaneGrid({ H: 16, W: 32, dxM: 100e3, dyM: 100e3, latCentreDeg: 45 });
    const phi = {
      data: Float64Array.from(
        { length: 16 * 32 },
        (_, k) => 1e4 * Math.sin((2 * Math.PI * (k % 32)) / 32) * Math.cos(Math.floor(k / 32) / 3),
      ),
      shape: [16, 32],
    };
    const { u, v } = geostrophicWind(phi, g, { f0PerS: g.f0PerS });
    expect(geostrophicDeviation(u, v, phi, g, { f0PerS: g.f0PerS, tropicsDeg: 0 }).d).toBeCloseTo(0, 12);
    expect(geostrophicDeviation(u, v, phi, g, { tropicsDeg: 0 }).d).toBeGreaterThan(0.01);
  });

  it('ignores the tropics and masked points, whatever they hold', () => {
    const g = globe(33, 64);
    const phi = sample(g, phiFn);
    const u = sample(g, ugFn);
    const v = sample(g, vgFn);
    const base = geostrophicDeviation(u, v, phi, g).d;
    const mask = Uint8Array.from({ length: 33 * 64 }, (_, k) => (k % 64 < 8 ? 0 : 1));
    const noisy = sample(g, (lat, lon) =>
      Math.abs(lat) < 15 * deg || lon < 44 * deg ? 1e6 : ugFn(lat, lon),
    );
    const masked = geostrophicDeviation(noisy, v, phi, g, { mask }).d;
    expect(masked).toBeCloseTo(geostrophicDeviation(u, v, phi, g, { mask }).d, 15);
    expect(masked).not.toBeCloseTo(base, 6);
    expect(geostrophicDeviation(noisy, v, phi, g).d).toBeGreaterThan(0.5);
  });

  it('is the same for a stack of identical levels as for one level', () => {
    const g = globe(33, 64);
    const stack = (t: { data: Float64Array }): { data: Float64Array; shape: number[] } => {
      const data = new Float64Array(2 * t.data.length);
      data.set(t.data, 0);
      data.set(t.data, t.data.length);
      return { data, shape: [2, 33, 64] };
    };
    const phi = sample(g, phiFn);
    const u = sample(g, (lat, lon) => ugFn(lat, lon) + 1);
    const v = sample(g, vgFn);
    const one = geostrophicDeviation(u, v, phi, g).d;
    expect(geostrophicDeviation(stack(u), stack(v), stack(phi), g).d).toBeCloseTo(one, 14);
  });

  it('names both shapes when they differ and refuses a wind with zero norm', () => {
    const g = globe(33, 64);
    const phi = sample(g, phiFn);
    const v = sample(g, vgFn);
    expect(() => geostrophicDeviation({ data: new Float64Array(10), shape: [2, 5] }, v, phi, g)).toThrow(
      /u has shape \[2, 5\] but v has shape \[33, 64\]/,
    );
    expect(() =>
      geostrophicDeviation({ data: new Float64Array(33 * 64), shape: [33, 64] }, v, phi, g),
    ).toThrow(/\|u\| = 0/);
  });
});

describe('geostrophicWind', () => {
  it('is exactly U eastward, edges included, for Phi = -f0 U y on an f-plane', () => {
    const g = betaPlaneGrid({ H: 8, W: 16, dxM: 50e3, dyM: 50e3, latCentreDeg: 45, betaPerMS: 0 });
    const U = 12;
    const phi = {
      data: Float64Array.from(
        { length: 8 * 16 },
        (_, k) => -g.f0PerS * U * (Math.floor(k / 16) - 3.5) * 50e3,
      ),
      shape: [8, 16],
    };
    const { u, v } = geostrophicWind(phi, g);
    for (const x of u.data) expect(x).toBeCloseTo(U, 9);
    for (const x of v.data) expect(x).toBe(0);
  });

  it('uses f = f0 + beta y on a beta-plane: a wave gives the analytic wind to second order', () => {
    // Phi = B sin(k x) cos(l y): u_g = B l sin(k x) sin(l y) / f(y), v_g = B k cos(k x) cos(l y) / f(y).
    const B = 500;
    const err = [32, 64].map((W) => {
      const H = W / 2;
      const d = 4000e3 / W;
      const g = betaPlaneGrid({ H, W, dxM: d, dyM: d, latCentreDeg: 45 });
      const k = (2 * Math.PI) / 4000e3;
      const l = Math.PI / 2000e3;
      const xy = (q: number): [number, number] => [(q % W) * d, (Math.floor(q / W) - (H - 1) / 2) * d];
      const f = (y: number): number => g.f0PerS + g.betaPerMS * y;
      const phi = {
        data: Float64Array.from({ length: H * W }, (_, q) => {
          const [x, y] = xy(q);
          return B * Math.sin(k * x) * Math.cos(l * y);
        }),
        shape: [H, W],
      };
      const { u, v } = geostrophicWind(phi, g);
      let e = 0;
      for (let q = 0; q < H * W; q++) {
        const [x, y] = xy(q);
        e = Math.max(e, Math.abs((u.data[q] ?? NaN) - (B * l * Math.sin(k * x) * Math.sin(l * y)) / f(y)));
        e = Math.max(e, Math.abs((v.data[q] ?? NaN) - (B * k * Math.cos(k * x) * Math.cos(l * y)) / f(y)));
      }
      return e;
    });
    const order = Math.log2((err[0] ?? NaN) / (err[1] ?? NaN));
    expect(order).toBeGreaterThan(1.8);
    expect(order).toBeLessThan(2.3);
  });

  it('uses the constant f0PerS on every row when given: Phi = -f0 U y gives exactly U on a beta plane', () => {
    const g = betaPlaneGrid({ H: 8, W: 16, dxM: 50e3, dyM: 50e3, latCentreDeg: 45 });
    expect(g.betaPerMS).toBeGreaterThan(0);
    const U = 12;
    const phi = {
      data: Float64Array.from(
        { length: 8 * 16 },
        (_, k) => -g.f0PerS * U * (Math.floor(k / 16) - 3.5) * 50e3,
      ),
      shape: [8, 16],
    };
    const constant = geostrophicWind(phi, g, { f0PerS: g.f0PerS });
    for (const x of constant.u.data) expect(x).toBeCloseTo(U, 9);
    // With f0 + beta y the top row (y = 3.5 dy) reads U f0 / (f0 + beta y), not U.
    const own = geostrophicWind(phi, g);
    const y = 3.5 * 50e3;
    expect(own.u.data[7 * 16]).toBeCloseTo((U * g.f0PerS) / (g.f0PerS + g.betaPerMS * y), 9);
    expect(Math.abs((own.u.data[7 * 16] ?? NaN) - U)).toBeGreaterThan(0.05);
  });

  it('refuses an f0PerS of 0 or NaN, naming it', () => {
    const g = betaPlaneGrid({ H: 8, W: 16, dxM: 50e3, dyM: 50e3, latCentreDeg: 45 });
    const phi = { data: new Float64Array(8 * 16), shape: [8, 16] };
    expect(() => geostrophicWind(phi, g, { f0PerS: 0 })).toThrow(/f0PerS must be finite and non-zero, got 0/);
    expect(() => geostrophicDeviation(phi, phi, phi, g, { f0PerS: NaN })).toThrow(
      /geostrophicDeviation: f0PerS .* got NaN/,
    );
  });

  it('is NaN on the equator row, where f = 0', () => {
    const g = latLonGrid([-10, 0, 10], range(8, 0, 45));
    const { u, v } = geostrophicWind(sample(g, phiFn), g);
    expect(Number.isNaN(u.data[8]) && Number.isNaN(v.data[8])).toBe(true);
    expect(Number.isFinite(u.data[0]) && Number.isFinite(v.data[16])).toBe(true);
  });
});

describe('geoScore', () => {
  it('is 1 for equal deviations and 2 sigmoid(-1) = 2 / (1 + e) one scale away, on either side', () => {
    expect(geoScore(0.2, 0.2, 0.05)).toBe(1);
    // 2 / (1 + e) = 0.5378828427399902 (analytic, evaluated in float64).
    expect(geoScore(0.25, 0.2, 0.05)).toBeCloseTo(0.5378828427399902, 14);
    expect(geoScore(0.15, 0.2, 0.05)).toBeCloseTo(0.5378828427399902, 14);
    expect(geoScore(50, 0, 0.01)).toBe(0);
  });

  it('rejects a non-positive scale', () => {
    expect(() => geoScore(0.1, 0.2, 0)).toThrow(/scale must be > 0/);
    expect(() => geoScore(0.1, 0.2, -1)).toThrow(/scale must be > 0/);
  });
});

import { describe, expect, it } from 'vitest';
import {
  EARTH_OMEGA_PER_S,
  EARTH_RADIUS_M,
  betaPlaneGrid,
  coriolisPerS,
  gridHeight,
  gridWidth,
  latLonGrid,
  northingM,
  zonalSpacingM,
} from './grid.js';

const range = (n: number, start: number, step: number): number[] =>
  Array.from({ length: n }, (_, i) => start + i * step);

describe('latLonGrid', () => {
  it('accepts descending latitudes and detects a longitude circle that wraps', () => {
    const g = latLonGrid(range(32, 87.1875, -5.625), range(64, 0, 5.625));
    expect([gridHeight(g), gridWidth(g)]).toEqual([32, 64]);
    expect(g.periodicLon).toBe(true);
    expect(g.kind).toBe('latlon');
  });

  it('treats a regional longitude band as non-periodic and refuses to call it periodic', () => {
    expect(latLonGrid([10, 20, 30], range(10, -20, 2)).periodicLon).toBe(false);
    expect(() => latLonGrid([10, 20, 30], range(10, -20, 2), { periodicLon: true })).toThrow(/not 360/);
  });

  it('rejects latitudes outside [-90, 90], non-monotone latitudes, uneven or duplicated longitudes', () => {
    expect(() => latLonGrid([0, 45, 91], [0, 1])).toThrow(/latDeg\[2\] = 91/);
    expect(() => latLonGrid([0, 45, 30], [0, 1])).toThrow(/strictly monotone/);
    expect(() => latLonGrid([0, 0, 30], [0, 1])).toThrow(/strictly monotone/);
    expect(() => latLonGrid([0, 10], [0, 1, 3])).toThrow(/equally spaced/);
    expect(() => latLonGrid([0, 10], [0, 1, 0.5])).toThrow(/equally spaced/);
    expect(() => latLonGrid([0, 10], range(5, 0, 90))).toThrow(/duplicated/);
  });

  it('accepts float32-rounded longitudes of a 1.40625 deg grid as equally spaced and periodic', () => {
    const g = latLonGrid(
      [-10, 10],
      Float32Array.from(range(256, 0, 1.40625), (v) => v + 1e-5 * Math.sin(v)),
    );
    expect(g.periodicLon).toBe(true);
  });

  it('gives spherical spacing dx = R cos(lat) dlon and f = 2 Omega sin(lat)', () => {
    const g = latLonGrid([60, 30, -30], range(64, 0, 5.625));
    // numpy: 6371000 * cos(radians(60)) * radians(5.625) = 312735.73118782154
    expect(zonalSpacingM(g)[0]).toBeCloseTo(312735.73118782154, 6);
    // sin(30 deg) = 1/2, so f = Omega exactly (analytic).
    const f = coriolisPerS(g);
    expect(f[1]).toBeCloseTo(EARTH_OMEGA_PER_S, 18);
    expect(f[2]).toBeCloseTo(-EARTH_OMEGA_PER_S, 18);
    expect(northingM(g)[1]).toBeCloseTo((EARTH_RADIUS_M * Math.PI) / 6, 6);
  });

  it('gives exactly zero zonal spacing on a pole row', () => {
    const dx = zonalSpacingM(latLonGrid([90, 0, -90], range(8, 0, 45)));
    // Equator: R * 2 pi / 8 (analytic).
    expect([dx[0], dx[2]]).toEqual([0, 0]);
    expect(dx[1]).toBeCloseTo((EARTH_RADIUS_M * 2 * Math.PI) / 8, 6);
  });
});

describe('betaPlaneGrid', () => {
  const g = betaPlaneGrid({ H: 32, W: 64, dxM: 100e3, dyM: 100e3, latCentreDeg: 45 });

  it('takes f0 and beta from the centre latitude', () => {
    // numpy: 2*7.292115e-5*sin(radians(45)) and 2*7.292115e-5*cos(radians(45))/6371000
    expect(g.f0PerS).toBeCloseTo(0.00010312607931384281, 18);
    expect(g.betaPerMS).toBeCloseTo(1.6186796313583866e-11, 24);
  });

  it('assigns increasing latitudes centred on the centre latitude, one dy / R apart', () => {
    const lat = g.latDeg;
    expect(lat.length).toBe(32);
    expect(((lat[15] ?? 0) + (lat[16] ?? 0)) / 2).toBeCloseTo(45, 12);
    expect((lat[1] ?? 0) - (lat[0] ?? 0)).toBeCloseTo((100e3 / EARTH_RADIUS_M) * (180 / Math.PI), 12);
    expect(g.periodicLon).toBe(true);
  });

  it('has f = f0 + beta y, with y = 0 between the middle rows', () => {
    const f = coriolisPerS(g);
    const y = northingM(g);
    expect(((y[15] ?? NaN) + (y[16] ?? NaN)) / 2).toBe(0);
    expect(((f[15] ?? 0) + (f[16] ?? 0)) / 2).toBeCloseTo(g.f0PerS, 18);
    expect((f[31] ?? 0) - (f[0] ?? 0)).toBeCloseTo(31 * 100e3 * g.betaPerMS, 18);
    expect(zonalSpacingM(g).every((v) => v === 100e3)).toBe(true);
  });

  it('accepts assigned latitudes and an f-plane, and rejects bad sizes, spacings and latitudes', () => {
    const fPlane = betaPlaneGrid({
      H: 3,
      W: 4,
      dxM: 1,
      dyM: 1,
      latCentreDeg: 45,
      betaPerMS: 0,
      latDeg: [40, 45, 50],
    });
    expect(Array.from(coriolisPerS(fPlane), (f) => f === fPlane.f0PerS)).toEqual([true, true, true]);
    expect(() => betaPlaneGrid({ H: 0, W: 4, dxM: 1, dyM: 1, latCentreDeg: 45 })).toThrow(/H must be/);
    expect(() => betaPlaneGrid({ H: 3, W: 4, dxM: -1, dyM: 1, latCentreDeg: 45 })).toThrow(/dxM must be > 0/);
    expect(() => betaPlaneGrid({ H: 3, W: 4, dxM: 1, dyM: 1, latCentreDeg: 90 })).toThrow(/latCentreDeg/);
    expect(() => betaPlaneGrid({ H: 40, W: 4, dxM: 1, dyM: 600e3, latCentreDeg: 80 })).toThrow(
      /outside \[-90, 90\]/,
    );
    expect(() =>
      betaPlaneGrid({ H: 3, W: 4, dxM: 1, dyM: 1, latCentreDeg: 45, latDeg: [50, 45, 40] }),
    ).toThrow(/increase/);
  });
});

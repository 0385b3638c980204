import { createRng } from '@alignda/tensor';
import type { LatLonGrid } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { bilinearOperator, locatePoint } from './bilinear.js';

/** NCEP-like regional grid: 25 latitudes 75N -> 15N (descending), 53 longitudes 200E -> 330E. */
const regional: LatLonGrid = {
  kind: 'latlon',
  latDeg: Float64Array.from({ length: 25 }, (_, i) => 75 - 2.5 * i),
  lonDeg: Float64Array.from({ length: 53 }, (_, j) => 200 + 2.5 * j),
  periodicLon: false,
};
/** Global periodic grid: 16 latitudes ascending, 32 longitudes 0 .. 348.75E. */
const global: LatLonGrid = {
  kind: 'latlon',
  latDeg: Float64Array.from({ length: 16 }, (_, i) => -75 + 10 * i),
  lonDeg: Float64Array.from({ length: 32 }, (_, j) => 11.25 * j),
  periodicLon: true,
};

function randomPoints(
  n: number,
  seed: number,
  C: number,
  latRange: [number, number],
  lonRange: [number, number],
) {
  const rng = createRng(seed);
  return {
    channelIndex: Int32Array.from({ length: n }, () => rng.int(C)),
    latDeg: Float64Array.from({ length: n }, () => latRange[0] + (latRange[1] - latRange[0]) * rng.uniform()),
    lonDeg: Float64Array.from({ length: n }, () => lonRange[0] + (lonRange[1] - lonRange[0]) * rng.uniform()),
  };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

describe('bilinearOperator', () => {
  it.each([
    ['a regional grid with descending latitudes', regional, [15, 75], [200, 330]],
    ['a periodic global grid, longitudes across the seam and beyond 360', global, [-75, 75], [-400, 720]],
  ] as const)('passes the adjoint test <Hx, y> = <x, H^T y> to 1e-10 on %s', (_name, grid, latR, lonR) => {
    const C = 3;
    const shape = [C, grid.latDeg.length, grid.lonDeg.length] as const;
    const { operator, rejected } = bilinearOperator(
      grid,
      shape,
      randomPoints(200, 7, C, [...latR], [...lonR]),
    );
    expect(rejected).toEqual([]);
    const rng = createRng(11);
    const x = rng.fillNormal(new Float64Array(C * shape[1] * shape[2]));
    const y = rng.fillNormal(new Float64Array(operator.size));
    const lhs = dot(operator.apply(x), y);
    const rhs = dot(x, operator.adjoint(y));
    // Relative to the magnitude of the terms: both sides are sums of 800 products of O(1) numbers.
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-10 * Math.max(1, Math.abs(lhs)));
  });

  it('reproduces a field bilinear in latitude and longitude exactly at arbitrary points', () => {
    // f = 3 + 0.2 lat - 0.05 lon + 0.001 lat lon is bilinear in (lat, lon); on a grid regular in both,
    // bilinear interpolation reproduces it exactly (up to rounding).
    const H = regional.latDeg.length;
    const W = regional.lonDeg.length;
    const f = (lat: number, lon: number): number => 3 + 0.2 * lat - 0.05 * lon + 0.001 * lat * lon;
    const x = new Float64Array(H * W);
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        x[i * W + j] = f(regional.latDeg[i] as number, regional.lonDeg[j] as number);
    const pts = randomPoints(100, 3, 1, [15, 75], [200, 330]);
    const { operator } = bilinearOperator(regional, [1, H, W], pts);
    const y = operator.apply(x);
    for (let p = 0; p < 100; p++)
      expect(y[p]).toBeCloseTo(f(pts.latDeg[p] as number, pts.lonDeg[p] as number), 10);
  });

  it('returns the grid value at a grid point and accepts points on the boundary', () => {
    const H = regional.latDeg.length;
    const W = regional.lonDeg.length;
    const x = Float64Array.from({ length: H * W }, (_, k) => k);
    // (75N, 200E) is cell (0, 0); (15N, 330E) is the last cell; (72.5N, 202.5E) is (1, 1).
    const { operator } = bilinearOperator(regional, [1, H, W], {
      channelIndex: [0, 0, 0],
      latDeg: [75, 15, 72.5],
      lonDeg: [200, 330, 202.5],
    });
    expect(Array.from(operator.apply(x))).toEqual([0, H * W - 1, W + 1]);
  });

  it('interpolates across the periodic seam between the last and the first column', () => {
    const H = global.latDeg.length;
    const W = global.lonDeg.length;
    // Column j holds j: the seam cell (348.75E .. 360E) blends W-1 and 0.
    const x = Float64Array.from({ length: H * W }, (_, k) => k % W);
    const { operator } = bilinearOperator(global, [1, H, W], {
      channelIndex: [0, 0, 0],
      latDeg: [5, 5, 5],
      lonDeg: [354.375, -5.625, 354.375 + 720],
    });
    // Halfway between column 31 (value 31) and column 0 (value 0): 15.5; -5.625 is the same place.
    expect(Array.from(operator.apply(x))).toEqual([15.5, 15.5, 15.5]);
  });

  it('reads a longitude given in -180..180 on a 0..360 regional grid', () => {
    const loc = locatePoint(regional, 47.45, 237.69 - 360);
    expect(loc.ok).toBe(true);
    if (loc.ok) expect(loc.j0).toBe(15); // 200 + 15 * 2.5 = 237.5 <= 237.69 < 240
  });

  it('rejects points outside the grid with a reason instead of throwing', () => {
    const H = regional.latDeg.length;
    const W = regional.lonDeg.length;
    const { operator, rejected } = bilinearOperator(regional, [1, H, W], {
      channelIndex: [0, 0, 0, 0, 0],
      latDeg: [80, 40, 40, Number.NaN, 40],
      lonDeg: [250, 100, 250, 250, 340],
    });
    expect(operator.size).toBe(1);
    expect(Array.from(operator.kept)).toEqual([2]);
    expect(rejected.map((r) => r.index)).toEqual([0, 1, 3, 4]);
    expect(rejected[0]?.reason).toBe("latitude 80 outside the grid's 15..75");
    expect(rejected[1]?.reason).toBe("longitude 100 outside the grid's 200..330E");
    expect(rejected[2]?.reason).toMatch(/not finite/);
  });

  it('rejects points whose interpolation touches the padded area of a valid mask', () => {
    const H = regional.latDeg.length;
    const W = regional.lonDeg.length;
    const mask = new Uint8Array(H * W).fill(1);
    mask[0] = 0; // cell (75N, 200E) invalid
    const { operator, rejected } = bilinearOperator(
      regional,
      [1, H, W],
      {
        channelIndex: [0, 0, 0],
        latDeg: [74, 75, 70],
        lonDeg: [201, 202.5, 201],
      },
      mask,
    );
    // (74, 201) uses cell (0, 0); (75, 202.5) is exactly on (0, 1) and gives (0, 0) zero weight.
    expect(rejected.map((r) => r.index)).toEqual([0]);
    expect(rejected[0]?.reason).toMatch(/padded/);
    expect(Array.from(operator.kept)).toEqual([1, 2]);
  });

  it('throws a shape error when the grid does not match the state shape', () => {
    expect(() =>
      bilinearOperator(regional, [1, 24, 53], { channelIndex: [0], latDeg: [40], lonDeg: [250] }),
    ).toThrow('grid 25x53 does not match state [1, 24, 53]');
  });

  it('throws for a channel index outside the state', () => {
    expect(() =>
      bilinearOperator(regional, [1, 25, 53], { channelIndex: [1], latDeg: [40], lonDeg: [250] }),
    ).toThrow('point 0 has channel 1 outside [0, 1)');
  });
});

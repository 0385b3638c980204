import { describe, expect, it } from 'vitest';

import { niceTicks } from './colour-bar.js';
import { latLabel, lonLabel, mapFrame } from './map-frame.js';

describe('mapFrame', () => {
  const grid = {
    kind: 'latlon' as const,
    latDeg: Float64Array.from([75, 72.5, 70]),
    lonDeg: Float64Array.from([355, 357.5, 360, 362.5]), // across the prime meridian, unwrapped
    periodicLon: false,
  };

  it('fits a plate carree map to the cell edges, scale pixels per column, square cells for square degrees', () => {
    const f = mapFrame([3, 4], grid, 10);
    expect([f.width, f.height]).toEqual([40, 30]);
    expect(Array.from(f.colX0)).toEqual([0, 10, 20, 30]);
    expect(Array.from(f.rowY0).map((v) => Math.round(v * 1e9) / 1e9)).toEqual([0, 10, 20]);
    // The projection agrees with the cells, for a longitude in either convention.
    const [x, y] = f.projection?.([0, 72.5]) ?? [];
    expect(x).toBeCloseTo(25, 9);
    expect(y).toBeCloseTo(15, 9);
    expect(f.projection?.([-360, 72.5])?.[0]).toBeCloseTo(25, 9);
  });

  it('labels ticks in degrees north/south and east/west', () => {
    expect([latLabel(30), latLabel(0), latLabel(-15)]).toEqual(['30°N', '0°', '15°S']);
    expect([lonLabel(240), lonLabel(-120), lonLabel(0), lonLabel(180), lonLabel(60)]).toEqual([
      '120°W',
      '120°W',
      '0°',
      '180°',
      '60°E',
    ]);
  });
});

describe('niceTicks', () => {
  it('picks round steps inside the range, 0 included on a symmetric one', () => {
    expect(niceTicks(259.5, 295.5, 8)).toEqual([260, 265, 270, 275, 280, 285, 290, 295]);
    expect(niceTicks(259.5, 295.5, 6)).toEqual([260, 270, 280, 290]);
    expect(niceTicks(-2, 2)).toEqual([-2, -1, 0, 1, 2]);
    expect(niceTicks(0, 1e-4)).toEqual([0, 2e-5, 4e-5, 6e-5, 8e-5, 1e-4]);
  });
});

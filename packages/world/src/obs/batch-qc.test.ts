import type { LatLonGrid } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { backgroundCheck, backgroundFreeQc, qcCounts } from './batch-qc.js';
import { bilinearOperator } from './bilinear.js';
import { channelDepartureStats, departures, meanRms, obsEquivalents } from './departures.js';
import type { ObsBatch } from './obs-batch.js';
import { QC_FLAG, qcFlagNames } from './qc.js';

const H = 5;
const W = 6;
const grid: LatLonGrid = {
  kind: 'latlon',
  latDeg: Float64Array.from({ length: H }, (_, i) => 50 - 5 * i),
  lonDeg: Float64Array.from({ length: W }, (_, j) => 200 + 5 * j),
  periodicLon: false,
};
/** Two channels: `t` (K) and `u` (m s-1); x[c, r, w] = 280 + c + r + 0.5 w. */
const field = Float64Array.from({ length: 2 * H * W }, (_, k) => {
  const c = Math.floor(k / (H * W));
  const r = Math.floor(k / W) % H;
  return 280 - 270 * c + r + 0.5 * (k % W);
});

function cells(over: Partial<ObsBatch> = {}): ObsBatch {
  const n = over.value?.length ?? 6;
  return {
    validTime: '2014-01-01T12:00:00Z',
    channels: ['t', 'u'],
    channelIndex: Int32Array.from([0, 0, 1, 0, 0, 1]),
    latDeg: Float64Array.from([50, 45, 40, 40, 45, 30]),
    lonDeg: Float64Array.from([200, 205, 210, 210, 205, 225]),
    // 0 fine; 1 fine; 2 u = 500 m/s (out of range); 3 off the grid; 4 duplicate of 1; 5 in the masked cell
    row: Int32Array.from([0, 1, 2, 9, 1, 4]),
    col: Int32Array.from([0, 1, 2, 2, 1, 5]),
    value: Float64Array.from([281, 282.5, 500, 280, 283, 15]),
    errorStd: Float64Array.from([1, 2, 1, 1, 1, 1]),
    qcFlags: new Uint32Array(n),
    qcReasons: new Array<string>(n).fill(''),
    ...over,
  };
}

const validMask = new Uint8Array(H * W).fill(1);
validMask[4 * W + 5] = 0;

describe('backgroundFreeQc', () => {
  it('flags off-grid and masked cells, implausible values and duplicates, with reasons', () => {
    const out = backgroundFreeQc(cells(), { grid, validMask, units: ['K', 'm s-1'] });
    expect(Array.from(out.qcFlags, (f) => qcFlagNames(f))).toEqual([
      [],
      [],
      ['outOfRange'],
      ['outsideGrid'],
      ['duplicate'],
      ['outsideGrid'],
    ]);
    expect(out.qcReasons[4]).toBe('duplicate of observation 1');
    expect(out.qcReasons[5]).toMatch(/outside the valid area/);
    const counts = qcCounts(out.qcFlags);
    expect([counts.total, counts.passed, counts.byFlag.get(QC_FLAG.outsideGrid)]).toEqual([6, 2, 2]);
  });
});

describe('backgroundCheck', () => {
  it('computes O-B, flags gross errors and keeps the statistics of the observations that pass', () => {
    const qcd = backgroundFreeQc(cells(), { grid, validMask, units: ['K', 'm s-1'] });
    // obs 0: O-B = 281 - 280 = 1; obs 1: 282.5 - 281.5 = 1, sigma 2; a threshold of 0.6 rejects obs 0 only.
    const result = backgroundCheck(qcd, field, grid, { threshold: 0.6 });
    expect(qcFlagNames(result.batch.qcFlags[0] as number)).toEqual(['grossError']);
    expect(Array.from(result.departures.subarray(0, 2))).toEqual([Number.NaN, 1]);
    expect(result.channels).toEqual([
      { channelIndex: 0, count: 1, mean: 1, rms: 1, normalisedMean: 0.5, normalisedRms: 0.5 },
    ]);
    expect(() => backgroundCheck(qcd, field, grid, { threshold: 0 })).toThrow(/gross_error_threshold/);
  });

  it('gives the O-B of points by bilinear interpolation, as departures does', () => {
    const n = 3;
    const points: ObsBatch = {
      validTime: '2014-01-01T12:00:00Z',
      channels: ['t', 'u'],
      channelIndex: Int32Array.from([0, 1, 0]),
      latDeg: Float64Array.from([42.5, 37.5, 31]),
      lonDeg: Float64Array.from([203, 211, 222]),
      value: Float64Array.from([283, 13, 285]),
      errorStd: Float64Array.from([1, 2, 1]),
      qcFlags: new Uint32Array(n),
      qcReasons: new Array<string>(n).fill(''),
    };
    const { operator } = bilinearOperator(grid, [2, H, W], points);
    const hx = operator.apply(field);
    const result = backgroundCheck(points, field, grid);
    expect(Array.from(result.departures)).toEqual(Array.from(points.value, (v, i) => v - (hx[i] as number)));
    const same = departures(points, field, grid);
    expect(Array.from(same.departures)).toEqual(Array.from(result.departures));
    expect(same.channels).toEqual(result.channels);
  });
});

describe('departures', () => {
  it('leaves unused, off-grid and masked observations out', () => {
    const batch = cells();
    const used = [true, true, false, true, true, true];
    const hx = obsEquivalents(batch, field, grid, { used, validMask });
    expect(Array.from(hx, (v) => Number.isNaN(v))).toEqual([false, false, true, true, false, true]);
    expect(hx[1]).toBe(281.5);
    const d = departures(batch, field, grid, { used, validMask });
    expect(d.channels).toEqual(channelDepartureStats(d.departures, batch, 2));
    expect(d.channels.map((c) => [c.channelIndex, c.count])).toEqual([[0, 3]]);
  });

  it('meanRms is NaN over nothing and maps each value', () => {
    const none = meanRms([1, 2], () => false);
    expect([none.count, none.mean, none.rms]).toEqual([0, Number.NaN, Number.NaN]);
    expect(
      meanRms(
        [1, 3, 5],
        (i) => i > 0,
        (v) => v * 2,
      ),
    ).toEqual({
      count: 2,
      mean: 8,
      rms: Math.sqrt((36 + 100) / 2),
    });
  });
});

import { latLonGrid } from '@alignda/tensor';
import type { Field } from '@alignda/tensor';
import { parseStationCsv } from '@alignda/world';
import type { StationFile } from '@alignda/world';
import { describe, expect, it } from 'vitest';

import { compareStationErrors, createStationVerifier } from './station-verify.js';
import { pairedComparison } from './stats.js';

/** A station file with `rows` (the real file's header). */
function stationFile(rows: readonly string[]): StationFile {
  return parseStationCsv(
    ['location,date,precipitation,temp_max,temp_min,wind,weather', ...rows, ''].join('\n'),
  );
}

// Daily means (temp_max + temp_min) / 2: 2013-01-01 SEA 5 C, NYC 1 C; 2013-01-02 SEA 5 C, NYC 3 C; 2013-01-03 both
// 0 C; 2013-01-04 none (no station row).
const ROWS = [
  'Seattle,2013-01-01,0.0,10,0,1.0,rain',
  'New York,2013-01-01,0.0,4,-2,1.0,sun',
  'Seattle,2013-01-02,0.0,8,2,1.0,rain',
  'New York,2013-01-02,0.0,6,0,1.0,sun',
  'Seattle,2013-01-03,0.0,1,-1,1.0,rain',
  'New York,2013-01-03,0.0,1,-1,1.0,sun',
];
const K = 273.15;

// 2.5-degree grid over both stations (SEA 47.45N 237.69E, NYC 40.78N 286.03E); 2 channels, temperature first.
const lat = Array.from({ length: 11 }, (_, i) => 30 + 2.5 * i); // 30..55N
const lon = Array.from({ length: 25 }, (_, j) => 230 + 2.5 * j); // 230..290E
const grid = latLonGrid(lat, lon);
const H = lat.length;
const W = lon.length;
const shape = [2, H, W] as const;

/** A state whose channel `channel` is `value(lonDeg)` (the other channel is 0). */
function state(value: (lonDeg: number) => number, channel = 0): Field {
  const data = new Float32Array(2 * H * W);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++) data[channel * H * W + i * W + j] = value(lon[j] as number);
  return { data, shape: [...shape], grid, channels: ['t', 'x'], units: ['K', '1'] };
}
const constant = (v: number, channel = 0): Field => state(() => v, channel);

describe('createStationVerifier', () => {
  it('scores daily means of spatially constant analyses exactly: bias, scatter about it and RMSE', () => {
    const v = createStationVerifier(stationFile(ROWS), grid, shape, undefined);
    expect(v.stations).toEqual(['SEA', 'NYC']);
    // 2013-01-01: the four analyses average to 7 C -> SEA +2, NYC +6.
    for (const [h, c] of [
      ['00', 5],
      ['06', 6],
      ['12', 8],
      ['18', 9],
    ] as const)
      v.add('m', `2013-01-01T${h}`, constant(K + c));
    // 2013-01-02: 4 C all day -> SEA -1, NYC +1.
    for (const h of ['00', '06', '12', '18']) v.add('m', `2013-01-02T${h}`, constant(K + 4));
    const s = v.scores().m;
    // Differences 2, 6, -1, 1: bias 2, deviations 0, 4, -3, -1 -> scatter^2 = 26 / 4, RMSE^2 = 42 / 4.
    expect(s?.count).toBe(4);
    expect(s?.bias).toBeCloseTo(2, 4);
    expect(s?.scatter).toBeCloseTo(Math.sqrt(6.5), 4);
    expect(s?.rmse).toBeCloseTo(Math.sqrt(10.5), 4);
  });

  it('interpolates each station from its own place and scores methods separately', () => {
    const v = createStationVerifier(stationFile(ROWS), grid, shape, undefined);
    // West of 260E the station mean of Seattle, east of it New York's: zero error at both stations.
    const split = state((lonDeg) => (lonDeg < 260 ? K + 5 : K + 1));
    for (const h of ['00', '06', '12', '18']) {
      v.add('split', `2013-01-01T${h}`, split);
      v.add('warm', `2013-01-01T${h}`, constant(K + 11));
    }
    const s = v.scores();
    expect(s.split).toMatchObject({ count: 2 });
    expect(s.split?.bias).toBeCloseTo(0, 4);
    expect(s.split?.rmse).toBeCloseTo(0, 4);
    // 11 C against 5 C and 1 C: +6, +10.
    expect(s.warm?.bias).toBeCloseTo(8, 4);
    expect(s.warm?.scatter).toBeCloseTo(2, 4);
    expect(s.warm?.rmse).toBeCloseTo(Math.sqrt(68), 4);
  });

  it('leaves out days with fewer than 4 analyses and days without a station value', () => {
    const v = createStationVerifier(stationFile(ROWS), grid, shape, undefined);
    for (const h of ['00', '06', '12', '18']) v.add('m', `2013-01-02T${h}`, constant(K + 4));
    // Three analyses of 2013-01-03 and four of 2013-01-04 (no station row): neither counts.
    for (const h of ['00', '06', '12']) v.add('m', `2013-01-03T${h}`, constant(K + 100));
    for (const h of ['00', '06', '12', '18']) v.add('m', `2013-01-04T${h}`, constant(K + 100));
    // A method that never completes a day is reported with no station-days.
    for (const h of ['00', '06', '12']) v.add('short', `2013-01-01T${h}`, constant(K));
    const s = v.scores();
    expect(s.m?.count).toBe(2);
    expect(s.m?.bias).toBeCloseTo(0, 4); // -1 and +1
    expect(s.m?.rmse).toBeCloseTo(1, 4);
    expect(s.short?.count).toBe(0);
    expect(s.short?.bias).toBeNaN();
  });

  it('counts an analysis time once: a repeated time neither completes a day nor changes its mean', () => {
    const v = createStationVerifier(stationFile(ROWS), grid, shape, undefined);
    // 2013-01-03: four adds but three distinct times -> left out.
    for (const h of ['00', '06', '06', '12']) v.add('m', `2013-01-03T${h}`, constant(K + 50));
    // 2013-01-02: the first analysis of a time is kept, a later one of the same time ignored.
    for (const h of ['00', '06', '12', '18']) v.add('m', `2013-01-02T${h}`, constant(K + 4));
    v.add('m', '2013-01-02T12', constant(K + 1000));
    const s = v.scores().m;
    expect(s?.count).toBe(2);
    expect(s?.bias).toBeCloseTo(0, 4);
    expect(s?.rmse).toBeCloseTo(1, 4);
  });

  it('reads the temperature channel it is given', () => {
    const v = createStationVerifier(stationFile(ROWS), grid, shape, undefined, 1);
    for (const h of ['00', '06', '12', '18']) v.add('m', `2013-01-03T${h}`, constant(K + 2, 1));
    expect(v.scores().m).toMatchObject({ count: 2 });
    expect(v.scores().m?.bias).toBeCloseTo(2, 4);
  });

  it('uses only the stations inside the grid and its valid area', () => {
    const dir = stationFile(ROWS);
    // A western grid holds Seattle only.
    const west = latLonGrid(lat, lon.slice(0, 13)); // 230..260E
    const vw = createStationVerifier(dir, west, [2, H, 13], undefined);
    expect(vw.stations).toEqual(['SEA']);
    // A mask that blanks the eastern half leaves Seattle only on the full grid too.
    const mask = new Uint8Array(H * W);
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) mask[i * W + j] = (lon[j] as number) < 260 ? 1 : 0;
    const vm = createStationVerifier(dir, grid, shape, mask);
    expect(vm.stations).toEqual(['SEA']);
    for (const h of ['00', '06', '12', '18']) vm.add('m', `2013-01-01T${h}`, constant(K + 6));
    expect(vm.scores().m).toMatchObject({ count: 1 });
    expect(vm.scores().m?.bias).toBeCloseTo(1, 4);
  });
});

describe('station-day errors and paired comparisons', () => {
  /** A verifier with methods a and b on 2013-01-01 and -02 (both stations), analyses constant over each day. */
  function twoMethods(a: readonly [number, number], b: readonly [number, number]) {
    const v = createStationVerifier(stationFile(ROWS), grid, shape, undefined);
    for (const h of ['00', '06', '12', '18']) {
      v.add('a', `2013-01-01T${h}`, constant(K + a[0]));
      v.add('a', `2013-01-02T${h}`, constant(K + a[1]));
      v.add('b', `2013-01-01T${h}`, constant(K + b[0]));
      v.add('b', `2013-01-02T${h}`, constant(K + b[1]));
    }
    return v;
  }

  it('lists each complete station-day error by date, then station', () => {
    // Station means: 01-01 SEA 5, NYC 1; 01-02 SEA 5, NYC 3.
    const v = twoMethods([4, 4], [0, 0]);
    expect(v.errors('a').map((e) => [e.date, e.station, e.error])).toEqual([
      ['2013-01-01', 'SEA', expect.closeTo(-1, 4)],
      ['2013-01-01', 'NYC', expect.closeTo(3, 4)],
      ['2013-01-02', 'SEA', expect.closeTo(-1, 4)],
      ['2013-01-02', 'NYC', expect.closeTo(1, 4)],
    ]);
    expect(v.errors('nobody')).toEqual([]);
  });

  it('compares two methods pair by pair: RMSE ratio, bias difference, wins, permutation p-value', () => {
    // a: 4 C -> errors -1, 3, -1, 1 (MSE 3); b: 0 C -> errors -5, -1, -5, -3 (MSE 15).
    const v = twoMethods([4, 4], [0, 0]);
    const c = v.compare('a', 'b');
    expect(c).toMatchObject({ a: 'a', b: 'b', count: 4, wins: 3 });
    expect(c.scoreA.rmse).toBeCloseTo(Math.sqrt(3), 4);
    expect(c.scoreB.rmse).toBeCloseTo(Math.sqrt(15), 4);
    expect(c.scoreA.bias).toBeCloseTo(0.5, 4);
    expect(c.scoreB.bias).toBeCloseTo(-3.5, 4);
    expect(c.rmseRatio).toBeCloseTo(Math.sqrt(3 / 15), 4);
    expect(c.rmseLo).toBeLessThanOrEqual(c.rmseRatio);
    expect(c.rmseHi).toBeGreaterThanOrEqual(c.rmseRatio);
    // Every station-day is 4 K warmer in a: the bias difference is 4 in every resample.
    expect(c.biasDiff).toBeCloseTo(4, 4);
    expect(c.biasLo).toBeCloseTo(4, 4);
    expect(c.biasHi).toBeCloseTo(4, 4);
    // The p-value is the paired permutation test of the squared errors (exact values in the next test).
    const sq = (m: string): number[] => v.errors(m).map((e) => e.error ** 2);
    expect(c.p).toBe(pairedComparison(sq('a'), sq('b')).p);
    // The verifier's scores are the same numbers.
    expect(v.scores().a?.rmse).toBeCloseTo(c.scoreA.rmse, 10);
  });

  it('pairs only the station-days both methods have, and refuses methods with none in common', () => {
    const v = twoMethods([4, 4], [0, 0]);
    // c completes 2013-01-01 only.
    for (const h of ['00', '06', '12', '18']) v.add('c', `2013-01-01T${h}`, constant(K + 6));
    const c = v.compare('c', 'a');
    expect(c.count).toBe(2);
    expect(c.biasDiff).toBeCloseTo(2, 4); // 6 C vs 4 C on both station-days
    for (const h of ['00', '06', '12']) v.add('short', `2013-01-02T${h}`, constant(K));
    expect(() => v.compare('short', 'a')).toThrow(/short and a share no station-day/);
  });

  it('tests squared errors by exact sign flips for a few station-days', () => {
    // Squared-error differences -24, 8, -24, -8 (sum -48): |sum| >= 48 when the 24s share a sign (2 of 4) and the
    // 8s cancel (2 of 4) or share it too (1 of 4): 6 of the 16 flips.
    const c = compareStationErrors('a', 'b', [-1, 3, -1, 1], [-5, -1, -5, -3]);
    expect(c.p).toBeCloseTo(6 / 16, 12);
    expect(c.rmseRatio).toBeCloseTo(Math.sqrt(12 / 60), 12);
    expect(c.biasDiff).toBeCloseTo(4, 12);
  });

  it('gives a ratio of 1 with a zero-width interval and p = 1 for identical errors', () => {
    const e = [0.5, -1.2, 2.0, 0.3, -0.7];
    const c = compareStationErrors('x', 'y', e, e);
    expect(c.rmseRatio).toBe(1);
    expect(c.rmseLo).toBe(1);
    expect(c.rmseHi).toBe(1);
    expect(c.p).toBe(1);
    expect(c.biasDiff).toBe(0);
    expect(c.wins).toBe(0);
  });

  it('is seeded, and refuses error lists of different or zero length', () => {
    const a = [1, -2, 0.5, 3, -1, 2, 0.1, -0.4];
    const b = [2, -1, 1.5, 2, -3, 1, 0.9, -2.4];
    expect(compareStationErrors('a', 'b', a, b)).toEqual(compareStationErrors('a', 'b', a, b));
    expect(compareStationErrors('a', 'b', a, b, { seed: 1 }).rmseLo).not.toBe(
      compareStationErrors('a', 'b', a, b, { seed: 2 }).rmseLo,
    );
    expect(() => compareStationErrors('a', 'b', [1], [1, 2])).toThrow(/1 and 2 station-day errors/);
    expect(() => compareStationErrors('a', 'b', [], [])).toThrow(/need equal, > 0/);
  });
});

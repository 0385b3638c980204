import { latLonGrid } from '@alignda/tensor';
import type { Field } from '@alignda/tensor';
import { parseStationCsv } from '@alignda/world';
import type { StationFile } from '@alignda/world';
import { describe, expect, it } from 'vitest';

import { createStationVerifier } from './station-verify.js';

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

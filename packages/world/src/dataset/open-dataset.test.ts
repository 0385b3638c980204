import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { ncepAirDescriptor } from './ncep-air.js';
import { openDataset } from './open-dataset.js';

const repoRoot = path.resolve(fileURLToPath(import.meta.url), '../../../../..');
const dataDir = path.resolve(repoRoot, '../shared/data');
const haveData = existsSync(path.join(dataDir, 'ncep-air'));
const skipNote = `real data absent at ${dataDir} (see the project README for how to obtain it)`;

describe('openDataset on NCEP air temperature (facts of ../shared/data/README.md)', () => {
  it('reads the stored grid and times: 2920 x 25 x 53, 75N -> 15N, 200E -> 330E, 2013-01-01T00 -> 2014-12-31T18', async (ctx) => {
    ctx.skip(!haveData, skipNote);
    const ds = await openDataset(ncepAirDescriptor(dataDir, 'zarr'));
    expect(ds.times).toHaveLength(2920);
    expect(ds.times[0]?.toISOString()).toBe('2013-01-01T00:00:00.000Z');
    expect(ds.times[2919]?.toISOString()).toBe('2014-12-31T18:00:00.000Z');
    expect(ds.times[1]?.getTime()).toBe(Date.UTC(2013, 0, 1, 6));
    const { latDeg, lonDeg } = ds.sourceGrid;
    expect([latDeg.length, lonDeg.length]).toEqual([25, 53]);
    // Kept as stored: descending, north first.
    expect([latDeg[0], latDeg[1], latDeg[24]]).toEqual([75, 72.5, 15]);
    expect([lonDeg[0], lonDeg[1], lonDeg[52]]).toEqual([200, 202.5, 330]);
    // January-October 2013 train, November-December 2013 the validation (alignment) period, 2014 test.
    expect(ds.period('train')).toEqual({ start: 0, end: 1216 });
    expect(ds.period('alignment')).toEqual({ start: 1216, end: 1460 });
    expect(ds.period('test')).toEqual({ start: 1460, end: 2920 });
    expect(ds.times[1216]?.toISOString()).toBe('2013-11-01T00:00:00.000Z');
  });

  it('names a period the descriptor lacks', async (ctx) => {
    ctx.skip(!haveData, skipNote);
    const d = ncepAirDescriptor(dataDir, 'zarr');
    const ds = await openDataset({ ...d, periods: { train: d.periods.train, test: d.periods.test } });
    expect(() => ds.period('alignment')).toThrow('dataset ncep-air: no period alignment in the descriptor');
  });

  it('pads 25 x 53 to the 32 x 64 model grid, centred, with the valid-area mask and extended coordinates', async (ctx) => {
    ctx.skip(!haveData, skipNote);
    const ds = await openDataset(ncepAirDescriptor(dataDir, 'zarr'));
    expect(ds.shape).toEqual([1, 32, 64]);
    expect(ds.placement).toMatchObject({ rowOffset: 3, colOffset: 5 });
    expect(ds.validMask.reduce((a, b) => a + b, 0)).toBe(25 * 53);
    expect(ds.validMask[3 * 64 + 5]).toBe(1);
    expect(ds.validMask[2 * 64 + 5]).toBe(0);
    expect(ds.validMask[(3 + 24) * 64 + 5 + 52]).toBe(1);
    expect(ds.validMask[(3 + 25) * 64 + 5 + 52]).toBe(0);
    expect([ds.grid.latDeg[0], ds.grid.latDeg[3], ds.grid.latDeg[31]]).toEqual([82.5, 75, 5]);
    expect([ds.grid.lonDeg[0], ds.grid.lonDeg[5], ds.grid.lonDeg[63]]).toEqual([187.5, 200, 345]);
    const f = await ds.read(0);
    // The first stored value (raw int16 24120 in the Zarr chunk, 241.19999694824219 as float32 in the
    // netCDF copy) lands at model cell (3, 5); edge padding repeats it into the corner.
    expect(f.data[3 * 64 + 5]).toBe(Math.fround(241.2));
    expect(f.data[0]).toBe(Math.fround(241.2));
    expect(f.channels).toEqual(['t']);
    expect(f.units).toEqual(['K']);
  });

  it('reads values 221.0 .. 317.4 K with no missing values, and the Zarr and netCDF copies agree exactly', async (ctx) => {
    ctx.skip(!haveData, skipNote);
    const zarr = await openDataset(ncepAirDescriptor(dataDir, 'zarr'));
    const nc = await openDataset(ncepAirDescriptor(dataDir, 'netcdf'));
    expect(Array.from(nc.times, (t) => t.getTime())).toEqual(Array.from(zarr.times, (t) => t.getTime()));
    expect(Array.from(nc.grid.latDeg)).toEqual(Array.from(zarr.grid.latDeg));
    const a = await zarr.readRange(0, 2920);
    const b = await nc.readRange(0, 2920);
    let min = Infinity;
    let max = -Infinity;
    let differing = 0;
    for (let t = 0; t < 2920; t++) {
      const x = a[t]?.data ?? new Float32Array(0);
      const y = b[t]?.data ?? new Float32Array(0);
      for (let k = 0; k < x.length; k++) {
        if (x[k] !== y[k]) differing++;
        if (zarr.validMask[k] === 0) continue;
        min = Math.min(min, x[k] as number);
        max = Math.max(max, x[k] as number);
      }
    }
    expect(differing).toBe(0);
    expect(min).toBe(Math.fround(221.0));
    expect(max).toBe(Math.fround(317.4));
  });

  it('rejects a time index outside the dataset with a clear error', async (ctx) => {
    ctx.skip(!haveData, skipNote);
    const ds = await openDataset(ncepAirDescriptor(dataDir, 'zarr'));
    await expect(ds.read(2920)).rejects.toThrow('dataset ncep-air: time index 2920 outside [0, 2920)');
    await expect(ds.readRange(10, 5)).rejects.toThrow('time range [10, 5) outside [0, 2920)');
  });
});

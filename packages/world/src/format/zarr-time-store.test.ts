import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import FileSystemStore from '@zarrita/storage/fs';
import * as zarr from 'zarrita';
import { afterAll, describe, expect, it } from 'vitest';

import { createZarrTimeStore, writeZarrTime } from './zarr-time-store.js';
import type { ZarrTimeStoreSpec } from './zarr-time-store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'alignda-zarr-time-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPEC: ZarrTimeStoreSpec = {
  times: [18, 24, 30],
  timeUnits: 'hours since 2001-01-01 00:00:00',
  channels: ['t', 'z_upper'],
  units: ['K', 'm'],
  height: 2,
  width: 3,
  attributes: { title: 'test' },
};

describe('a Zarr time store, read back by zarrita (a Zarr v2 reader)', () => {
  it('holds the written times as written and NaN where nothing was written yet', async () => {
    const store = path.join(dir, 'a.zarr');
    createZarrTimeStore(store, SPEC);
    const field = Float32Array.from({ length: 12 }, (_, k) => 250 + k / 4);
    writeZarrTime(store, 1, field);
    const root = zarr.root(new FileSystemStore(store));
    const analysis = await zarr.open.v2(root.resolve('analysis'), { kind: 'array' });
    expect(analysis.shape).toEqual([3, 2, 2, 3]);
    expect(analysis.attrs._ARRAY_DIMENSIONS).toEqual(['time', 'channel', 'y', 'x']);
    const all = (await zarr.get(analysis)).data as Float32Array;
    expect([...all.subarray(12, 24)]).toEqual([...field]);
    expect(all.subarray(0, 12).every((v) => Number.isNaN(v))).toBe(true);
    expect(all.subarray(24).every((v) => Number.isNaN(v))).toBe(true);
    const time = await zarr.open.v2(root.resolve('time'), { kind: 'array' });
    expect([...((await zarr.get(time)).data as Float64Array)]).toEqual([18, 24, 30]);
    expect(time.attrs.units).toBe(SPEC.timeUnits);
  });

  it('opens again with the same spec (a resume), refuses another, and refuses a time or size outside it', () => {
    const store = path.join(dir, 'b.zarr');
    createZarrTimeStore(store, SPEC);
    expect(() => createZarrTimeStore(store, SPEC)).not.toThrow();
    expect(() => createZarrTimeStore(store, { ...SPEC, times: [18, 24] })).toThrow(/another shape/);
    expect(() => writeZarrTime(store, 3, new Float32Array(12))).toThrow(/outside \[0, 3\)/);
    expect(() => writeZarrTime(store, 0, new Float32Array(11))).toThrow(/11 values, not 12/);
  });
});

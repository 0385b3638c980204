import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DatasetError } from './dataset-error.js';
import { createDatasetRegistry } from './registry.js';

const repoRoot = path.resolve(fileURLToPath(import.meta.url), '../../../../..');
const dataDir = path.resolve(repoRoot, '../shared/data');
const ncFile = path.join(dataDir, 'ncep-air', 'air_temperature_2013-2014.nc');
const skipNote = `real data absent at ${dataDir} (see the project README for how to obtain it)`;

/**
 * Writes an uncompressed Zarr v2 group by hand (independent of the reader under test): float32 arrays
 * `air` [T, H, W], `lat` [H], `lon` [W], `time` [T] (hours since 2000-01-01), each in one chunk.
 */
async function writeTinyZarr(
  dir: string,
  o: { T: number; H: number; W: number; latLen?: number; nanAt?: number },
) {
  const put = async (name: string, shape: number[], dims: string[], values: Float32Array, attrs: object) => {
    await mkdir(path.join(dir, name), { recursive: true });
    const zarray = {
      chunks: shape,
      compressor: null,
      dtype: '<f4',
      fill_value: 'NaN',
      filters: null,
      order: 'C',
      shape,
      zarr_format: 2,
    };
    await writeFile(path.join(dir, name, '.zarray'), JSON.stringify(zarray));
    await writeFile(path.join(dir, name, '.zattrs'), JSON.stringify({ _ARRAY_DIMENSIONS: dims, ...attrs }));
    await writeFile(path.join(dir, name, shape.map(() => '0').join('.')), Buffer.from(values.buffer));
  };
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, '.zgroup'), JSON.stringify({ zarr_format: 2 }));
  const { T, H, W } = o;
  const latLen = o.latLen ?? H;
  // air(t, i, j) = 250 + t + 0.1 i + 0.01 j (exact enough in float32 for toBe comparisons via fround).
  const air = Float32Array.from(
    { length: T * H * W },
    (_, k) => 250 + Math.floor(k / (H * W)) + 0.1 * Math.floor((k % (H * W)) / W) + 0.01 * (k % W),
  );
  if (o.nanAt !== undefined) air[o.nanAt] = Number.NaN;
  await put('air', [T, H, W], ['time', 'lat', 'lon'], air, { units: 'K' });
  await put(
    'lat',
    [latLen],
    ['lat'],
    Float32Array.from({ length: latLen }, (_, i) => 60 - 5 * i),
    { units: 'degrees_north' },
  );
  await put(
    'lon',
    [W],
    ['lon'],
    Float32Array.from({ length: W }, (_, j) => 10 + 5 * j),
    { units: 'degrees_east' },
  );
  await put(
    'time',
    [T],
    ['time'],
    Float32Array.from({ length: T }, (_, t) => 6 * t),
    { units: 'hours since 2000-01-01' },
  );
}

function descriptor(over: object = {}): object {
  return {
    name: 'tiny',
    title: 'A tiny user dataset',
    source: { format: 'zarr', path: 'tiny.zarr' },
    variables: [{ channel: 't', source: 'air', units: 'K' }],
    grid: { kind: 'latlon', lat: { variable: 'lat' }, lon: { variable: 'lon' } },
    time: { variable: 'time' },
    periods: {
      train: { start: '2000-01-01T00', end: '2000-01-01T00' },
      test: { start: '2000-01-01T06', end: '2000-01-01T06' },
    },
    target: { height: 8, width: 8 },
    ...over,
  };
}

async function codeAndMessage(p: Promise<unknown>): Promise<[string, string]> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DatasetError);
    return [(err as DatasetError).reason, (err as Error).message];
  }
  throw new Error('expected a rejection');
}

describe('dataset registry', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'alignda-registry-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has ncep-air built in with a data dir defaulting to ../shared/data', () => {
    const reg = createDatasetRegistry();
    expect(reg.dataDir).toBe(path.resolve(process.cwd(), '../shared/data'));
    const e = reg.get('ncep-air');
    expect(e.builtin).toBe(true);
    expect(e.descriptor.source.path).toBe(path.join(reg.dataDir, 'ncep-air', 'air_temperature.zarr'));
    expect(e.descriptor.periods).toEqual({
      train: { start: '2013-01-01T00:00Z', end: '2013-10-31T18:00Z' },
      alignment: { start: '2013-11-01T00:00Z', end: '2013-12-31T18:00Z' },
      test: { start: '2014-01-01T00:00Z', end: '2014-12-31T18:00Z' },
    });
    expect(e.descriptor.diagnostics).toEqual([]);
  });

  it('registers a user Zarr file from a descriptor JSON with a path relative to the descriptor', async () => {
    await writeTinyZarr(path.join(dir, 'tiny.zarr'), { T: 3, H: 5, W: 6 });
    await writeFile(path.join(dir, 'tiny.json'), JSON.stringify(descriptor()));
    const reg = createDatasetRegistry({ dataDir: dir });
    const entry = await reg.registerDataset(path.join(dir, 'tiny.json'));
    expect(entry.descriptor.source.path).toBe(path.join(dir, 'tiny.zarr'));
    const ds = await reg.open('tiny');
    expect(ds.times.map((t) => t.toISOString())).toEqual([
      '2000-01-01T00:00:00.000Z',
      '2000-01-01T06:00:00.000Z',
      '2000-01-01T12:00:00.000Z',
    ]);
    const f = await ds.read(2);
    // 5 x 6 centred in 8 x 8: offsets (1, 1); cell (0, 0) of t = 2 is 252.
    expect(ds.placement).toMatchObject({ rowOffset: 1, colOffset: 1 });
    expect(f.data[1 * 8 + 1]).toBe(Math.fround(252));
    expect(f.data[(1 + 4) * 8 + 1 + 5]).toBe(Math.fround(252 + 0.4 + 0.05));
    expect(ds.validMask.reduce((a, b) => a + b, 0)).toBe(30);
    expect(reg.list().map((e) => e.name)).toContain('tiny');
  });

  it('rejects a descriptor naming a variable the file lacks, listing what it has', async () => {
    await writeTinyZarr(path.join(dir, 'tiny.zarr'), { T: 2, H: 4, W: 4 });
    await writeFile(
      path.join(dir, 'tiny.json'),
      JSON.stringify(descriptor({ variables: [{ channel: 't', source: 'tas', units: 'K' }] })),
    );
    expect(
      await codeAndMessage(
        createDatasetRegistry({ dataDir: dir }).registerDataset(path.join(dir, 'tiny.json')),
      ),
    ).toEqual([
      'VARIABLE_MISSING',
      'dataset tiny: variables[0].source tas is not in the file (it has air, lat, lon, time)',
    ]);
  });

  it('rejects a file whose coordinates do not match the variable shape', async () => {
    await writeTinyZarr(path.join(dir, 'tiny.zarr'), { T: 2, H: 4, W: 4, latLen: 3 });
    await writeFile(path.join(dir, 'tiny.json'), JSON.stringify(descriptor()));
    expect(
      await codeAndMessage(
        createDatasetRegistry({ dataDir: dir }).registerDataset(path.join(dir, 'tiny.json')),
      ),
    ).toEqual([
      'SHAPE_MISMATCH',
      'dataset tiny: variables[0].source air has shape [2, 4, 4], expected [2, 3, 4] (time x lat x lon)',
    ]);
  });

  it('rejects NaN values in the read slice', async () => {
    await writeTinyZarr(path.join(dir, 'tiny.zarr'), { T: 2, H: 4, W: 4, nanAt: 5 });
    await writeFile(path.join(dir, 'tiny.json'), JSON.stringify(descriptor()));
    expect(
      await codeAndMessage(
        createDatasetRegistry({ dataDir: dir }).registerDataset(path.join(dir, 'tiny.json')),
      ),
    ).toEqual([
      'NON_FINITE_VALUES',
      'dataset tiny: t (air) has 1 NaN or missing values at time index 0 (2000-01-01T00:00:00.000Z)',
    ]);
  });

  it('rejects a missing source, a bad descriptor and an unknown dataset name with clear errors', async () => {
    const reg = createDatasetRegistry({ dataDir: dir });
    await writeFile(path.join(dir, 'tiny.json'), JSON.stringify(descriptor()));
    const [code, msg] = await codeAndMessage(reg.registerDataset(path.join(dir, 'tiny.json')));
    expect(code).toBe('SOURCE_NOT_FOUND');
    expect(msg).toBe(`dataset tiny: zarr source ${path.join(dir, 'tiny.zarr')} does not exist`);
    await writeFile(path.join(dir, 'bad.json'), '{"name": "bad",');
    expect((await codeAndMessage(reg.registerDataset(path.join(dir, 'bad.json'))))[1]).toMatch(
      /^descriptor bad: not valid JSON/,
    );
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify(descriptor({ time: undefined })));
    expect(await codeAndMessage(reg.registerDataset(path.join(dir, 'bad.json')))).toEqual([
      'DESCRIPTOR_INVALID',
      'descriptor tiny: time is required',
    ]);
    expect(() => reg.get('nope')).toThrow('dataset nope is not registered (known: ncep-air, ncep-air-nc)');
    await writeFile(path.join(dir, 'taken.json'), JSON.stringify(descriptor({ name: 'ncep-air' })));
    const [reason, taken] = await codeAndMessage(reg.registerDataset(path.join(dir, 'taken.json')));
    expect([reason, taken]).toEqual([
      'DATASET_EXISTS',
      'dataset ncep-air: the name belongs to a built-in dataset',
    ]);
  });

  it('rejects a target that would pad latitudes beyond the pole', async () => {
    await writeTinyZarr(path.join(dir, 'tiny.zarr'), { T: 2, H: 5, W: 6 });
    const polar = descriptor({
      grid: { kind: 'latlon', lat: { values: [90, 87.5, 85, 82.5, 80] }, lon: { variable: 'lon' } },
    });
    await writeFile(path.join(dir, 'tiny.json'), JSON.stringify(polar));
    expect(
      await codeAndMessage(
        createDatasetRegistry({ dataDir: dir }).registerDataset(path.join(dir, 'tiny.json')),
      ),
    ).toEqual([
      'SHAPE_MISMATCH',
      'dataset tiny: target.height 8 pads the 5 stored latitudes beyond the pole (to 92.5 .. 75); choose a height <= 5 (crop) or pad only in longitude',
    ]);
  });

  it('registers a user netCDF3 file by absolute path', async (ctx) => {
    ctx.skip(!existsSync(ncFile), skipNote);
    await writeFile(
      path.join(dir, 'air.json'),
      JSON.stringify(
        descriptor({
          name: 'my-air',
          source: { format: 'netcdf', path: ncFile },
          target: undefined,
          periods: {
            train: { start: '2013-01-01', end: '2013-12-31' },
            test: { start: '2014-01-01', end: '2014-12-31T18' },
          },
        }),
      ),
    );
    const entry = await createDatasetRegistry().registerDataset(path.join(dir, 'air.json'));
    expect(entry.name).toBe('my-air');
    expect(entry.stepHours).toBe(6);
  });
});

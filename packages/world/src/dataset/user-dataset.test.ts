import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { File as H5File, ready } from 'h5wasm/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { NcFile, NcVariable } from '../format/netcdf-classic.js';
import { writeNetcdfClassic } from '../format/netcdf-classic.js';
import { zarrZipOfNetcdf, zipEntries } from '../format/zarr-zip.js';
import { DatasetError } from './dataset-error.js';
import { parseDatasetDescriptor } from './descriptor.js';
import { createDatasetRegistry } from './registry.js';
import { syntheticDailyDataset } from './synthetic-daily.js';

/** Writes a Zarr v2 folder (the entries of the zip store, unpacked). */
async function writeZarrFolder(dir: string, nc: NcFile): Promise<void> {
  for (const [key, bytes] of Object.entries(zipEntries(zarrZipOfNetcdf(nc)))) {
    await mkdir(path.dirname(path.join(dir, key)), { recursive: true });
    await writeFile(path.join(dir, key), bytes);
  }
}

/**
 * Writes a netCDF-4 file with h5wasm: each variable an HDF5 dataset at the root with its attributes, as netCDF-4
 * stores them (without dimension scales, which the reader does not use). `int64` variables are written as int64.
 */
async function writeNetcdf4(file: string, nc: NcFile, int64: readonly string[] = []): Promise<void> {
  await ready;
  const h5 = new H5File(file, 'w');
  const size = new Map(nc.dimensions.map((d) => [d.name, d.size]));
  for (const v of nc.variables) {
    const shape = v.dimensions.map((d) => size.get(d) ?? 0);
    const data = int64.includes(v.name)
      ? BigInt64Array.from(Array.from(v.data), (x) => BigInt(Math.round(x)))
      : v.type === 'float'
        ? Float32Array.from(v.data)
        : Float64Array.from(v.data);
    const ds = h5.create_dataset({ name: v.name, data, shape });
    for (const [k, a] of Object.entries(v.attributes ?? {})) {
      ds.create_attribute(
        k,
        typeof a === 'string' ? a : Float64Array.from(typeof a === 'number' ? [a] : (a as number[])),
      );
    }
  }
  h5.close();
}

/** The synthetic dataset with one variable replaced (or dropped, `undefined`). */
function withVariable(nc: NcFile, name: string, v: NcVariable | undefined): NcFile {
  const variables = nc.variables.flatMap((x) => (x.name === name ? (v === undefined ? [] : [v]) : [x]));
  return { ...nc, variables };
}

function descriptor(over: object = {}): object {
  return {
    name: 'daily-t2m',
    title: 'Synthetic daily 2 m temperature',
    source: { format: 'netcdf', path: 'daily/t2m.nc' },
    variables: [{ channel: 't2m', source: 't2m', units: 'K', role: 'temperature' }],
    grid: { kind: 'latlon', lat: { variable: 'lat' }, lon: { variable: 'lon' } },
    time: { variable: 'time' },
    periods: {
      train: { start: '2000-01-01', end: '2000-01-30' },
      test: { start: '2000-01-31', end: '2000-02-09' },
    },
    ...over,
  };
}

async function reasonAndMessage(p: Promise<unknown>): Promise<[string, string]> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DatasetError);
    return [(err as DatasetError).reason, (err as Error).message];
  }
  throw new Error('expected a rejection');
}

describe('registering a user dataset under the data root', () => {
  let root: string;
  let dataDir: string;
  let registryDir: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'alignda-user-dataset-'));
    dataDir = path.join(root, 'data');
    registryDir = path.join(root, 'home', 'datasets');
    await mkdir(path.join(dataDir, 'daily'), { recursive: true });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Registers `desc` (written beside the data) and expects it refused with nothing registered. */
  async function refused(desc: object, file = path.join(dataDir, 'daily.json')): Promise<[string, string]> {
    await writeFile(file, JSON.stringify(desc));
    const reg = createDatasetRegistry({ dataDir, registryDir });
    const out = await reasonAndMessage(reg.registerDataset(file));
    expect(reg.list().map((e) => e.name)).not.toContain('daily-t2m');
    expect(existsSync(registryDir) ? await readdir(registryDir) : []).toEqual([]);
    return out;
  }

  it('records a daily dataset with a 24 h step from Zarr, netCDF classic and netCDF-4, and keeps it across registries', async () => {
    const nc = syntheticDailyDataset({ days: 40, height: 8, width: 8 });
    await writeZarrFolder(path.join(dataDir, 'daily', 't2m.zarr'), nc);
    await writeFile(path.join(dataDir, 'daily', 't2m.nc'), writeNetcdfClassic(nc));
    await writeNetcdf4(path.join(dataDir, 'daily', 't2m-4.nc'), nc);
    const reg = createDatasetRegistry({ dataDir, registryDir });
    const sources = [
      ['zarr', 'daily/t2m.zarr'],
      ['netcdf', 'daily/t2m.nc'],
      ['netcdf', 'daily/t2m-4.nc'],
    ] as const;
    for (const [i, [format, file]] of sources.entries()) {
      const name = `daily-${i}`;
      await writeFile(
        path.join(dataDir, `${name}.json`),
        JSON.stringify(descriptor({ name, source: { format, path: file } })),
      );
      const e = await reg.registerDataset(path.join(dataDir, `${name}.json`));
      expect(e.stepHours).toBe(24);
      expect(e.timeRange).toEqual({
        start: '2000-01-01T00:00:00.000Z',
        end: '2000-02-09T00:00:00.000Z',
        count: 40,
      });
    }
    // One more registry on the same folders: the entries were stored, paths relative to the data root.
    const again = createDatasetRegistry({ dataDir, registryDir });
    expect(again.get('daily-2').stepHours).toBe(24);
    expect(again.get('daily-2').descriptor.source.path).toBe(path.join(dataDir, 'daily', 't2m-4.nc'));
    // The three formats read the same values.
    const fields = await Promise.all(
      ['daily-0', 'daily-1', 'daily-2'].map(async (n) => (await again.open(n)).read(39)),
    );
    expect(fields[1]?.data).toEqual(fields[0]?.data);
    expect(fields[2]?.data).toEqual(fields[0]?.data);
    const ds = await again.open('daily-1');
    expect(ds.period('test')).toEqual({ start: 30, end: 40 });
  });

  it('accepts an hourly dataset and records a 1 h step', async () => {
    const nc = syntheticDailyDataset({ days: 48, height: 4, width: 4, stepHours: 1 });
    await writeFile(path.join(dataDir, 'daily', 't2m.nc'), writeNetcdfClassic(nc));
    await writeFile(
      path.join(dataDir, 'hourly.json'),
      JSON.stringify(
        descriptor({
          name: 'hourly',
          periods: {
            train: { start: '2000-01-01T00', end: '2000-01-01T23' },
            test: { start: '2000-01-02T00', end: '2000-01-02T23' },
          },
        }),
      ),
    );
    const e = await createDatasetRegistry({ dataDir, registryDir }).registerDataset(
      path.join(dataDir, 'hourly.json'),
    );
    expect(e.stepHours).toBe(1);
  });

  describe('refuses a bad file or descriptor with an error naming the field, registering nothing', () => {
    const small = (): NcFile => syntheticDailyDataset({ days: 40, height: 4, width: 4 });
    const time = (nc: NcFile): NcVariable => nc.variables[0] as NcVariable;
    const t2m = (nc: NcFile): NcVariable => nc.variables[3] as NcVariable;
    const writeNc = (nc: NcFile): Promise<void> =>
      writeFile(path.join(dataDir, 'daily', 't2m.nc'), writeNetcdfClassic(nc));

    it('a missing coordinate', async () => {
      await writeNc(withVariable(small(), 'lat', undefined));
      expect(await refused(descriptor())).toEqual([
        'VARIABLE_MISSING',
        'dataset daily-t2m: grid.lat.variable lat is not in the file',
      ]);
    });

    it('a time axis that is not strictly increasing', async () => {
      const nc = small();
      const days = Float64Array.from(time(nc).data);
      [days[5], days[6]] = [days[6] as number, days[5] as number];
      await writeNc(withVariable(nc, 'time', { ...time(nc), data: days }));
      expect(await refused(descriptor())).toEqual([
        'SHAPE_MISMATCH',
        'dataset daily-t2m: time.variable time is not strictly increasing: 2000-01-06T00:00 at index 6 follows 2000-01-07T00:00',
      ]);
    });

    it('a time axis with two steps', async () => {
      const nc = small();
      const days = Float64Array.from(time(nc).data, (d, i) => (i < 10 ? d : d + 1));
      await writeNc(withVariable(nc, 'time', { ...time(nc), data: days }));
      expect(await refused(descriptor())).toEqual([
        'SHAPE_MISMATCH',
        'dataset daily-t2m: time.variable time is not uniformly spaced: step 24 h, then 48 h at index 10 (2000-01-12T00:00); a dataset needs one time step',
      ]);
    });

    it('an unsupported element type (int64 values)', async () => {
      await writeNetcdf4(path.join(dataDir, 'daily', 't2m.nc'), small(), ['t2m']);
      expect(await refused(descriptor())).toEqual([
        'MALFORMED_INPUT',
        'dataset daily-t2m: variables[0].source t2m is stored as int64, not one of int8, uint8, int16, uint16, int32, uint32, float32, float64',
      ]);
    });

    it('time units that are not CF "<unit> since <date>"', async () => {
      const nc = small();
      await writeNc(
        withVariable(nc, 'time', { ...time(nc), attributes: { units: 'days after 2000-01-01' } }),
      );
      expect(await refused(descriptor())).toEqual([
        'MALFORMED_INPUT',
        'dataset daily-t2m: time.variable time: time units "days after 2000-01-01" are not "<seconds|minutes|hours|days> since <date>"',
      ]);
    });

    it('a variable without units in the descriptor', async () => {
      await writeNc(small());
      expect(await refused(descriptor({ variables: [{ channel: 't2m', source: 't2m' }] }))).toEqual([
        'DESCRIPTOR_INVALID',
        'descriptor daily-t2m: variables[0].units is required',
      ]);
    });

    it('a period outside the data, and a missing test period', async () => {
      await writeNc(small());
      const late = {
        train: { start: '2000-01-01', end: '2000-01-30' },
        test: { start: '2000-01-31', end: '2000-03-01' },
      };
      expect(await refused(descriptor({ periods: late }))).toEqual([
        'OUT_OF_RANGE',
        "dataset daily-t2m: periods.test (2000-01-31 .. 2000-03-01) lies outside the data's time range 2000-01-01T00:00 .. 2000-02-09T00:00",
      ]);
      expect(await refused(descriptor({ periods: { train: late.train } }))).toEqual([
        'DESCRIPTOR_INVALID',
        'dataset daily-t2m: periods.test is required (training and evaluation read the train and test periods)',
      ]);
    });

    it('a variable the file lacks', async () => {
      await writeNc(small());
      const desc = descriptor({ variables: [{ channel: 't2m', source: 'tas', units: 'K' }] });
      expect(await refused(desc)).toEqual([
        'VARIABLE_MISSING',
        'dataset daily-t2m: variables[0].source tas is not in the file (it has lat, lon, t2m, time)',
      ]);
    });

    it('a variable of the wrong dimensionality', async () => {
      const nc = small();
      const flat: NcVariable = {
        ...t2m(nc),
        dimensions: ['lat', 'lon'],
        data: Array.from(t2m(nc).data).slice(0, 16),
      };
      await writeNc(withVariable(nc, 't2m', flat));
      expect(await refused(descriptor())).toEqual([
        'SHAPE_MISMATCH',
        'dataset daily-t2m: variables[0].source t2m has shape [4, 4], expected [40, 4, 4] (time x lat x lon)',
      ]);
    });

    it('a path with "..", an absolute path outside the data root, and a symbolic link out of it', async () => {
      const outside = path.join(root, 'elsewhere');
      await mkdir(outside, { recursive: true });
      await writeFile(path.join(outside, 't2m.nc'), writeNetcdfClassic(small()));
      expect(
        await refused(descriptor({ source: { format: 'netcdf', path: '../elsewhere/t2m.nc' } })),
      ).toEqual([
        'PATH_NOT_ALLOWED',
        'dataset daily-t2m: source.path ../elsewhere/t2m.nc has a ".." segment; give a path under the data root',
      ]);
      const abs = path.join(outside, 't2m.nc');
      expect(await refused(descriptor({ source: { format: 'netcdf', path: abs } }))).toEqual([
        'PATH_NOT_ALLOWED',
        `dataset daily-t2m: source.path ${abs} is outside the data root ${dataDir} (ALIGNDA_DATA_DIR)`,
      ]);
      await symlink(outside, path.join(dataDir, 'link'));
      expect(await refused(descriptor({ source: { format: 'netcdf', path: 'link/t2m.nc' } }))).toEqual([
        'PATH_NOT_ALLOWED',
        `dataset daily-t2m: source.path link/t2m.nc is a symbolic link (or lies under one) leading outside the data root ${dataDir}`,
      ]);
      // A descriptor outside the data root pointing into it is fine: the data is what must be under the root.
      await writeNc(small());
      const e = await createDatasetRegistry({ dataDir, registryDir }).registerDescriptor(
        parseDatasetDescriptor(
          descriptor({ source: { format: 'netcdf', path: path.join(dataDir, 'daily', 't2m.nc') } }),
        ),
        outside,
      );
      expect(e.name).toBe('daily-t2m');
    });
  });
});

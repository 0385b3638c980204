import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { betaPlaneGrid, latLonGrid } from '@alignda/tensor';
import { NetCDFReader } from 'netcdfjs';
import { afterAll, describe, expect, it } from 'vitest';

import { DatasetError } from '../dataset/dataset-error.js';
import { NC_FILL_FLOAT, cfStandardName, fieldsNetcdf } from './field-netcdf.js';
import { readNetcdfClassic } from './netcdf-classic-reader.js';
import type { NcReadFile, NcReadVariable } from './netcdf-classic-reader.js';
import { writeNetcdfClassic } from './netcdf-classic.js';
import type { NcFile } from './netcdf-classic.js';

/** The file read back, its variables' values as plain arrays for comparisons. */
function readClassic(
  bytes: Uint8Array,
): Omit<NcReadFile, 'variables'> & { variables: (NcReadVariable & { values: number[] })[] } {
  const f = readNetcdfClassic(bytes);
  return { ...f, variables: f.variables.map((v) => ({ ...v, values: Array.from(v.data) })) };
}

const sample: NcFile = {
  dimensions: [
    { name: 'time', size: 1 },
    { name: 'lat', size: 3 },
    { name: 'lon', size: 5 },
  ],
  attributes: { Conventions: 'CF-1.8', title: 'odd-length text', version: 3, scales: [0.5, 2] },
  variables: [
    {
      name: 'lat',
      dimensions: ['lat'],
      type: 'double',
      attributes: { units: 'degrees_north' },
      data: [-30, 0, 30],
    },
    {
      name: 'count',
      dimensions: ['lat'],
      type: 'int',
      attributes: { flags: { type: 'int', values: [1, -2, 2 ** 31 - 1] } },
      data: [7, -8, 9],
    },
    {
      name: 'air',
      dimensions: ['time', 'lat', 'lon'],
      type: 'float',
      attributes: { units: 'K', _FillValue: NC_FILL_FLOAT, valid_range: [150, 350] },
      data: Float32Array.from({ length: 15 }, (_, k) => 250 + k / 8),
    },
    { name: 'scalar', dimensions: [], type: 'double', data: [Math.PI] },
  ],
};

const root = mkdtempSync(path.join(tmpdir(), 'alignda-netcdf-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('writeNetcdfClassic', () => {
  it('writes a CDF-2 header and data that an independent reader reads back exactly', () => {
    const bytes = writeNetcdfClassic(sample);
    expect([...bytes.subarray(0, 4)]).toEqual([0x43, 0x44, 0x46, 0x02]);
    const f = readClassic(bytes);
    expect(f.version).toBe(2);
    expect(f.numrecs).toBe(0);
    expect(f.dimensions).toEqual(sample.dimensions);
    expect(f.attributes).toEqual({
      Conventions: 'CF-1.8',
      title: 'odd-length text',
      version: [3],
      scales: [0.5, 2],
    });
    expect(f.variables.map((v) => [v.name, v.dimensions, v.type, v.vsize])).toEqual([
      ['lat', ['lat'], 6, 24],
      ['count', ['lat'], 4, 12],
      ['air', ['time', 'lat', 'lon'], 5, 60],
      ['scalar', [], 6, 8],
    ]);
    expect(f.variables[0]?.values).toEqual([-30, 0, 30]);
    expect(f.variables[1]?.values).toEqual([7, -8, 9]);
    expect(f.variables[1]?.attributes).toEqual({ flags: [1, -2, 2 ** 31 - 1] });
    expect(f.variables[2]?.values).toEqual([...(sample.variables[2]?.data as Float32Array)]);
    expect(f.variables[3]?.values).toEqual([Math.PI]);
    // The data follow one another, each padded to 4 bytes, up to the end of the file.
    const last = f.variables.at(-1);
    expect((last?.begin ?? 0) + (last?.vsize ?? 0)).toBe(bytes.length);
  });

  it("gives _FillValue and valid_range the variable's type, other numbers double", () => {
    const f = readClassic(writeNetcdfClassic(sample));
    const air = f.variables[2];
    // float: NC_FILL_FLOAT rounded to float32, the value netCDF-C writes.
    expect(air?.attributes._FillValue).toEqual([Math.fround(NC_FILL_FLOAT)]);
    expect(air?.attributes.valid_range).toEqual([150, 350]);
    const bytes = writeNetcdfClassic({
      dimensions: [],
      variables: [
        { name: 'v', dimensions: [], type: 'float', attributes: { _FillValue: 0.1, scale: 0.1 }, data: [1] },
      ],
    });
    const v = readClassic(bytes).variables[0];
    expect(v?.attributes._FillValue).toEqual([Math.fround(0.1)]);
    expect(v?.attributes.scale).toEqual([0.1]);
  });

  it('writes a file netcdfjs (the reader of our dataset sources) opens', () => {
    const reader = new NetCDFReader(writeNetcdfClassic(sample).buffer);
    expect(reader.version).toBe('64-bit offset format');
    expect(reader.getDataVariable('lat')).toEqual([-30, 0, 30]);
    expect(reader.getDataVariable('count')).toEqual([7, -8, 9]);
    expect(reader.getDataVariable('air')).toEqual([...(sample.variables[2]?.data as Float32Array)]);
    expect(reader.getAttribute('title')).toBe('odd-length text');
  });

  it.each([
    [
      'a data length that does not match the dimensions',
      { ...sample, variables: [{ name: 'a', dimensions: ['lat'], type: 'float' as const, data: [1, 2] }] },
      'SHAPE_MISMATCH',
      'variable a has 2 values; its dimensions (lat) hold 3',
    ],
    [
      'an unknown dimension',
      { ...sample, variables: [{ name: 'a', dimensions: ['level'], type: 'float' as const, data: [1] }] },
      'MALFORMED_INPUT',
      'variable a names unknown dimension level',
    ],
    [
      'a name with a space',
      { ...sample, dimensions: [{ name: 'bad name', size: 1 }] },
      'MALFORMED_INPUT',
      "dimension name 'bad name'",
    ],
    [
      'a repeated variable',
      { ...sample, variables: [sample.variables[3], sample.variables[3]] as NcFile['variables'] },
      'MALFORMED_INPUT',
      'variable scalar is repeated',
    ],
    [
      'a dimension of size 0',
      { ...sample, dimensions: [{ name: 'n', size: 0 }] },
      'MALFORMED_INPUT',
      'dimension n has size 0',
    ],
    [
      'a fractional int',
      { dimensions: [], variables: [{ name: 'i', dimensions: [], type: 'int' as const, data: [1.5] }] },
      'MALFORMED_INPUT',
      'variable i[0] = 1.5 is not a valid int',
    ],
  ])('refuses %s', (_, file, reason, message) => {
    let err: unknown;
    try {
      writeNetcdfClassic(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).reason).toBe(reason);
    expect((err as DatasetError).message).toContain(message);
  });

  const python = spawnSync('python3', ['-c', 'import scipy.io'], { encoding: 'utf8' });
  const hasScipy = python.status === 0;
  // Without python3 and scipy the test is reported skipped, its title saying why.
  const scipyTitle = hasScipy
    ? 'writes a file scipy.io.netcdf_file reads'
    : 'writes a file scipy.io.netcdf_file reads: SKIPPED, python3 with scipy.io is not importable here';
  it.skipIf(!hasScipy)(scipyTitle, () => {
    const file = path.join(root, 'sample.nc');
    writeFileSync(file, writeNetcdfClassic(sample));
    const script = [
      'import json, sys, scipy.io',
      'f = scipy.io.netcdf_file(sys.argv[1], "r", mmap=False)',
      'out = {"version": int(f.version_byte), "dims": {k: int(v) for k, v in f.dimensions.items()},',
      ' "title": f.title.decode(), "air": f.variables["air"][:].astype(float).ravel().tolist(),',
      ' "air_shape": list(f.variables["air"].shape), "units": f.variables["air"].units.decode(),',
      ' "fill": float(f.variables["air"]._FillValue), "count": f.variables["count"][:].tolist(),',
      ' "scalar": float(f.variables["scalar"].getValue())}',
      'f.close()',
      'print(json.dumps(out))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(got).toEqual({
      version: 2,
      dims: { time: 1, lat: 3, lon: 5 },
      title: 'odd-length text',
      air: [...(sample.variables[2]?.data as Float32Array)],
      air_shape: [1, 3, 5],
      units: 'K',
      fill: Math.fround(NC_FILL_FLOAT),
      count: [7, -8, 9],
      scalar: Math.PI,
    });
  });
});

describe('readNetcdfClassic', () => {
  it('reads a CDF-1 file (32-bit offsets) as well', () => {
    // The CDF-2 file with its 8-byte begins cut to 4: a valid CDF-1 file of the same contents.
    const cdf2 = writeNetcdfClassic({
      dimensions: [{ name: 'n', size: 2 }],
      variables: [{ name: 'v', dimensions: ['n'], type: 'int', data: [5, 6] }],
    });
    const headerEnd = cdf2.length - 8;
    const cdf1 = new Uint8Array(cdf2.length - 4);
    cdf1.set(cdf2.subarray(0, headerEnd - 8));
    cdf1[3] = 1;
    const begin = new DataView(cdf1.buffer);
    begin.setUint32(headerEnd - 8, headerEnd - 4);
    cdf1.set(cdf2.subarray(headerEnd), headerEnd - 4);
    const f = readClassic(cdf1);
    expect(f.version).toBe(1);
    expect(f.variables[0]?.values).toEqual([5, 6]);
  });

  it.each([
    ['no magic', new Uint8Array([1, 2, 3, 4]), 'not a netCDF classic file'],
    ['a truncated file', writeNetcdfClassic(sample).subarray(0, 100), 'truncated at byte'],
    [
      'an HDF5 (netCDF-4) file',
      new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]),
      'no CDF magic',
    ],
  ])('refuses %s', (_, bytes, message) => {
    expect(() => readNetcdfClassic(bytes)).toThrow(message);
  });
});

describe('fieldsNetcdf', () => {
  it('writes lat/lon coordinates, hours since 1970 and CF attributes on a latitude-longitude grid', () => {
    const grid = latLonGrid([60, 30], [0, 120, 240]);
    const mask = Uint8Array.from([1, 1, 1, 1, 1, 0]);
    const f = readClassic(
      writeNetcdfClassic(
        fieldsNetcdf({
          grid,
          channels: ['air', 'rh'],
          units: ['K', '%'],
          time: '2013-01-03T06',
          validMask: mask,
          sets: [
            {
              suffix: '',
              description: 'analysis mean of',
              data: Float32Array.from({ length: 12 }, (_, k) => k),
            },
          ],
          attributes: { title: 'test' },
        }),
      ),
    );
    expect(f.dimensions).toEqual([
      { name: 'time', size: 1 },
      { name: 'lat', size: 2 },
      { name: 'lon', size: 3 },
    ]);
    expect(f.attributes).toEqual({ Conventions: 'CF-1.8', title: 'test' });
    const byName = new Map(f.variables.map((v) => [v.name, v]));
    expect([...byName.keys()]).toEqual(['time', 'lat', 'lon', 'air', 'rh']);
    expect(byName.get('time')?.values).toEqual([Date.parse('2013-01-03T06:00Z') / 3_600_000]);
    expect(byName.get('time')?.attributes.units).toBe('hours since 1970-01-01 00:00:00');
    expect(byName.get('lat')?.values).toEqual([60, 30]);
    expect(byName.get('lon')?.attributes).toMatchObject({ units: 'degrees_east', axis: 'X' });
    expect(byName.get('air')?.attributes).toMatchObject({
      long_name: 'analysis mean of air',
      units: 'K',
      standard_name: 'air_temperature',
    });
    expect(byName.get('rh')?.attributes.standard_name).toBeUndefined();
    expect(byName.get('air')?.values).toEqual([0, 1, 2, 3, 4, Math.fround(NC_FILL_FLOAT)]);
    expect(byName.get('rh')?.values).toEqual([6, 7, 8, 9, 10, Math.fround(NC_FILL_FLOAT)]);
  });

  it('writes y/x in metres with lat/lon as auxiliary coordinates on a beta plane, and members on their dimension', () => {
    const grid = betaPlaneGrid({ H: 2, W: 4, dxM: 100e3, dyM: 200e3, latCentreDeg: 45 });
    const members = Float32Array.from({ length: 3 * 2 * 8 }, (_, k) => k); // [3, 2, 2, 4]
    const f = readClassic(
      writeNetcdfClassic(
        fieldsNetcdf({
          grid,
          channels: ['z_upper', 'u_upper'],
          units: ['m2 s-2', 'm s-1'],
          time: '2000-01-01T00:00Z',
          sets: [
            { suffix: '_members', description: 'member of', data: members, members: 3 },
            {
              suffix: '_spread',
              description: 'member spread of',
              data: new Float32Array(16),
              isQuantity: false,
            },
          ],
        }),
      ),
    );
    expect(f.dimensions.map((d) => `${d.name}=${d.size}`)).toEqual(['time=1', 'member=3', 'y=2', 'x=4']);
    const byName = new Map(f.variables.map((v) => [v.name, v]));
    expect(byName.get('y')?.values).toEqual([-100e3, 100e3]);
    expect(byName.get('x')?.values).toEqual([0, 100e3, 200e3, 300e3]);
    expect(byName.get('lat')?.dimensions).toEqual(['y']);
    expect(byName.get('member')?.values).toEqual([0, 1, 2]);
    const u = byName.get('u_upper_members');
    expect(u?.dimensions).toEqual(['time', 'member', 'y', 'x']);
    expect(u?.attributes).toMatchObject({ standard_name: 'eastward_wind', coordinates: 'lat lon' });
    // Member 1 of channel 1: [1, 1] of [3, 2, 2, 4] = values 24..31.
    expect(u?.values.slice(8, 16)).toEqual([24, 25, 26, 27, 28, 29, 30, 31]);
    expect(byName.get('z_upper_spread')?.dimensions).toEqual(['time', 'y', 'x']);
    expect(byName.get('z_upper_spread')?.attributes.standard_name).toBeUndefined();
    expect(byName.get('z_upper_members')?.attributes.standard_name).toBe('geopotential');
  });

  it('knows standard names only where channel and units make them certain', () => {
    expect(cfStandardName('t', 'K')).toBe('air_temperature');
    expect(cfStandardName('air850', 'K')).toBe('air_temperature');
    expect(cfStandardName('tp', 'K')).toBeUndefined();
    expect(cfStandardName('z500', 'm')).toBe('geopotential_height');
    expect(cfStandardName('v_lower', 'm s-1')).toBe('northward_wind');
    expect(cfStandardName('u_upper', 'K')).toBeUndefined();
  });

  it('refuses data that do not fit the grid and channels', () => {
    const grid = latLonGrid([0], [0, 10]);
    expect(() =>
      fieldsNetcdf({
        grid,
        channels: ['t'],
        units: ['K'],
        time: '2000-01-01',
        sets: [{ suffix: '', description: 'x', data: new Float32Array(3) }],
      }),
    ).toThrow("set '' has 3 values; 1 x 1 x 1 x 2 expected");
  });
});

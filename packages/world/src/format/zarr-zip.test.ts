import { describe, expect, it } from 'vitest';

import { NC_FILL_FLOAT } from './field-netcdf.js';
import type { NcFile } from './netcdf-classic.js';
import { zarrZipOfNetcdf, zipEntries } from './zarr-zip.js';

const file: NcFile = {
  dimensions: [
    { name: 'time', size: 1 },
    { name: 'member', size: 2 },
    { name: 'lat', size: 2 },
    { name: 'lon', size: 3 },
  ],
  attributes: { Conventions: 'CF-1.8', members: { type: 'int', values: [2] }, scales: [0.5, 2] },
  variables: [
    {
      name: 'time',
      dimensions: ['time'],
      type: 'double',
      attributes: { units: 'hours since 1970-01-01 00:00:00', calendar: 'standard' },
      data: [271_000.5],
    },
    { name: 'member', dimensions: ['member'], type: 'int', data: [0, 1] },
    {
      name: 'lat',
      dimensions: ['lat'],
      type: 'double',
      attributes: { units: 'degrees_north' },
      data: [10, -10],
    },
    {
      name: 'lon',
      dimensions: ['lon'],
      type: 'double',
      attributes: { units: 'degrees_east' },
      data: [0, 120, 240],
    },
    {
      name: 't_members',
      dimensions: ['time', 'member', 'lat', 'lon'],
      type: 'float',
      attributes: { units: 'K', _FillValue: NC_FILL_FLOAT },
      data: Float32Array.from([250.1, 251.2, 252.3, 253.4, 254.5, NC_FILL_FLOAT, 1, 2, 3, 4, 5, 6]),
    },
    { name: 'scalar', dimensions: [], type: 'double', data: [Math.PI] },
  ],
};

const json = (bytes: Uint8Array | undefined): unknown => JSON.parse(new TextDecoder().decode(bytes));

describe('zarrZipOfNetcdf', () => {
  const zip = zarrZipOfNetcdf(file);
  const entries = zipEntries(zip);

  it('writes a Zarr v2 group with consolidated metadata and xarray dimensions', () => {
    expect(Object.keys(entries).sort()).toEqual(
      [
        '.zattrs',
        '.zgroup',
        '.zmetadata',
        'lat/.zarray',
        'lat/.zattrs',
        'lat/0',
        'lon/.zarray',
        'lon/.zattrs',
        'lon/0',
        'member/.zarray',
        'member/.zattrs',
        'member/0',
        'scalar/.zarray',
        'scalar/.zattrs',
        'scalar/0',
        't_members/.zarray',
        't_members/.zattrs',
        't_members/0.0.0.0',
        'time/.zarray',
        'time/.zattrs',
        'time/0',
      ].sort(),
    );
    const meta = json(entries['.zmetadata']) as {
      zarr_consolidated_format: number;
      metadata: Record<string, unknown>;
    };
    expect(meta.zarr_consolidated_format).toBe(1);
    expect(meta.metadata['.zattrs']).toEqual({ Conventions: 'CF-1.8', members: 2, scales: [0.5, 2] });
    expect(meta.metadata['t_members/.zarray']).toEqual({
      zarr_format: 2,
      shape: [1, 2, 2, 3],
      chunks: [1, 2, 2, 3],
      dtype: '<f4',
      compressor: null,
      fill_value: NC_FILL_FLOAT,
      order: 'C',
      filters: null,
      dimension_separator: '.',
    });
    expect(meta.metadata['t_members/.zattrs']).toEqual({
      units: 'K',
      _ARRAY_DIMENSIONS: ['time', 'member', 'lat', 'lon'],
    });
    expect(meta.metadata['member/.zarray']).toMatchObject({ dtype: '<i4', fill_value: null });
    expect(meta.metadata['time/.zattrs']).toEqual({
      units: 'hours since 1970-01-01 00:00:00',
      calendar: 'standard',
      _ARRAY_DIMENSIONS: ['time'],
    });
    expect(meta.metadata['scalar/.zarray']).toMatchObject({ shape: [], chunks: [] });
    // Each key's own file says what the consolidated metadata says.
    for (const [key, value] of Object.entries(meta.metadata)) expect(json(entries[key]), key).toEqual(value);
  });

  it('stores each variable as one little-endian chunk in C order', () => {
    const chunk = entries['t_members/0.0.0.0'] ?? new Uint8Array();
    const values = new Float32Array(chunk.slice().buffer);
    expect(Array.from(values)).toEqual(Array.from(file.variables[4]?.data ?? []));
    const time = entries['time/0'] ?? new Uint8Array();
    expect(new DataView(time.buffer, time.byteOffset).getFloat64(0, true)).toBe(271_000.5);
    const member = entries['member/0'] ?? new Uint8Array();
    expect(Array.from(new Int32Array(member.slice().buffer))).toEqual([0, 1]);
  });

  it('stores the entries uncompressed and gives the same bytes for the same contents', () => {
    // Every local file header (PK\x03\x04) has compression method 0 (stored) at offset 8.
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    let headers = 0;
    for (let p = 0; p + 4 <= zip.length; p++)
      if (view.getUint32(p, true) === 0x04034b50) {
        expect(view.getUint16(p + 8, true)).toBe(0);
        headers++;
      }
    expect(headers).toBe(Object.keys(entries).length);
    expect(Buffer.from(zarrZipOfNetcdf(file)).equals(Buffer.from(zip))).toBe(true);
  });

  it('refuses a variable whose values do not fill its dimensions', () => {
    const bad: NcFile = {
      dimensions: [{ name: 'lat', size: 3 }],
      variables: [{ name: 'lat', dimensions: ['lat'], type: 'double', data: [1, 2] }],
    };
    expect(() => zarrZipOfNetcdf(bad)).toThrow('lat has 2 values; its dimensions (3) hold 3');
  });
});

describe('zipEntries', () => {
  it('refuses bytes that are not a zip archive', () => {
    expect(() => zipEntries(new Uint8Array([1, 2, 3, 4]))).toThrow(/not a zip archive/);
  });
});

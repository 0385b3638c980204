import { betaPlaneGrid, latLonGrid } from '@alignda/tensor';
import type { Grid } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { readAnalysisNetcdf, selectAnalysis } from './analysis-netcdf.js';
import { NC_FILL_FLOAT, fieldsNetcdf } from './field-netcdf.js';
import { readNetcdfClassic } from './netcdf-classic-reader.js';
import { writeNetcdfClassic } from './netcdf-classic.js';

const C = 2;
const H = 3;
const W = 4;
const M = 3;
const channels = ['t', 'u_upper'];
const units = ['K', 'm s-1'];
const TIME = '2001-01-23T06:00:00.000Z';

/** Distinct float32 values per set, so a value read back names where it came from. */
const values = (n: number, offset: number): Float32Array =>
  Float32Array.from({ length: n }, (_, k) => offset + k / 7);

const mean = values(C * H * W, 250);
const spread = values(C * H * W, 1);
const members = values(M * C * H * W, 100);
const background = values(C * H * W, 240);

/** An analysis file as the orchestrator writes it, on `grid`, with the last cell of every plane masked. */
function analysisBytes(grid: Grid, withMembers = true): Uint8Array {
  const validMask = Uint8Array.from({ length: H * W }, (_, g) => (g === H * W - 1 ? 0 : 1));
  return writeNetcdfClassic(
    fieldsNetcdf({
      grid,
      channels,
      units,
      time: TIME,
      validMask,
      sets: [
        { suffix: '', description: 'dps analysis (member mean) of', data: mean },
        { suffix: '_spread', description: 'member standard deviation of', data: spread, isQuantity: false },
        ...(withMembers
          ? [{ suffix: '_members', description: 'dps analysis member of', data: members, members: M }]
          : []),
        { suffix: '_background', description: '48 h background forecast of', data: background },
      ],
      attributes: { method: 'dps', members: { type: 'int', values: [M] }, seed: 5, oma_rms_normalised: 0.25 },
    }),
  );
}

const beta = betaPlaneGrid({ H, W, dxM: 1e5, dyM: 2e5, latCentreDeg: 45 });
const latlon = latLonGrid([60, 30, 0], [0, 90, 180, 270]);

/** Plane `c` of a [.., C, H, W] array, member `m`. */
const plane = (a: Float32Array, c: number, m = 0): number[] =>
  Array.from(a.subarray((m * C + c) * H * W, (m * C + c + 1) * H * W));
const masked = (xs: number[]): number[] => xs.map((x, g) => (g === H * W - 1 ? Number.NaN : x));

describe('readAnalysisNetcdf', () => {
  it('reads channels, units, kinds, members, time, grid and every field of a beta-plane file, fill values as NaN', () => {
    const a = readAnalysisNetcdf(analysisBytes(beta));
    expect(a.channels).toEqual(channels);
    expect(a.units).toEqual(units);
    expect(a.kinds).toEqual(['mean', 'spread', 'members', 'background']);
    expect(a.members).toBe(M);
    expect(a.shape).toEqual([H, W]);
    expect(a.dims).toEqual(['y', 'x']);
    expect(a.validTime).toBe(TIME);
    expect(a.grid.kind).toBe('beta-plane');
    expect(Array.from(a.grid.latDeg)).toEqual(Array.from(beta.latDeg));
    expect(a.grid.kind === 'beta-plane' && [a.grid.dxM, a.grid.dyM]).toEqual([1e5, 2e5]);
    expect(Array.from(a.validMask)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    expect(Array.from(a.field('mean', 'u_upper') ?? [])).toEqual(masked(plane(mean, 1)));
    expect(Array.from(a.field('spread', 't') ?? [])).toEqual(masked(plane(spread, 0)));
    expect(Array.from(a.field('background', 't') ?? [])).toEqual(masked(plane(background, 0)));
    const m = a.field('members', 'u_upper') ?? new Float32Array();
    expect(m).toHaveLength(M * H * W);
    expect(Array.from(m.subarray(2 * H * W))).toEqual(masked(plane(members, 1, 2)));
    expect(a.field('mean', 'v')).toBeUndefined();
  });

  it('reads a latitude-longitude file and one without members', () => {
    const a = readAnalysisNetcdf(analysisBytes(latlon, false));
    expect(a.dims).toEqual(['lat', 'lon']);
    expect(a.grid.kind).toBe('latlon');
    expect(Array.from(a.grid.latDeg)).toEqual([60, 30, 0]);
    expect(a.kinds).toEqual(['mean', 'spread', 'background']);
    expect(a.members).toBe(1);
    expect(a.field('members', 't')).toBeUndefined();
  });

  it('refuses a netCDF file that is not an analysis', () => {
    const other = writeNetcdfClassic({
      dimensions: [{ name: 'lat', size: 2 }],
      variables: [{ name: 'lat', dimensions: ['lat'], type: 'double', data: [0, 1] }],
    });
    expect(() => readAnalysisNetcdf(other)).toThrow(/analysis file: no lon dimension/);
    expect(() => readAnalysisNetcdf(new Uint8Array([1, 2, 3]))).toThrow(/not a netCDF classic file/);
  });
});

describe('selectAnalysis', () => {
  it('keeps everything by default, values and attributes unchanged (integer attributes as int)', () => {
    const a = readAnalysisNetcdf(analysisBytes(beta));
    const again = readNetcdfClassic(writeNetcdfClassic(selectAnalysis(a)));
    expect(again.variables.map((v) => v.name)).toEqual(a.file.variables.map((v) => v.name));
    expect(again.dimensions).toEqual(a.file.dimensions);
    for (const v of a.file.variables) {
      const w = again.variables.find((x) => x.name === v.name);
      expect(w?.type, v.name).toBe(v.type);
      expect(Array.from(w?.data ?? []), v.name).toEqual(Array.from(v.data));
      expect(w?.attributes, v.name).toEqual(v.attributes);
    }
    expect(again.attributes).toEqual(a.file.attributes);
  });

  it('keeps the channels and kinds asked for, and the member dimension only with the members', () => {
    const a = readAnalysisNetcdf(analysisBytes(beta));
    const cut = selectAnalysis(a, { channels: ['u_upper'], kinds: ['spread'] });
    expect(cut.variables.map((v) => v.name)).toEqual([
      'time',
      'y',
      'x',
      'lat',
      'lon',
      'u_upper',
      'u_upper_spread',
    ]);
    expect(cut.dimensions.map((d) => d.name)).toEqual(['time', 'y', 'x']);
    const back = readAnalysisNetcdf(writeNetcdfClassic(cut));
    expect(back.channels).toEqual(['u_upper']);
    expect(back.kinds).toEqual(['mean', 'spread']);
    expect(Array.from(back.field('mean', 'u_upper') ?? [])).toEqual(masked(plane(mean, 1)));
    const fill = cut.variables.find((v) => v.name === 'u_upper')?.data ?? [];
    expect(fill[H * W - 1]).toBe(Math.fround(NC_FILL_FLOAT));

    const withMembers = selectAnalysis(a, { channels: ['t'], kinds: ['members'] });
    expect(withMembers.dimensions.map((d) => d.name)).toEqual(['time', 'member', 'y', 'x']);
    expect(withMembers.variables.map((v) => v.name)).toEqual([
      'time',
      'member',
      'y',
      'x',
      'lat',
      'lon',
      't',
      't_members',
    ]);
  });

  it('refuses an unknown channel, listing the channels the analysis holds', () => {
    const a = readAnalysisNetcdf(analysisBytes(beta));
    expect(() => selectAnalysis(a, { channels: ['t', 'q', 'rh'] })).toThrow(
      'unknown variables q, rh: the analysis holds t, u_upper',
    );
  });
});

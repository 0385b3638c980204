import { latLonGrid } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { analysisFileMapPng, analysisMapPng, observationLocations } from './analysis-map.js';
import { readAnalysisNetcdf } from './analysis-netcdf.js';
import { fieldsNetcdf } from './field-netcdf.js';
import { writeNetcdfClassic } from './netcdf-classic.js';

const grid = latLonGrid([40, 20, 0, -20], [0, 60, 120, 180, 240, 300]);
const n = 4 * 6;
const field = (offset: number): Float32Array => Float32Array.from({ length: n }, (_, k) => offset + k);
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe('analysisMapPng', () => {
  it('draws mean, spread, background and increment as one PNG, with or without a spread', () => {
    const input = {
      grid,
      channel: 't',
      units: 'K',
      validTime: '2001-01-23T06:00:00.000Z',
      mean: field(250),
      spread: field(1),
      background: field(249),
      observations: [{ lat: 20, lon: 60 }],
    };
    const png = analysisMapPng(input);
    expect(Array.from(png.subarray(0, 8))).toEqual(PNG_MAGIC);
    const { spread: _, ...oneMember } = input;
    expect(Array.from(analysisMapPng(oneMember).subarray(0, 8))).toEqual(PNG_MAGIC);
  });

  it('refuses a field that does not fit the grid', () => {
    expect(() =>
      analysisMapPng({
        grid,
        channel: 't',
        units: 'K',
        validTime: '2001-01-23T06:00:00.000Z',
        mean: field(250),
        background: new Float32Array(3),
      }),
    ).toThrow('analysisMapPng: background has 3 values, the grid 4 x 6');
  });
});

describe('analysisFileMapPng', () => {
  const bytes = writeNetcdfClassic(
    fieldsNetcdf({
      grid,
      channels: ['t'],
      units: ['K'],
      time: '2001-01-23T06:00Z',
      sets: [
        { suffix: '', description: 'mean of', data: field(250) },
        { suffix: '_background', description: 'background of', data: field(249) },
      ],
      attributes: { method: 'dps' },
    }),
  );

  it('draws a channel of an analysis file', () => {
    const png = analysisFileMapPng(readAnalysisNetcdf(bytes), 't');
    expect(Array.from(png.subarray(0, 8))).toEqual(PNG_MAGIC);
  });

  it('refuses a channel the file does not hold, listing those it does', () => {
    expect(() => analysisFileMapPng(readAnalysisNetcdf(bytes), 'q')).toThrow(
      'unknown variable q: the analysis holds t',
    );
  });
});

describe('observationLocations', () => {
  it('puts cells at their row and column coordinates and points where they are, one mark per place', () => {
    const cells = [
      { row: 1, col: 2 },
      { row: 1, col: 2 },
      { row: 3, col: 0 },
      { row: 9, col: 0 },
    ];
    expect(observationLocations({ cells }, grid)).toEqual([
      { lat: 20, lon: 120 },
      { lat: -20, lon: 0 },
    ]);
    expect(observationLocations({ points: [{ lat: 1.5, lon: -30 }] }, grid)).toEqual([
      { lat: 1.5, lon: -30 },
    ]);
  });
});

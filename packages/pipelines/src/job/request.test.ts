import { AppError } from '@alignda/errors';
import { latLonGrid } from '@alignda/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { assimilationRequestSchema, checkRequestAgainstSource, parseAssimilationRequest } from './request.js';
import type { AssimilationRequest, AssimilationRequestInput, JobSourceShape } from './request.js';

const cellsBody: AssimilationRequestInput = {
  source: { dataset: 'ncep-air' },
  validTime: '2013-01-03T06:00Z',
  observations: { cells: [{ channel: 'air850', row: 1, col: 2, value: 270.5, sigma: 1 }] },
  method: 'dps',
};

const pointsBody: AssimilationRequestInput = {
  source: { world: 'qg' },
  validTime: '2000-01-10T00',
  observations: { points: [{ variable: 'z_upper', lat: 45, lon: -10, value: 95_000, sigma: 50 }] },
  method: '3dvar',
  members: 4,
  steps: 32,
  seed: 4_294_967_295,
  modelVersion: 'v3',
};

/** A 4 x 8 global grid with two levels of one variable and a surface channel. */
const source: JobSourceShape = {
  channels: ['air850', 'air500', 'slp'],
  shape: [3, 4, 8],
  grid: latLonGrid([60, 30, 0, -30], [0, 45, 90, 135, 180, 225, 270, 315]),
  levels: [{ variable: 'air', level: 850 }, { variable: 'air', level: 500 }, { variable: 'slp' }],
};

function parse(body: unknown): AssimilationRequest {
  return assimilationRequestSchema.parse(body);
}

function checkError(request: AssimilationRequest, src: JobSourceShape = source): AppError {
  try {
    checkRequestAgainstSource(request, src);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected checkRequestAgainstSource to throw');
}

describe('assimilationRequestSchema', () => {
  it('fills members 1, steps 64 and seed 0 when they are left out', () => {
    const r = parse(cellsBody);
    expect(r).toMatchObject({ members: 1, steps: 64, seed: 0, method: 'dps' });
    expect(r.modelVersion).toBeUndefined();
  });

  it('keeps every given field of a full request', () => {
    expect(parse(pointsBody)).toEqual(pointsBody);
  });

  it.each([
    ['an extra top-level field', { ...cellsBody, priority: 1 }],
    [
      'an extra observation field',
      {
        ...cellsBody,
        observations: { cells: [{ channel: 'a', row: 0, col: 0, value: 1, sigma: 1, qc: 0 }] },
      },
    ],
    ['both points and cells', { ...cellsBody, observations: { cells: [], points: [] } }],
    ['no observations', { ...cellsBody, observations: { cells: [] } }],
    ['an unknown world', { ...cellsBody, source: { world: 'l63' } }],
    ['both a world and a dataset', { ...cellsBody, source: { world: 'qg', dataset: 'ncep-air' } }],
    ['a malformed valid time', { ...cellsBody, validTime: 'yesterday' }],
    ['an unknown method', { ...cellsBody, method: 'enkf' }],
    ['0 members', { ...cellsBody, members: 0 }],
    ['65 members', { ...cellsBody, members: 65 }],
    ['fractional steps', { ...cellsBody, steps: 1.5 }],
    ['4097 steps', { ...cellsBody, steps: 4097 }],
    ['a negative seed', { ...cellsBody, seed: -1 }],
    ['a seed past uint32', { ...cellsBody, seed: 2 ** 32 }],
    [
      'sigma 0',
      { ...cellsBody, observations: { cells: [{ channel: 'a', row: 0, col: 0, value: 1, sigma: 0 }] } },
    ],
    [
      'a negative row',
      { ...cellsBody, observations: { cells: [{ channel: 'a', row: -1, col: 0, value: 1, sigma: 1 }] } },
    ],
    [
      'latitude 91',
      { ...pointsBody, observations: { points: [{ variable: 'z', lat: 91, lon: 0, value: 1, sigma: 1 }] } },
    ],
    [
      'longitude 360',
      { ...pointsBody, observations: { points: [{ variable: 'z', lat: 0, lon: 360, value: 1, sigma: 1 }] } },
    ],
    [
      'longitude -180.5',
      {
        ...pointsBody,
        observations: { points: [{ variable: 'z', lat: 0, lon: -180.5, value: 1, sigma: 1 }] },
      },
    ],
    [
      'an infinite value',
      {
        ...pointsBody,
        observations: { points: [{ variable: 'z', lat: 0, lon: 0, value: Infinity, sigma: 1 }] },
      },
    ],
    [
      'a NaN sigma',
      { ...pointsBody, observations: { points: [{ variable: 'z', lat: 0, lon: 0, value: 1, sigma: NaN }] } },
    ],
  ])('rejects %s', (_, body) => {
    expect(assimilationRequestSchema.safeParse(body).success).toBe(false);
  });

  it('rejects more than 100000 observations', () => {
    const cell = { channel: 'a', row: 0, col: 0, value: 1, sigma: 1 };
    const body = { ...cellsBody, observations: { cells: Array.from({ length: 100_001 }, () => cell) } };
    expect(assimilationRequestSchema.safeParse(body).success).toBe(false);
  });

  it('accepts exactly the points with lat in [-90, 90], lon in [-180, 360), finite value and sigma > 0', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -100, max: 100 }),
        fc.double({ min: -200, max: 400 }),
        fc.double(),
        fc.double({ min: -1, max: 10 }),
        (lat, lon, value, sigma) => {
          const body = {
            ...pointsBody,
            observations: { points: [{ variable: 'z', lat, lon, value, sigma }] },
          };
          const want =
            lat >= -90 && lat <= 90 && lon >= -180 && lon < 360 && Number.isFinite(value) && sigma > 0;
          expect(assimilationRequestSchema.safeParse(body).success).toBe(want);
        },
      ),
    );
  });
});

describe('parseAssimilationRequest', () => {
  const message = (body: unknown): string => {
    try {
      parseAssimilationRequest(body);
    } catch (err) {
      if (err instanceof AppError && err.code === 'INVALID_ARGUMENT') return err.message;
      throw err;
    }
    throw new Error('expected parseAssimilationRequest to throw');
  };

  it('names the path and reason of each issue in one line', () => {
    const cells = [
      { channel: 'a', row: 0, col: 0, value: 1, sigma: 1 },
      { channel: 'a', row: 0, col: 1, value: 1, sigma: 0 },
    ];
    expect(message({ ...cellsBody, observations: { cells } })).toBe(
      'invalid assimilation request: observations.cells[1].sigma: Too small: expected number to be >0',
    );
    expect(message({ ...cellsBody, members: 0, seed: -1 })).toBe(
      'invalid assimilation request: members: Too small: expected number to be >=1; seed: Too small: expected number to be >=0',
    );
  });

  it('says which shapes the observations and the source may take', () => {
    expect(message({ ...cellsBody, observations: { cell: [] } })).toBe(
      'invalid assimilation request: observations: must be { "points": [...] } or { "cells": [...] }, exactly one of them',
    );
    expect(message({ ...cellsBody, source: 'qg' })).toBe(
      'invalid assimilation request: source: must be { "world": "qg" } or { "dataset": "<name>" }',
    );
  });

  it('counts the issues past the third', () => {
    expect(message({})).toMatch(/^invalid assimilation request: source: .*; and 1 more$/);
  });

  it('fills in the defaults of a valid body', () => {
    expect(parseAssimilationRequest(cellsBody)).toEqual(parse(cellsBody));
  });
});

describe('checkRequestAgainstSource', () => {
  it('resolves cells to channel indices, rows and columns', () => {
    const r = parse({
      ...cellsBody,
      observations: {
        cells: [
          { channel: 'slp', row: 3, col: 7, value: 101_000, sigma: 100 },
          { channel: 'air500', row: 0, col: 0, value: 250, sigma: 1 },
        ],
      },
    });
    const out = checkRequestAgainstSource(r, source);
    expect(out.layout).toBe('cells');
    if (out.layout !== 'cells') return;
    expect([...out.channel]).toEqual([2, 1]);
    expect([...out.row]).toEqual([3, 0]);
    expect([...out.col]).toEqual([7, 0]);
    expect([...out.value]).toEqual([101_000, 250]);
    expect([...out.sigma]).toEqual([100, 1]);
  });

  it('resolves points by channel name, by variable and level, and by a variable with one channel', () => {
    const r = parse({
      ...pointsBody,
      observations: {
        points: [
          { variable: 'air500', lat: 10, lon: 20, value: 250, sigma: 1 },
          { variable: 'air', level: 850, lat: -20, lon: -170, value: 280, sigma: 1 },
          { variable: 'slp', lat: 0, lon: 359, value: 101_000, sigma: 100 },
        ],
      },
    });
    const out = checkRequestAgainstSource(r, source);
    expect(out.layout).toBe('points');
    expect([...out.channel]).toEqual([1, 0, 2]);
  });

  it.each([
    [
      'an unknown channel',
      { cells: [{ channel: 'rh', row: 0, col: 0, value: 1, sigma: 1 }] },
      "unknown channel 'rh'",
    ],
    [
      'a row past the grid',
      { cells: [{ channel: 'slp', row: 4, col: 0, value: 1, sigma: 1 }] },
      "row 4 outside the grid's 0..3",
    ],
    [
      'a column past the grid',
      { cells: [{ channel: 'slp', row: 0, col: 8, value: 1, sigma: 1 }] },
      "col 8 outside the grid's 0..7",
    ],
    [
      'an unknown variable',
      { points: [{ variable: 'q', lat: 0, lon: 0, value: 1, sigma: 1 }] },
      "unknown variable 'q'",
    ],
    [
      'a variable with levels and no level',
      { points: [{ variable: 'air', lat: 0, lon: 0, value: 1, sigma: 1 }] },
      'has levels 850, 500: give a level',
    ],
    [
      'an unknown level',
      { points: [{ variable: 'air', level: 700, lat: 0, lon: 0, value: 1, sigma: 1 }] },
      'has no level 700 (levels: 850, 500)',
    ],
    [
      'a point north of the grid',
      { points: [{ variable: 'slp', lat: 70, lon: 0, value: 1, sigma: 1 }] },
      'latitude 70 outside',
    ],
  ])('names %s as INVALID_ARGUMENT', (_, observations, message) => {
    const err = checkError(parse({ ...cellsBody, observations }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('observation 0: ');
    expect(err.message).toContain(message);
  });

  it('names the first offending observation by its index', () => {
    const ok = { channel: 'slp', row: 0, col: 0, value: 1, sigma: 1 };
    const err = checkError(
      parse({ ...cellsBody, observations: { cells: [ok, { ...ok, col: 1 }, { ...ok, col: 9 }] } }),
    );
    expect(err.message).toMatch(/^observation 2: col 9/);
    expect(err.details).toEqual({ index: 2, field: 'col' });
  });

  it('refuses a cell observed twice, naming both observations', () => {
    const ok = { channel: 'slp', row: 1, col: 1, value: 1, sigma: 1 };
    const other = { ...ok, channel: 'air850' };
    const err = checkError(
      parse({ ...cellsBody, observations: { cells: [ok, other, { ...ok, value: 2 }] } }),
    );
    expect(err.message).toBe('observation 2: slp at cell (1, 1) is already observed by observation 0');
  });

  it('refuses point observations for Repaint, which inpaints grid cells', () => {
    const err = checkError(parse({ ...pointsBody, method: 'repaint' }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe('Repaint needs gridded observations: use cells, or method dps');
  });

  it('refuses cells and points in a padded area of the grid', () => {
    const validMask = new Uint8Array(4 * 8).fill(1);
    validMask[0] = 0; // row 0, col 0
    const masked = { ...source, validMask };
    const cell = checkError(
      parse({
        ...cellsBody,
        observations: { cells: [{ channel: 'slp', row: 0, col: 0, value: 1, sigma: 1 }] },
      }),
      masked,
    );
    expect(cell.message).toContain('padded (invalid) area');
    const point = checkError(
      parse({
        ...pointsBody,
        observations: { points: [{ variable: 'slp', lat: 50, lon: 10, value: 1, sigma: 1 }] },
      }),
      masked,
    );
    expect(point.message).toContain('padded (invalid) area');
  });

  it('accepts longitudes between the last and the first column of a global grid, either convention', () => {
    for (const lon of [-180, -10, 340, 359.9]) {
      const r = parse({
        ...pointsBody,
        observations: { points: [{ variable: 'slp', lat: 0, lon, value: 1, sigma: 1 }] },
      });
      expect(checkRequestAgainstSource(r, source).layout).toBe('points');
    }
  });
});

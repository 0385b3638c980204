import type { BetaPlaneGrid, Field, LatLonGrid } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';
import { fieldFromProto, fieldToProto, gridFromProto, gridToProto } from './field-codec.js';
import { assertFieldLayout } from './field-layout.js';
import { Field as FieldMessage, type Grid as GridMessage } from './generated/alignda/v1/common.js';
import { InvalidMessageError } from './invalid-message-error.js';

const latLon: LatLonGrid = {
  kind: 'latlon',
  latDeg: Float64Array.from([-45, 0, 45]),
  lonDeg: Float64Array.from([0, 90, 180, 270]),
  periodicLon: true,
};

const betaPlane: BetaPlaneGrid = {
  kind: 'beta-plane',
  latDeg: Float64Array.from([30, 40, 50]),
  lonDeg: Float64Array.from([0, 10, 20, 30]),
  dxM: 250_000,
  dyM: 125_000,
  f0PerS: 1e-4,
  betaPerMS: 1.6e-11,
  periodicLon: true,
};

function fieldOn(grid: LatLonGrid | BetaPlaneGrid): Field {
  return {
    data: Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => 280 + i / 8),
    shape: [2, 3, 4],
    channels: ['t', 'z_upper'],
    units: ['K', 'm2 s-2'],
    grid,
  };
}

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidMessageError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('expected an InvalidMessageError');
}

describe('field messages', () => {
  it.each([
    ['lat-lon', latLon],
    ['beta-plane', betaPlane],
  ])('round-trip a %s field and its valid time through the wire format', (_, grid) => {
    const field = fieldOn(grid);
    const validTime = new Date(Date.UTC(2019, 0, 1, 6));
    const wire = FieldMessage.decode(FieldMessage.encode(fieldToProto(field, validTime)).finish());
    const back = fieldFromProto(wire);
    expect(back.validTime?.toISOString()).toBe('2019-01-01T06:00:00.000Z');
    expect(back.field).toEqual(field);
  });

  it('leaves valid_time unset when none is given', () => {
    expect(fieldFromProto(fieldToProto(fieldOn(latLon))).validTime).toBeUndefined();
  });

  it('rejects channel names, units and grid sizes that disagree with the shape, naming each', () => {
    const message = fieldToProto(fieldOn(latLon));
    const bad: FieldMessage = {
      ...message,
      channels: ['t'],
      units: ['K', 'm2 s-2', 'm s-1'],
      grid: { ...(message.grid as GridMessage), lonDeg: [0, 120, 240] },
    };
    expect(issuesOf(() => fieldFromProto(bad, 'initial'))).toEqual([
      'initial.channels: has 1 names for C = 2 channels',
      'initial.units: has 3 units for C = 2 channels',
      'initial.grid.lon_deg: has 3 longitudes for W = 4 columns',
    ]);
  });

  it('rejects a field whose tensor is not [C, H, W]', () => {
    const field = { ...fieldOn(latLon), shape: [2, 12] as unknown as [number, number, number] };
    expect(issuesOf(() => fieldToProto(field))).toEqual([
      'field.tensor.shape: is [2, 12], expected [C, H, W]',
    ]);
  });

  it('rejects a valid_time beyond what a time can hold (a Timestamp past 8.64e15 ms decodes as an Invalid Date)', () => {
    // Found by `npm run fuzz`: the forecast service rolled such a field out and failed INTERNAL serialising its reply.
    const message = { ...fieldToProto(fieldOn(latLon)), validTime: new Date(Number.NaN) };
    expect(issuesOf(() => fieldFromProto(message, 'initial'))).toEqual([
      'initial.valid_time: is outside the years -271821..275760 a time can hold',
    ]);
  });

  it('refuses NaN and infinite values against a layout, naming how many and the first', () => {
    const field = fieldOn(latLon);
    const data = Float32Array.from(field.data);
    data[5] = Number.NaN;
    data[9] = Number.NEGATIVE_INFINITY;
    expect(issuesOf(() => assertFieldLayout({ ...field, data }, field, 'background'))).toEqual([
      'background.tensor.data: 2 values are NaN or infinite (the first is element 5): send finite values',
    ]);
    expect(() => assertFieldLayout(field, field)).not.toThrow();
  });

  it('rejects a missing field or grid', () => {
    expect(issuesOf(() => fieldFromProto(undefined, 'background'))).toEqual(['background: is required']);
    const message = { ...fieldToProto(fieldOn(latLon)), grid: undefined };
    expect(issuesOf(() => fieldFromProto(message))).toEqual(['field.grid: is required']);
  });
});

describe('grid messages', () => {
  it('round-trip both kinds', () => {
    expect(gridFromProto(gridToProto(latLon))).toEqual(latLon);
    expect(gridFromProto(gridToProto(betaPlane))).toEqual(betaPlane);
  });

  it('rejects a grid without kind, with bad latitudes, or a non-periodic beta-plane with zero spacing', () => {
    expect(issuesOf(() => gridFromProto({ ...gridToProto(latLon), kind: undefined }))).toEqual([
      'grid.kind: is not set (lat_lon or beta_plane)',
    ]);
    expect(issuesOf(() => gridFromProto({ ...gridToProto(latLon), latDeg: [0, 45, 30] }))).toEqual([
      'grid.lat_deg: is not strictly monotone',
    ]);
    expect(issuesOf(() => gridFromProto({ ...gridToProto(latLon), latDeg: [0, 95] }))).toEqual([
      'grid.lat_deg: has values that are not finite degrees in [-90, 90]',
    ]);
    const beta = gridToProto(betaPlane);
    const flat: GridMessage = {
      ...beta,
      periodicLon: false,
      kind: { $case: 'betaPlane', value: { dxM: 0, dyM: 1, f0PerS: 1e-4, betaPerMS: 0 } },
    };
    expect(issuesOf(() => gridFromProto(flat))).toEqual([
      'grid.beta_plane: spacing dx_m=0, dy_m=1 must be finite and > 0',
      'grid.periodic_lon: must be true on a beta-plane',
    ]);
  });
});

import { describe, expect, it } from 'vitest';

import { DatasetError } from './dataset-error.js';
import { parseDatasetDescriptor, parseIsoUtc } from './descriptor.js';

const valid = {
  name: 'ncep-air',
  title: 'NCEP air temperature',
  source: { format: 'zarr', path: 'air.zarr' },
  variables: [{ channel: 't', source: 'air', units: 'K' }],
  grid: { kind: 'latlon', lat: { variable: 'lat' }, lon: { start: 200, step: 2.5, count: 53 } },
  time: { start: '2013-01-01T00', stepHours: 6, count: 2920 },
  periods: { train: { start: '2013-01-01', end: '2013-12-31T18:00Z' } },
  target: { height: 32, width: 64 },
};

function messageOf(input: unknown): string {
  try {
    parseDatasetDescriptor(input, 'file-label');
  } catch (err) {
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).reason).toBe('DESCRIPTOR_INVALID');
    expect((err as DatasetError).code).toBe('INVALID_ARGUMENT');
    return (err as Error).message;
  }
  throw new Error('expected the descriptor to be rejected');
}

describe('parseDatasetDescriptor', () => {
  it('accepts a valid descriptor and fills the defaults', () => {
    const d = parseDatasetDescriptor(valid);
    expect(d.diagnostics).toEqual([]);
    expect(d.target?.fill).toBe('edge');
    expect(d.variables[0]?.role).toBe('other');
    expect(d.grid.kind === 'latlon' && d.grid.periodicLon).toBe(false);
  });

  it('names the dataset and the missing field in one line', () => {
    expect(messageOf({ ...valid, variables: [{ channel: 't', source: 'air' }] })).toBe(
      'descriptor ncep-air: variables[0].units is required',
    );
  });

  it('lists every bad field, using the file label when the name is missing', () => {
    const msg = messageOf({ ...valid, name: undefined, target: { height: 30, width: 64 }, extra: 1 });
    expect(msg.startsWith('descriptor file-label: ')).toBe(true);
    expect(msg).toContain('name is required');
    expect(msg).toContain('target.height');
    expect(msg).toContain('multiple of 4');
    expect(msg).toContain('(root) has unknown field(s) extra');
    expect(msg).not.toContain('\n');
  });

  it('rejects bad times, inverted periods and unknown formats', () => {
    expect(messageOf({ ...valid, time: { start: '2013-13-01', stepHours: 6, count: 1 } })).toContain(
      'ISO 8601',
    );
    expect(messageOf({ ...valid, periods: { test: { start: '2014-12-31', end: '2014-01-01' } } })).toContain(
      'periods.test start must not be after end',
    );
    expect(messageOf({ ...valid, source: { format: 'grib', path: 'x' } })).toContain('source.format');
  });

  it('requires geopotential, u and v for the geostrophic diagnostic', () => {
    expect(messageOf({ ...valid, diagnostics: ['geostrophic'] })).toBe(
      'descriptor ncep-air: diagnostics geostrophic needs variables with roles geopotential, u and v',
    );
    const balanced = {
      ...valid,
      diagnostics: ['geostrophic'],
      variables: [
        { channel: 'z', source: 'z', units: 'm2 s-2', role: 'geopotential' },
        { channel: 'u', source: 'u', units: 'm s-1', role: 'u' },
        { channel: 'v', source: 'v', units: 'm s-1', role: 'v' },
      ],
    };
    expect(parseDatasetDescriptor(balanced).diagnostics).toEqual(['geostrophic']);
  });

  it('rejects duplicate channel names', () => {
    expect(messageOf({ ...valid, variables: [valid.variables[0], valid.variables[0]] })).toContain(
      'variables[1].channel duplicates channel t',
    );
  });
});

describe('parseIsoUtc', () => {
  it('reads date, hour-only and full ISO times as UTC', () => {
    expect(parseIsoUtc('2013-01-01')).toBe(Date.UTC(2013, 0, 1));
    expect(parseIsoUtc('2014-12-31T18')).toBe(Date.UTC(2014, 11, 31, 18));
    expect(parseIsoUtc('2014-12-31T18:30:00+01:00')).toBe(Date.UTC(2014, 11, 31, 17, 30));
    expect(parseIsoUtc('yesterday')).toBeNaN();
  });
});

import { describe, expect, it } from 'vitest';
import { assertFiniteField, channel, channelIndex, createField, findNonFinite } from './field.js';
import { latLonGrid } from './grid.js';

const grid = latLonGrid([30, 0, -30], [0, 90, 180, 270]);

describe('createField', () => {
  it('derives the shape [C, H, W] from channels and grid', () => {
    const f = createField({
      data: new Float32Array(24),
      channels: ['z', 'u'],
      units: ['m2 s-2', 'm s-1'],
      grid,
    });
    expect(f.shape).toEqual([2, 3, 4]);
  });

  it('rejects a data length, unit count or channel list that does not fit', () => {
    const base = { channels: ['z', 'u'], units: ['m2 s-2', 'm s-1'], grid };
    expect(() => createField({ ...base, data: new Float32Array(23) })).toThrow(
      /length 23 but shape \[2, 3, 4\] needs 24/,
    );
    expect(() => createField({ ...base, units: ['K'], data: new Float32Array(24) })).toThrow(
      /2 channels but 1 units/,
    );
    expect(() => createField({ ...base, channels: ['z', 'z'], data: new Float32Array(24) })).toThrow(
      /'z' is repeated/,
    );
    expect(() => createField({ ...base, channels: ['z', ''], data: new Float32Array(24) })).toThrow(/empty/);
  });

  it('gives channel views by name that share memory with the field', () => {
    const data = Float64Array.from({ length: 24 }, (_, i) => i);
    const f = createField({ data, channels: ['z', 'u'], units: ['m2 s-2', 'm s-1'], grid });
    expect(channelIndex(f, 'u')).toBe(1);
    const u = channel(f, 'u');
    expect(u.shape).toEqual([3, 4]);
    expect(u.data[0]).toBe(12);
    u.data[0] = -1;
    expect(f.data[12]).toBe(-1);
    expect(() => channel(f, 'v')).toThrow(/no channel 'v'; channels are z, u/);
  });

  it('finds the first NaN or infinity and names its channel, row and column', () => {
    const data = new Float32Array(24);
    expect(findNonFinite(data)).toBe(-1);
    const f = createField({ data, channels: ['z', 'u'], units: ['m2 s-2', 'm s-1'], grid });
    expect(() => assertFiniteField(f)).not.toThrow();
    data[19] = Infinity;
    data[21] = NaN;
    expect(findNonFinite(data)).toBe(19);
    // 19 = 1 * 12 + 1 * 4 + 3: channel u, row 1, column 3.
    expect(() => assertFiniteField(f)).toThrow(/channel 'u' holds Infinity at row 1, column 3/);
  });
});

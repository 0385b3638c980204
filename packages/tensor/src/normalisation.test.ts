import { describe, expect, it } from 'vitest';
import { denormalise, fitNormStats, normalise, parseNormStats } from './normalisation.js';

// Reference data: N=3, C=2, H=4, W=5 with x[n, c, h, w] = 10 c + (c + 1) sin(0.7 k + c), k the flat index.
// Expected statistics computed with numpy 2.4: x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3)) (population),
// and the same over x[:, :, mask] with mask 0 where (h W + w) % 4 == 1.
const [N, C, H, W] = [3, 2, 4, 5];
const x = {
  data: Float64Array.from({ length: N * C * H * W }, (_, k) => {
    const c = Math.floor(k / (H * W)) % C;
    return 10 * c + (c + 1) * Math.sin(0.7 * k + c);
  }),
  shape: [N, C, H, W],
};
const mask = Uint8Array.from({ length: H * W }, (_, k) => (k % 4 === 1 ? 0 : 1));

describe('fitNormStats', () => {
  it('matches the numpy mean and population std per channel', () => {
    const s = fitNormStats(x, { channels: ['a', 'b'] });
    expect(s.channels).toEqual(['a', 'b']);
    expect(s.mean[0]).toBeCloseTo(2.7284378735560285e-3, 14);
    expect(s.mean[1]).toBeCloseTo(10.03411557851978, 13);
    expect(s.std[0]).toBeCloseTo(0.6825712648710257, 14);
    expect(s.std[1]).toBeCloseTo(1.3973532481903155, 14);
  });

  it('uses only unmasked points when given a mask', () => {
    const s = fitNormStats(x, { mask });
    expect(s.mean[0]).toBeCloseTo(7.1289141434167404e-3, 14);
    expect(s.mean[1]).toBeCloseTo(10.022943832727625, 13);
    expect(s.std[0]).toBeCloseTo(0.7293058254023732, 14);
    expect(s.std[1]).toBeCloseTo(1.3462759542462839, 14);
  });

  it('keeps its digits for a large offset (two-pass): std of 1e6 + sin is the std of sin', () => {
    const shifted = { data: x.data.map((v) => v + 1e6), shape: x.shape };
    expect(fitNormStats(shifted).std[0]).toBeCloseTo(0.6825712648710257, 9);
  });

  it('gives a constant channel std 1, so that it is centred but not blown up', () => {
    const s = fitNormStats({ data: new Float32Array(2 * 3 * 4).fill(7), shape: [2, 3, 4] });
    expect(s.mean).toEqual([7, 7]);
    expect(s.std).toEqual([1, 1]);
  });

  it('rejects channel names that do not fit and a mask of the wrong size', () => {
    expect(() => fitNormStats(x, { channels: ['a'] })).toThrow(
      /1 channel names for data of shape \[3, 2, 4, 5\]/,
    );
    expect(() => fitNormStats(x, { mask: new Uint8Array(7) })).toThrow(/mask has length 7/);
  });
});

describe('normalise and denormalise', () => {
  it('give each channel mean 0 and std 1, and invert each other to rounding (float64)', () => {
    const s = fitNormStats(x);
    const z = normalise(x, s);
    const zs = fitNormStats(z);
    for (let c = 0; c < C; c++) {
      expect(zs.mean[c]).toBeCloseTo(0, 14);
      expect(zs.std[c]).toBeCloseTo(1, 14);
    }
    const back = denormalise(z, s);
    back.data.forEach((v, k) => expect(v).toBeCloseTo(x.data[k] ?? NaN, 12));
  });

  it('round-trip float32 data to float32 precision, in place when out is the input', () => {
    const x32 = { data: Float32Array.from(x.data), shape: x.shape };
    const s = fitNormStats(x32);
    const copy = Float32Array.from(x32.data);
    const z = normalise(x32, s, { out: x32.data });
    expect(z.data).toBe(x32.data);
    denormalise(z, s, { out: x32.data });
    // float32 has 24 bits: 10 * 2^-23 relative is a few ulp of values up to ~12.
    x32.data.forEach((v, k) => expect(Math.abs(v - (copy[k] ?? NaN))).toBeLessThan(12 * 10 * 2 ** -23));
  });

  it('survive a JSON round trip of the statistics', () => {
    const s = fitNormStats(x, { channels: ['a', 'b'] });
    const parsed = parseNormStats(JSON.parse(JSON.stringify(s)));
    expect(parsed).toEqual(s);
    expect(normalise(x, parsed).data).toEqual(normalise(x, s).data);
  });

  it('reject statistics for another channel count, naming the shape', () => {
    expect(() => normalise(x, { channels: [], mean: [0], std: [1] })).toThrow(
      /1 means and 1 stds but x has shape \[3, 2, 4, 5\]/,
    );
  });
});

describe('a per-cell mean (climatology)', () => {
  it('is the mean of every cell over the samples; mean and std are those fitted without it', () => {
    const plain = fitNormStats(x, { mask });
    const s = fitNormStats(x, { mask, perCellMean: true });
    expect(s.mean).toEqual(plain.mean);
    expect(s.std).toEqual(plain.std);
    expect(s.meanField).toHaveLength(C * H * W);
    for (const k of [0, 1, 7, C * H * W - 1]) {
      let sum = 0;
      for (let n = 0; n < N; n++) sum += x.data[n * C * H * W + k] ?? NaN;
      expect(s.meanField?.[k]).toBeCloseTo(sum / N, 14);
    }
    expect(fitNormStats(x).meanField).toBeUndefined();
  });

  it('centres each cell on its own mean, leaves differences as they are, and inverts exactly', () => {
    const plain = fitNormStats(x);
    const s = fitNormStats(x, { perCellMean: true });
    const z = normalise(x, s);
    const zPlain = normalise(x, plain);
    const size = C * H * W;
    // Each cell's normalised values average to 0 over the samples.
    for (let k = 0; k < size; k++) {
      let sum = 0;
      for (let n = 0; n < N; n++) sum += z.data[n * size + k] ?? NaN;
      expect(sum / N).toBeCloseTo(0, 13);
    }
    // Differences between samples (errors, increments) are the same as with the per-channel mean.
    for (let k = 0; k < size; k++) {
      const d = (z.data[size + k] ?? NaN) - (z.data[k] ?? NaN);
      expect(d).toBeCloseTo((zPlain.data[size + k] ?? NaN) - (zPlain.data[k] ?? NaN), 12);
    }
    denormalise(z, s).data.forEach((v, k) => expect(v).toBeCloseTo(x.data[k] ?? NaN, 12));
    // One sample [C, H, W] takes the same field.
    const one = { data: x.data.slice(0, size), shape: [C, H, W] };
    expect(Array.from(normalise(one, s).data)).toEqual(Array.from(z.data.slice(0, size)));
  });

  it('survives a JSON round trip, and a field of the wrong size is refused', () => {
    const s = fitNormStats(x, { channels: ['a', 'b'], perCellMean: true });
    const parsed = parseNormStats(JSON.parse(JSON.stringify(s)));
    expect(parsed).toEqual(s);
    expect(normalise(x, parsed).data).toEqual(normalise(x, s).data);
    expect(() => normalise(x, { ...s, meanField: [1, 2, 3, 4] })).toThrow(
      /mean field of 4 values but x has shape \[3, 2, 4, 5\] \(40 per sample\)/,
    );
    expect(() => parseNormStats({ mean: [0, 0], std: [1, 1], meanField: [1, 2, 3] })).toThrow(
      /meanField has 3 entries, not a whole number of 2-channel grids/,
    );
    expect(() => parseNormStats({ mean: [0], std: [1], meanField: [1, 'x'] })).toThrow(
      /meanField is not an array of finite numbers/,
    );
  });
});

describe('parseNormStats', () => {
  it('rejects malformed statistics with the reason', () => {
    expect(() => parseNormStats(null)).toThrow(/not an object/);
    expect(() => parseNormStats({ mean: [0, 'x'], std: [1, 1] })).toThrow(
      /mean is not an array of finite numbers/,
    );
    expect(() => parseNormStats({ mean: [0], std: [1, 1] })).toThrow(/mean has 1 entries but std has 2/);
    expect(() => parseNormStats({ mean: [0], std: [0] })).toThrow(/std has an entry <= 0/);
    expect(() => parseNormStats({ channels: ['a', 'b'], mean: [0], std: [1] })).toThrow(
      /2 channel names for 1 means/,
    );
    expect(parseNormStats({ mean: [0], std: [2] })).toEqual({ channels: [], mean: [0], std: [2] });
  });
});

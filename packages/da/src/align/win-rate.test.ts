import { describe, expect, it } from 'vitest';
import { createRng } from '@alignda/tensor';
import {
  assimReward,
  bradleyTerryWinRates,
  forecastReward,
  siblingErrors,
  winRateScales,
} from './win-rate.js';

const sig = (x: number): number => 1 / (1 + Math.exp(-x));
const errors = (rows: number[][]): { data: Float64Array; shape: number[] } => ({
  data: Float64Array.from(rows.flat()),
  shape: [rows.length, rows[0]?.length ?? 0],
});

describe('bradleyTerryWinRates', () => {
  it('gives 0.5 to each of N identical samples', () => {
    const r = bradleyTerryWinRates(
      errors([
        [2, 1],
        [2, 1],
        [2, 1],
        [2, 1],
      ]),
      [0.5, 3],
    );
    expect(Array.from(r)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('matches the sum written out for 3 samples and 2 variables', () => {
    // w = [[1, 2], [2, 2], [3, 0]], s = [1, 2]; r_n = 1/(M (N-1)) sum_m sum_{j != n} sig((w_j - w_n) / s_m), M (N-1) = 4.
    const r = bradleyTerryWinRates(
      errors([
        [1, 2],
        [2, 2],
        [3, 0],
      ]),
      [1, 2],
    );
    const r0 = (sig(1) + sig(2) + sig(0) + sig(-1)) / 4; // = (1.5 + sig(2)) / 4
    const r1 = (sig(-1) + sig(1) + sig(0) + sig(-1)) / 4;
    const r2 = (sig(-2) + sig(-1) + sig(1) + sig(1)) / 4;
    expect(r[0]).toBeCloseTo(r0, 15);
    expect(r[1]).toBeCloseTo(r1, 15);
    expect(r[2]).toBeCloseTo(r2, 15);
    // The same values as decimals (sig(1) = 0.7310585786300049, sig(2) = 0.8807970779778823).
    expect(r[0]).toBeCloseTo(0.5951992694944706, 14);
    expect(r[1]).toBeCloseTo(0.442235355342499, 14);
    expect(r[2]).toBeCloseTo(0.46256537516303065, 14);
  });

  it('sums to N / 2 over the siblings, stays in [0, 1], and ranks a sample best on every variable first (200 seeded tables)', () => {
    const rng = createRng(12);
    for (let trial = 0; trial < 200; trial++) {
      const N = 2 + rng.int(31);
      const M = 1 + rng.int(7);
      const w = rng.fillUniform(new Float64Array(N * M), 0, 5);
      const best = rng.int(N);
      for (let m = 0; m < M; m++) w[best * M + m] = -1; // lower than every other error
      const s = rng.fillUniform(new Float64Array(M), 0.05, 3);
      const r = bradleyTerryWinRates({ data: w, shape: [N, M] }, s);
      expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(N / 2, 10);
      for (const x of r) expect(x >= 0 && x <= 1).toBe(true);
      expect(Math.max(...r)).toBe(r[best]);
    }
  });

  it('refuses one sample, a scale count that is not M, a zero scale and a NaN error, naming them', () => {
    expect(() => bradleyTerryWinRates(errors([[1, 2]]), [1, 1])).toThrow(
      /at least two sibling samples, got 1/,
    );
    expect(() => bradleyTerryWinRates(errors([[1], [2]]), [1, 1])).toThrow(
      /2 scales for errors of shape \[2, 1\]/,
    );
    expect(() => bradleyTerryWinRates(errors([[1], [2]]), [0])).toThrow(
      /scales\[0\] = 0 must be finite and > 0/,
    );
    expect(() => bradleyTerryWinRates(errors([[1], [NaN]]), [1])).toThrow(
      /errors\[1\]\[0\] = NaN is not finite/,
    );
  });
});

describe('siblingErrors and assimReward', () => {
  // Two rows at latitudes 0 and 60 deg: WeatherBench weights cos(lat) / mean = 4/3 and 2/3.
  const latDeg = [0, 60];
  const truth = { data: new Float32Array([1, 1, 1, 1]), shape: [1, 2, 2] };
  // Sample 0: error 1 everywhere (RMSE 1). Sample 1: error 0 on the equator row, 3 on the 60 deg row:
  // RMSE = sqrt((2 (2/3) 9) / (2 (4/3) + 2 (2/3))) = sqrt(3).
  const samples = { data: new Float32Array([2, 2, 2, 2, 1, 1, 4, 4]), shape: [2, 1, 2, 2] };

  it('weights errors by latitude as WeatherBench does (hand-computed RMSE 1 and sqrt 3)', () => {
    const w = siblingErrors(samples, truth, latDeg);
    expect(w.shape).toEqual([2, 1]);
    expect(w.data[0]).toBeCloseTo(1, 12);
    expect(w.data[1]).toBeCloseTo(Math.sqrt(3), 6);
  });

  it('gives the two samples sigmoid(+-(sqrt 3 - 1) / s)', () => {
    const r = assimReward(samples, truth, latDeg, [0.5]);
    expect(r[0]).toBeCloseTo(sig((Math.sqrt(3) - 1) / 0.5), 6);
    expect(r[1]).toBeCloseTo(sig(-(Math.sqrt(3) - 1) / 0.5), 6);
    expect(forecastReward(samples, truth, latDeg, [0.5])).toEqual(r);
  });

  it('does not depend on the units of a variable when its scale comes from winRateScales on the same units', () => {
    const rng = createRng(3);
    const [N, C, H, W] = [5, 2, 4, 6];
    const truths = [0, 1, 2].map(() => rng.fillNormal(new Float32Array(C * H * W)));
    const sets = truths.map((t) =>
      Float32Array.from({ length: N * C * H * W }, (_, k) => (t[k % (C * H * W)] as number) + rng.normal()),
    );
    const lat = [-60, -20, 20, 60];
    const rescale = (x: Float32Array): Float32Array =>
      x.map((v, k) => (Math.floor(k / (H * W)) % C === 1 ? 1000 * v : v)); // channel 1 in other units
    const rates = (scaled: boolean): Float64Array => {
      const f = (x: Float32Array): Float32Array => (scaled ? rescale(x) : x);
      const e = sets.map((s, i) =>
        siblingErrors(
          { data: f(s), shape: [N, C, H, W] },
          { data: f(truths[i] as Float32Array), shape: [C, H, W] },
          lat,
        ),
      );
      return bradleyTerryWinRates(e[0] as { data: Float64Array; shape: number[] }, winRateScales(e));
    };
    const a = rates(false);
    const b = rates(true);
    for (let n = 0; n < N; n++) expect(b[n]).toBeCloseTo(a[n] as number, 5);
  });

  it('refuses a truth of another shape, one sample, and non-finite fields, naming the function', () => {
    expect(() => assimReward(samples, { data: new Float32Array(8), shape: [2, 2, 2] }, latDeg, [1])).toThrow(
      /assimReward: samples have shape \[2, 1, 2, 2\] but truth has shape \[2, 2, 2\]/,
    );
    expect(() => assimReward({ data: new Float32Array(4), shape: [1, 1, 2, 2] }, truth, latDeg, [1])).toThrow(
      /at least two sibling samples, got 1/,
    );
    const nan = { data: Float32Array.from([NaN, 2, 2, 2, 1, 1, 4, 4]), shape: [2, 1, 2, 2] };
    expect(() => siblingErrors(nan, truth, latDeg)).toThrow(/sample 0, channel 0: the RMSE is NaN/);
  });
});

describe('winRateScales', () => {
  it('is the median over conditions of the sibling spread of each variable', () => {
    // Variable 0: spreads 1 ([1, 3]), 2 ([0, 4]) and 0 ([5, 5]): median 1. Variable 1: 0.5, 1, 1.5: median 1.
    const s = winRateScales([
      errors([
        [1, 0],
        [3, 1],
      ]),
      errors([
        [0, 2],
        [4, 4],
      ]),
      errors([
        [5, 0],
        [5, 3],
      ]),
    ]);
    expect(Array.from(s)).toEqual([1, 1]);
  });

  it('refuses no conditions, a variable without spread, and conditions of different widths', () => {
    expect(() => winRateScales([])).toThrow(/no conditions/);
    expect(() =>
      winRateScales([
        errors([
          [1, 2],
          [1, 3],
        ]),
      ]),
    ).toThrow(/variable 0: the median sibling spread of its errors is 0/);
    expect(() =>
      winRateScales([
        errors([
          [1, 2],
          [2, 3],
        ]),
        errors([[1], [2]]),
      ]),
    ).toThrow(/errors\[1\] has 1 variables but errors\[0\] has 2/);
  });
});

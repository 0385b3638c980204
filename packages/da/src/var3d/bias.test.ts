import { describe, expect, it } from 'vitest';
import { createRng } from '@alignda/tensor';
import { estimateBackgroundError } from './background-error.js';
import { biasCorrect } from './bias.js';

const [S, C, H, W] = [12, 3, 4, 5];
const n = C * H * W;

/** Truths and zero-mean errors: samples come in pairs (e, -e), so the sample mean error is exactly 0. */
function synthetic(): { truth: Float64Array; error: Float64Array } {
  const rng = createRng(31);
  const truth = rng.fillNormal(new Float64Array(S * n));
  const error = new Float64Array(S * n);
  for (let s = 0; s < S; s += 2) {
    for (let p = 0; p < n; p++) {
      const e = rng.normal();
      error[s * n + p] = e;
      error[(s + 1) * n + p] = -e;
    }
  }
  return { truth, error };
}

const shape = [S, C, H, W];

describe('biasCorrect', () => {
  const { truth, error } = synthetic();
  const bias = [0.7, -1.3, 250]; // one constant per channel, e.g. a geopotential offset

  it('removes a constant bias added to the backgrounds exactly (to float precision), per channel and per latitude', () => {
    const biased = truth.map(
      (t, k) => t + (error[k] as number) + (bias[Math.floor(k / (H * W)) % C] as number),
    );
    for (const perLatitude of [false, true]) {
      const stats = estimateBackgroundError({ data: biased, shape }, { data: truth, shape }, { perLatitude });
      const corrected = biasCorrect(biased, stats);
      let worst = 0;
      for (let k = 0; k < S * n; k++)
        worst = Math.max(
          worst,
          Math.abs((corrected[k] as number) - (truth[k] as number) - (error[k] as number)),
        );
      expect(worst).toBeLessThan(1e-12);
      // One state at a time gives the same.
      expect(biasCorrect(biased.subarray(n, 2 * n), stats)).toEqual(corrected.subarray(n, 2 * n));
    }
  });

  it('leaves a set with zero bias unchanged (to float precision)', () => {
    const unbiased = truth.map((t, k) => t + (error[k] as number));
    const stats = estimateBackgroundError({ data: unbiased, shape }, { data: truth, shape });
    const corrected = biasCorrect(unbiased, stats);
    expect(corrected.every((v, k) => Math.abs(v - (unbiased[k] as number)) < 1e-14)).toBe(true);
  });

  it('rejects a background that is not a whole number of states and a non-finite bias', () => {
    const stats = estimateBackgroundError({ data: truth, shape }, { data: truth, shape });
    expect(() => biasCorrect(new Float64Array(n + 1), stats)).toThrow(
      /background has 61 values, not a multiple of the state \[3, 4, 5\] \(60\)/,
    );
    expect(() => biasCorrect(new Float64Array(n), { ...stats, bias: Float64Array.of(0, NaN, 0) })).toThrow(
      /bias\[1\] = NaN is not finite/,
    );
  });
});

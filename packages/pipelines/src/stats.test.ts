import { describe, expect, it } from 'vitest';

import { mean, pairedComparison, std } from './stats.js';

describe('mean and std', () => {
  it('give the textbook values and their empty-list conventions', () => {
    expect(mean([1, 2, 3, 6])).toBe(3);
    expect(std([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(mean([])).toBeNaN();
    expect(std([5])).toBe(0);
  });
});

describe('pairedComparison', () => {
  it('gives the ratio of means, an interval around it and the exact sign-flip p-value for small n', () => {
    // a is exactly half of b on every case: ratio 0.5 with a degenerate interval, and every one of the 2^6 sign
    // flips has |sum| <= the observed one only for the two all-same flips: p = 2 / 64.
    const b = [1, 2, 3, 4, 5, 6];
    const a = b.map((x) => x / 2);
    const r = pairedComparison(a, b);
    expect(r.ratio).toBe(0.5);
    expect(r.lo).toBeCloseTo(0.5, 12);
    expect(r.hi).toBeCloseTo(0.5, 12);
    expect(r.p).toBeCloseTo(2 / 64, 12);
    expect(r.wins).toBe(6);
  });

  it('finds no difference where there is none: p = 1 for equal scores, an interval containing 1 for noise', () => {
    const same = pairedComparison([1, 2, 3], [1, 2, 3]);
    expect(same.ratio).toBe(1);
    expect(same.p).toBe(1);
    // Symmetric noise around equal means (40 cases, random flips): the interval straddles 1 and p is large.
    const base = Array.from({ length: 40 }, (_, k) => 1 + (k % 7) / 10);
    const a = base.map((x, k) => x + (k % 2 === 0 ? 0.05 : -0.05));
    const r = pairedComparison(a, base);
    expect(r.lo).toBeLessThan(1);
    expect(r.hi).toBeGreaterThan(1);
    expect(r.p).toBeGreaterThan(0.5);
  });

  it('is seeded: the same scores give the same interval', () => {
    const a = [
      0.3, 0.5, 0.2, 0.9, 0.4, 0.6, 0.1, 0.8, 0.7, 0.35, 0.45, 0.55, 0.65, 0.25, 0.15, 0.95, 0.05, 0.85,
    ];
    const b = a.map((x, k) => x + 0.1 + (k % 3) * 0.05);
    expect(pairedComparison(a, b)).toEqual(pairedComparison(a, b));
    const r = pairedComparison(a, b);
    expect(r.hi).toBeLessThan(1); // a is lower on every case: the interval excludes 1
    expect(r.p).toBeLessThan(0.001);
  });

  it('rejects lists of different or zero length', () => {
    expect(() => pairedComparison([1], [1, 2])).toThrow(/1 and 2 scores/);
    expect(() => pairedComparison([], [])).toThrow(/need equal, > 0/);
  });
});

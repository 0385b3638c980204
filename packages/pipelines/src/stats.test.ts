import { AppError } from '@alignda/errors';
import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import {
  ensembleCrps,
  holm,
  mean,
  pairedComparison,
  pairedGain,
  rankHistogram,
  std,
  wilcoxonSignedRank,
} from './stats.js';

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

/** Two-sided exact signed-rank p by brute force over all 2^n sign patterns of the given (average) ranks. */
function bruteForceSignedRankP(ranks: readonly number[], wPlus: number): number {
  const n = ranks.length;
  let lower = 0;
  let upper = 0;
  for (let mask = 0; mask < 1 << n; mask++) {
    let w = 0;
    for (let k = 0; k < n; k++) if ((mask >> k) & 1) w += ranks[k] as number;
    if (w <= wPlus + 1e-9) lower++;
    if (w >= wPlus - 1e-9) upper++;
  }
  return Math.min(1, (2 * Math.min(lower, upper)) / 2 ** n);
}

describe('wilcoxonSignedRank', () => {
  it("gives R's exact V and p for the depression example of ?wilcox.test", () => {
    const x = [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3];
    const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
    const r = wilcoxonSignedRank(x.map((v, k) => v - (y[k] as number)));
    expect(r.statistic).toBe(40);
    expect(r.n).toBe(9);
    expect(r.p).toBeCloseTo(0.0390625, 12); // R: V = 40, p-value = 0.03906
    // The sign flipped gives W+ = 45 - 40 and the same two-sided p.
    const flipped = wilcoxonSignedRank(x.map((v, k) => (y[k] as number) - v));
    expect(flipped.statistic).toBe(5);
    expect(flipped.p).toBeCloseTo(0.0390625, 12);
  });

  it('drops zeros, gives p = 1 for a symmetric sample and for no non-zero difference, all signs alike 2 / 2^n', () => {
    const sym = wilcoxonSignedRank([-3, -2, -1, 0, 1, 2, 3]);
    expect(sym.n).toBe(6);
    expect(sym.statistic).toBe(10.5);
    expect(sym.p).toBe(1);
    expect(wilcoxonSignedRank([0, 0, 0])).toEqual({ statistic: 0, p: 1, n: 0 });
    expect(wilcoxonSignedRank([])).toEqual({ statistic: 0, p: 1, n: 0 });
    const allUp = wilcoxonSignedRank([0.3, 1.2, 0, 2.5, 0.7, 4, 0.1, 0.9, 1.6]);
    expect(allUp.n).toBe(8);
    expect(allUp.statistic).toBe(36);
    expect(allUp.p).toBeCloseTo(2 / 256, 14);
  });

  it('stays exact with ties (average ranks) against brute-force enumeration', () => {
    const d = [1, -1, 2, 2, -2, 3, 0.5, -0.5, 3, 4, 4, 4, -4, 5];
    // Average ranks of |d|: 0.5 x2 -> 1.5, 1 x2 -> 3.5, 2 x3 -> 6, 3 x2 -> 8.5, 4 x4 -> 11.5, 5 -> 14.
    const rankOf = new Map([
      [0.5, 1.5],
      [1, 3.5],
      [2, 6],
      [3, 8.5],
      [4, 11.5],
      [5, 14],
    ]);
    const ranks = d.map((v) => rankOf.get(Math.abs(v)) as number);
    const wPlus = d.reduce((s, v, k) => (v > 0 ? s + (ranks[k] as number) : s), 0);
    const r = wilcoxonSignedRank(d);
    expect(r.statistic).toBe(wPlus);
    expect(r.p).toBeCloseTo(bruteForceSignedRankP(ranks, wPlus), 14);
    expect(r.p).toBeGreaterThan(0);
    expect(r.p).toBeLessThan(1);
  });

  it('uses the normal approximation with tie and continuity corrections above 25 (scipy reference values)', () => {
    // scipy.stats.wilcoxon(d, correction=True, method='approx'), which uses the same corrections as R's.
    const ladder = Array.from({ length: 40 }, (_, k) => k + 1);
    expect(wilcoxonSignedRank(ladder).p).toBeCloseTo(3.708246916797885e-8, 18);
    const thirds = ladder.map((v, k) => (k % 3 === 0 ? -v : v));
    expect(wilcoxonSignedRank(thirds).statistic).toBe(533);
    expect(wilcoxonSignedRank(thirds).p).toBeCloseTo(0.09964873997927338, 12);
    const alternate = ladder.map((v, k) => (k % 2 === 0 ? -v : v));
    expect(wilcoxonSignedRank(alternate).p).toBeCloseTo(0.8983924645782683, 12);
    // Heavy ties and 4 zeros: 38 non-zero differences.
    const tied = Array.from({ length: 42 }, (_, k) => (((k * 7) % 11) - 3) * 0.5);
    const r = wilcoxonSignedRank(tied);
    expect(r.n).toBe(38);
    expect(r.statistic).toBe(601);
    expect(r.p).toBeCloseTo(0.0008172269234074244, 14);
  });

  it('agrees with the exact distribution near the switch, and shrinks p as the differences shift up', () => {
    // Distinct |d| = 1..n: the exact null counts of W+ by the textbook recursion over ranks 1..n.
    const exactP = (d: readonly number[]): number => {
      const n = d.length;
      let counts = [1];
      for (let r = 1; r <= n; r++)
        counts = Array.from({ length: counts.length + r }, (_, s) => (counts[s] ?? 0) + (counts[s - r] ?? 0));
      const w = d.reduce((s, v) => (v > 0 ? s + Math.abs(v) : s), 0);
      const lower = counts.slice(0, w + 1).reduce((a, b) => a + b, 0);
      const upper = counts.slice(w).reduce((a, b) => a + b, 0);
      return Math.min(1, (2 * Math.min(lower, upper)) / 2 ** n);
    };
    // Ranks 1..7 and every fifth negative: p about 0.085, 0.049 and 0.0047 at n = 25, 26 and 40.
    const pattern = (n: number): number[] =>
      Array.from({ length: n }, (_, k) => (k + 1 <= 7 || (k + 1) % 5 === 0 ? -(k + 1) : k + 1));
    expect(wilcoxonSignedRank(pattern(25)).p).toBeCloseTo(exactP(pattern(25)), 14); // exact branch
    for (const n of [26, 40]) {
      const exact = exactP(pattern(n));
      const approx = wilcoxonSignedRank(pattern(n)).p; // normal branch
      expect(exact).toBeGreaterThan(0.001);
      expect(Math.abs(approx - exact)).toBeLessThan(0.002);
    }
    const rng = createRng(7);
    const noise = Array.from({ length: 40 }, () => rng.normal());
    const p0 = wilcoxonSignedRank(noise).p;
    const p1 = wilcoxonSignedRank(noise.map((v) => v + 0.5)).p;
    const p2 = wilcoxonSignedRank(noise.map((v) => v + 1)).p;
    expect(p0).toBeGreaterThan(0);
    expect(p0).toBeLessThan(1);
    expect(p1).toBeLessThan(p0);
    expect(p2).toBeLessThan(p1);
  });

  it('throws AppError INVALID_ARGUMENT for a non-finite difference', () => {
    expect(() => wilcoxonSignedRank([1, Number.NaN])).toThrow(AppError);
    expect(() => wilcoxonSignedRank([1, Number.POSITIVE_INFINITY])).toThrow(/finite/);
  });
});

describe('holm', () => {
  it('gives the hand-computed step-down values in the input order', () => {
    // Sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> max(0.06, 0.04) = 0.06.
    const adj = holm([0.01, 0.04, 0.03, 0.005]);
    const expected = [0.03, 0.06, 0.06, 0.02];
    expect(adj).toHaveLength(4);
    adj.forEach((v, k) => expect(v).toBeCloseTo(expected[k] as number, 14));
  });

  it('caps at 1, keeps NaN out of m and in place, and passes a single p through', () => {
    const adj = holm([0.5, Number.NaN, 0.01, 0.3]);
    expect(adj[1]).toBeNaN();
    // m = 3: 0.01 x 3 = 0.03, 0.3 x 2 = 0.6, 0.5 x 1 -> max(0.6, 0.5) = 0.6.
    expect(adj[2]).toBeCloseTo(0.03, 14);
    expect(adj[3]).toBeCloseTo(0.6, 14);
    expect(adj[0]).toBeCloseTo(0.6, 14);
    expect(holm([0.4, 0.6, 0.9])).toEqual([1, 1, 1]);
    expect(holm([0.2])).toEqual([0.2]);
    expect(holm([])).toEqual([]);
  });
});

describe('pairedGain', () => {
  it('gives the relative gain, positive for the better model either way round', () => {
    const ref = [2, 4, 6, 8];
    const lower = pairedGain(ref, [1.5, 3, 4.5, 6]); // 25 % lower error
    expect(lower.gain).toBeCloseTo(0.25, 14);
    expect(lower.n).toBe(4);
    // Every case 25 % lower: the bootstrap interval is degenerate at the gain; p exact 2 / 2^4.
    expect(lower.ci95[0]).toBeCloseTo(0.25, 12);
    expect(lower.ci95[1]).toBeCloseTo(0.25, 12);
    expect(lower.p).toBeCloseTo(2 / 16, 14);
    const higher = pairedGain(ref, [2.2, 4.4, 6.6, 8.8], { higherIsBetter: true }); // 10 % higher skill
    expect(higher.gain).toBeCloseTo(0.1, 14);
    expect(pairedGain(ref, [2.2, 4.4, 6.6, 8.8]).gain).toBeCloseTo(-0.1, 14);
  });

  it('is seeded, and its interval covers the true gain at about the nominal rate', () => {
    const rng = createRng(31);
    const draw = (n: number): { ref: number[]; model: number[] } => {
      const ref = Array.from({ length: n }, () => 2 + 0.5 * rng.normal());
      // E[model] = 0.8 E[ref]: true gain 0.2.
      const model = ref.map((r) => 0.8 * r + 0.2 * rng.normal());
      return { ref, model };
    };
    const one = draw(30);
    expect(pairedGain(one.ref, one.model, { seed: 3 })).toEqual(pairedGain(one.ref, one.model, { seed: 3 }));
    let covered = 0;
    const reps = 300;
    for (let r = 0; r < reps; r++) {
      const { ref, model } = draw(30);
      const g = pairedGain(ref, model, { resamples: 1000, seed: r });
      expect(g.ci95[0]).toBeLessThanOrEqual(g.gain);
      expect(g.ci95[1]).toBeGreaterThanOrEqual(g.gain);
      if (g.ci95[0] <= 0.2 && 0.2 <= g.ci95[1]) covered++;
    }
    expect(covered / reps).toBeGreaterThan(0.88);
    expect(covered / reps).toBeLessThan(0.99);
  });

  it('throws AppError INVALID_ARGUMENT for different or zero lengths and non-finite scores', () => {
    const codeOf = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof AppError ? e.code : 'not an AppError';
      }
      return undefined;
    };
    expect(codeOf(() => pairedGain([1, 2], [1]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => pairedGain([], []))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => pairedGain([1, Number.NaN], [1, 2]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => pairedGain([1, 2], [1, Number.POSITIVE_INFINITY]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => pairedGain([1, -1], [1, 2]))).toBe('INVALID_ARGUMENT'); // reference mean 0
  });
});

/** The O(M^2) textbook form of the standard ensemble CRPS at one point. */
function naiveCrps(xs: readonly number[], y: number): number {
  const M = xs.length;
  let absErr = 0;
  let pairs = 0;
  for (const a of xs) {
    absErr += Math.abs(a - y);
    for (const b of xs) pairs += Math.abs(a - b);
  }
  return absErr / M - pairs / (2 * M * M);
}

describe('ensembleCrps', () => {
  it('is the MAE for one member', () => {
    const members = Float32Array.from([1, -2, 3.5, 0]);
    const truth = Float32Array.from([0, 0, 1, 4]);
    expect(ensembleCrps(members, truth)).toBeCloseTo((1 + 2 + 2.5 + 4) / 4, 6);
  });

  it('gives the closed form for {-1, 1} against 0, and averages over the valid values only', () => {
    // mean |x - y| = 1, pair sum over ordered pairs = 4: 1 - 4 / 8 = 0.5.
    expect(ensembleCrps(Float32Array.from([-1, 1]), Float32Array.from([0]))).toBeCloseTo(0.5, 12);
    // Two points, [M = 2, size = 2]: point 0 as above (0.5); point 1 members {3, 3}, truth 1: 2 - 0 = 2.
    const members = Float32Array.from([-1, 3, 1, 3]);
    const truth = Float32Array.from([0, 1]);
    expect(ensembleCrps(members, truth)).toBeCloseTo(1.25, 12);
    expect(ensembleCrps(members, truth, Uint8Array.from([1, 0]))).toBeCloseTo(0.5, 12);
    expect(ensembleCrps(members, truth, Uint8Array.from([0, 1]))).toBeCloseTo(2, 12);
    expect(ensembleCrps(members, truth, Uint8Array.from([0, 0]))).toBeNaN();
  });

  it('matches the O(M^2) formula on random data', () => {
    const rng = createRng(5);
    for (const M of [2, 3, 10, 51]) {
      const size = 37;
      const members = rng.fillNormal(new Float32Array(M * size), 1, 2);
      const truth = rng.fillNormal(new Float32Array(size));
      const mask = Uint8Array.from({ length: size }, (_, j) => (j % 4 === 3 ? 0 : 1));
      let sum = 0;
      let count = 0;
      for (let j = 0; j < size; j++) {
        if (mask[j] === 0) continue;
        const xs = Array.from({ length: M }, (_, m) => members[m * size + j] as number);
        sum += naiveCrps(xs, truth[j] as number);
        count++;
      }
      const expected = sum / count;
      expect(Math.abs(ensembleCrps(members, truth, mask) - expected)).toBeLessThan(1e-6 * Math.abs(expected));
    }
  });

  it('throws AppError INVALID_ARGUMENT unless members.length is a positive multiple of truth.length', () => {
    expect(() => ensembleCrps(new Float32Array(5), new Float32Array(2))).toThrow(AppError);
    expect(() => ensembleCrps(new Float32Array(0), new Float32Array(2))).toThrow(/positive multiple/);
    expect(() => ensembleCrps(new Float32Array(4), new Float32Array(0))).toThrow(/positive multiple/);
    expect(() => ensembleCrps(new Float32Array(4), new Float32Array(2), new Uint8Array(3))).toThrow(/mask/);
  });
});

describe('rankHistogram', () => {
  it('puts a truth above all members in the last bin and below all in the first', () => {
    const M = 4;
    const size = 3;
    const members = Float32Array.from({ length: M * size }, (_, i) => i % 7);
    expect(rankHistogram(members, Float32Array.from([100, 100, 100]))).toEqual([0, 0, 0, 0, 3]);
    expect(rankHistogram(members, Float32Array.from([-1, -1, 100]))).toEqual([2, 0, 0, 0, 1]);
    expect(rankHistogram(members, Float32Array.from([-1, -1, 100]), Uint8Array.from([0, 1, 1]))).toEqual([
      1, 0, 0, 0, 1,
    ]);
  });

  it('is about flat for exchangeable draws, with counts summing to the valid points', () => {
    const rng = createRng(11);
    const M = 9;
    const size = 20000;
    const members = rng.fillNormal(new Float32Array(M * size));
    const truth = rng.fillNormal(new Float32Array(size));
    const mask = Uint8Array.from({ length: size }, (_, j) => (j % 10 === 0 ? 0 : 1));
    const counts = rankHistogram(members, truth, mask);
    expect(counts).toHaveLength(M + 1);
    const valid = size - size / 10;
    expect(counts.reduce((a, b) => a + b, 0)).toBe(valid);
    // Chi-square with 9 degrees of freedom: its 99.9 % point is 27.9.
    const e = valid / (M + 1);
    const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
    expect(chi2).toBeLessThan(27.9);
  });

  it('breaks ties with the truth uniformly among the tied positions, seeded', () => {
    // Three members equal to the truth and one below at every point: ranks 1..4 equally likely, never 0.
    const size = 8000;
    const members = new Float32Array(4 * size).fill(1);
    members.fill(0, 0, size); // member 0 below
    const truth = new Float32Array(size).fill(1);
    const counts = rankHistogram(members, truth, undefined, 99);
    expect(counts[0]).toBe(0);
    for (const c of counts.slice(1)) expect(Math.abs(c - size / 4)).toBeLessThan(200); // sd ~ 39
    expect(rankHistogram(members, truth, undefined, 99)).toEqual(counts);
    expect(rankHistogram(members, truth, undefined, 100)).not.toEqual(counts);
  });
});

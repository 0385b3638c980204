import { describe, expect, it } from 'vitest';
import { splitMix64, xoroshiroStateFromSeed } from './internal/split-mix64.js';
import { createRng } from './rng.js';

// Reference values come from an independent Python implementation (big-integer arithmetic, written from
// Blackman & Vigna's 64-bit xoroshiro128+ (a=24, b=16, c=37) and SplitMix64 C code, taking the low 32 bits
// of each output as pure-rand does, and pure-rand's uniformFloat64: (x1 & (2^26-1)) 2^-26 + (x2 & (2^27-1)) 2^-53).
describe('createRng', () => {
  it('expands the seed with SplitMix64, whose published first outputs from state 0 it reproduces', () => {
    // https://prng.di.unimi.it/splitmix64.c from state 0: e220a8397b1dcdaf, 6e789e6aa1b965f4, 06c45d188009454f.
    let s = 0n;
    const out: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      const r = splitMix64(s);
      s = r.state;
      out.push(r.output);
    }
    expect(out).toEqual([0xe220a8397b1dcdafn, 0x6e789e6aa1b965f4n, 0x06c45d188009454fn]);
    expect(xoroshiroStateFromSeed(0)).toEqual([
      0xe220a839 | 0,
      0x7b1dcdaf | 0,
      0x6e789e6a | 0,
      0xa1b965f4 | 0,
    ]);
  });

  it('draws the uniforms of the reference implementation for seeds 42 and -1, bit for bit', () => {
    const table: Record<number, number[]> = {
      42: [
        0.5804427987926414, 0.23833165799408884, 0.016105725146773886, 0.08324562809978353,
        0.7534709725634362,
      ],
      [-1]: [
        0.8395344306452923, 0.5881749469919904, 0.42228500032897887, 0.5112852246486747, 0.7894188261343834,
      ],
    };
    for (const [seed, want] of Object.entries(table)) {
      const rng = createRng(Number(seed));
      expect(want.map(() => rng.uniform())).toEqual(want);
    }
  });

  it('draws the Box-Muller normals of the reference implementation for seed 42 (to 1e-14: libm may differ in the last bit)', () => {
    const want = [0.09654141400560018, 1.3144544757292458, 0.15611130869953366, 0.09001623859440061];
    const rng = createRng(42);
    for (const w of want) expect(rng.normal()).toBeCloseTo(w, 14);
  });

  it('repeats its sequence for the same seed and differs for another', () => {
    const a = createRng(123).fillNormal(new Float64Array(100));
    const b = createRng(123).fillNormal(new Float64Array(100));
    const c = createRng(124).fillNormal(new Float64Array(100));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('has normal draws with mean 0 and variance 1 within 5 standard errors over 1e5 draws', () => {
    const n = 100_000;
    const x = createRng(2024).fillNormal(new Float64Array(n));
    let m = 0;
    for (const v of x) m += v / n;
    let v2 = 0;
    for (const v of x) v2 += (v - m) ** 2 / (n - 1);
    // Standard error of the mean 1/sqrt(n) = 0.0032; of the variance sqrt(2/n) = 0.0045.
    expect(Math.abs(m)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(v2 - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });

  it('has uniform draws in [0, 1) with mean 1/2 and variance 1/12 within 5 standard errors', () => {
    const n = 100_000;
    const x = createRng(99).fillUniform(new Float64Array(n));
    let m = 0;
    let lo = 1;
    let hi = 0;
    for (const v of x) {
      m += v / n;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    let v2 = 0;
    for (const v of x) v2 += (v - m) ** 2 / (n - 1);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    // sd of U(0,1) is 0.2887; the sd of its sample variance is sqrt((1/80 - 1/144) / n) = 2.4e-4.
    expect(Math.abs(m - 0.5)).toBeLessThan((5 * 0.2887) / Math.sqrt(n));
    expect(Math.abs(v2 - 1 / 12)).toBeLessThan(5 * Math.sqrt((1 / 80 - 1 / 144) / n));
  });

  it('fills with the requested mean and standard deviation', () => {
    const x = createRng(5).fillNormal(new Float32Array(50_000), 10, 3);
    let m = 0;
    for (const v of x) m += v / x.length;
    expect(Math.abs(m - 10)).toBeLessThan((5 * 3) / Math.sqrt(x.length));
  });

  it('gives forks that are deterministic, differ from each other and the parent, and are uncorrelated', () => {
    const n = 20_000;
    const parent = createRng(7);
    const f1 = parent.fork();
    const f2 = parent.fork();
    const a = f1.fillNormal(new Float64Array(n));
    const b = f2.fillNormal(new Float64Array(n));
    const p = parent.fillNormal(new Float64Array(n));
    const again = createRng(7);
    // Byte comparison: vitest's deep equality over 2e4 elements is slow.
    const bytes = (x: Float64Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    expect(bytes(again.fork().fillNormal(new Float64Array(n))).equals(bytes(a))).toBe(true);
    expect(bytes(again.fork().fillNormal(new Float64Array(n))).equals(bytes(b))).toBe(true);
    // For independent N(0,1) streams the sample correlation has sd 1/sqrt(n) = 0.007.
    const corr = (x: Float64Array, y: Float64Array): number => {
      let s = 0;
      for (let i = 0; i < n; i++) s += (x[i] as number) * (y[i] as number);
      return s / n;
    };
    for (const [x, y] of [
      [a, b],
      [a, p],
      [b, p],
    ] as const) {
      expect(Math.abs(corr(x, y))).toBeLessThan(5 / Math.sqrt(n));
    }
    // Lagged overlap would show as identical runs: no value of one stream appears in the other.
    const seen = new Set(a);
    expect(Array.from(b).some((v) => seen.has(v))).toBe(false);
  });

  it('draws integers in [0, n) that cover the range and rejects a non-positive n', () => {
    const rng = createRng(1);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 6000; i++) {
      const k = rng.int(6);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect(counts.length).toBe(6);
    // Each count ~ Binomial(6000, 1/6): mean 1000, sd 28.9.
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(5 * 28.9);
    expect(() => rng.int(0)).toThrow(/positive integer/);
    expect(() => createRng(Number.NaN)).toThrow(/finite/);
  });
});

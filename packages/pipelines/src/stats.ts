import { AppError } from '@alignda/errors';
import { createRng } from '@alignda/tensor';

/** Small summary statistics shared by the use cases and their reports. */

/** Arithmetic mean (NaN for an empty list). */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1; 0 for fewer than two values). */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** A paired comparison of two methods over the same cases. */
export interface PairedComparison {
  /** mean(a) / mean(b). */
  readonly ratio: number;
  /** 95 % percentile bootstrap interval of the ratio (cases resampled with replacement, pairs kept together). */
  readonly lo: number;
  readonly hi: number;
  /**
   * Two-sided p-value of "no difference" from a paired sign-flip permutation test on a - b (exact for up to 16
   * cases, else 20,000 random flips).
   */
  readonly p: number;
  /** Cases where a < b. */
  readonly wins: number;
  readonly n: number;
}

/**
 * Compares per-case scores `a` and `b` of two methods (lower is better) on the same cases: the ratio of their means
 * with a paired bootstrap interval and a paired permutation p-value. Seeded, so the same scores give the same
 * interval.
 * @throws AppError `INVALID_ARGUMENT` for lists of different or zero length
 */
export function pairedComparison(
  a: readonly number[],
  b: readonly number[],
  options: { readonly resamples?: number; readonly seed?: number } = {},
): PairedComparison {
  const n = a.length;
  if (n === 0 || b.length !== n)
    throw new AppError(
      'INVALID_ARGUMENT',
      `pairedComparison: ${a.length} and ${b.length} scores (need equal, > 0)`,
    );
  const rng = createRng(options.seed ?? 12345);
  const B = options.resamples ?? 4000;
  const ratios = new Float64Array(B);
  for (let r = 0; r < B; r++) {
    let sa = 0;
    let sb = 0;
    for (let k = 0; k < n; k++) {
      const j = rng.int(n);
      sa += a[j] as number;
      sb += b[j] as number;
    }
    ratios[r] = sa / sb;
  }
  ratios.sort();
  const d = a.map((x, k) => x - (b[k] as number));
  const observed = Math.abs(d.reduce((s, v) => s + v, 0));
  let extreme = 0;
  let trials = 0;
  if (n <= 16) {
    for (let mask = 0; mask < 1 << n; mask++, trials++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (mask >> k) & 1 ? -(d[k] as number) : (d[k] as number);
      if (Math.abs(s) >= observed - 1e-12 * Math.abs(observed)) extreme++;
    }
  } else {
    for (; trials < 20000; trials++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += rng.uniform() < 0.5 ? -(d[k] as number) : (d[k] as number);
      if (Math.abs(s) >= observed - 1e-12 * Math.abs(observed)) extreme++;
    }
  }
  return {
    ratio: mean(a) / mean(b),
    lo: ratios[Math.floor(0.025 * (B - 1))] as number,
    hi: ratios[Math.ceil(0.975 * (B - 1))] as number,
    p: extreme / trials,
    wins: d.filter((v) => v < 0).length,
    n,
  };
}

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

/** A two-sided Wilcoxon signed-rank test of per-case differences against 0. */
export interface WilcoxonResult {
  /** W+: the sum of the (average) ranks of |d| over the positive differences. */
  readonly statistic: number;
  /** Two-sided p-value (capped at 1; 1 when no difference is non-zero). */
  readonly p: number;
  /** Non-zero differences, the ones ranked. */
  readonly n: number;
}

/** Cases up to which {@link wilcoxonSignedRank} enumerates the null distribution exactly. */
const WILCOXON_EXACT_MAX_N = 25;

/**
 * Two-sided Wilcoxon signed-rank test of the differences `d` against 0. Zeros are dropped (Wilcoxon's convention)
 * and tied |d| share their average rank. For up to 25 non-zero differences the p-value is exact: the null
 * distribution of W+ is enumerated over doubled ranks (integers even with ties), so ties keep it exact. Beyond that
 * it is the normal approximation with the tie correction of the variance and a continuity correction of ½.
 * @throws AppError `INVALID_ARGUMENT` for a non-finite difference
 */
export function wilcoxonSignedRank(d: readonly number[]): WilcoxonResult {
  if (!d.every(Number.isFinite))
    throw new AppError('INVALID_ARGUMENT', 'wilcoxonSignedRank: differences must be finite');
  const nz = d.filter((v) => v !== 0);
  const n = nz.length;
  if (n === 0) return { statistic: 0, p: 1, n: 0 };
  const order = nz.map((_, k) => k).sort((i, j) => Math.abs(nz[i] as number) - Math.abs(nz[j] as number));
  // Doubled ranks: a tie group over 1-based positions a..b has average rank (a + b) / 2, doubled a + b.
  const rank2 = new Array<number>(n).fill(0);
  let tieTerm = 0; // sum over tie groups of t^3 - t
  for (let a = 0; a < n;) {
    const v = Math.abs(nz[order[a] as number] as number);
    let b = a;
    while (b + 1 < n && Math.abs(nz[order[b + 1] as number] as number) === v) b++;
    for (let k = a; k <= b; k++) rank2[order[k] as number] = a + 1 + (b + 1);
    const t = b - a + 1;
    tieTerm += t * t * t - t;
    a = b + 1;
  }
  let w2 = 0;
  for (let k = 0; k < n; k++) if ((nz[k] as number) > 0) w2 += rank2[k] as number;
  const statistic = w2 / 2;
  let p: number;
  if (n <= WILCOXON_EXACT_MAX_N) {
    // counts[s]: sign patterns with doubled W+ = s. At most 2^25, so exact in doubles.
    const total2 = n * (n + 1);
    const counts = new Float64Array(total2 + 1);
    counts[0] = 1;
    let reach = 0;
    for (const r of rank2) {
      for (let s = reach; s >= 0; s--) counts[s + r] = (counts[s + r] as number) + (counts[s] as number);
      reach += r;
    }
    let lower = 0;
    let upper = 0;
    for (let s = 0; s <= total2; s++) {
      if (s <= w2) lower += counts[s] as number;
      if (s >= w2) upper += counts[s] as number;
    }
    p = (2 * Math.min(lower, upper)) / 2 ** n;
  } else {
    const mu = (n * (n + 1)) / 4;
    const sigma = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48);
    const z = Math.max(0, Math.abs(statistic - mu) - 0.5) / sigma;
    p = erfc(z / Math.SQRT2); // 2 Φ(-z)
  }
  return { statistic, p: Math.min(1, p), n };
}

/**
 * Complementary error function for x >= 0, to about 1e-14 relative: the all-positive Taylor series of erf below
 * 2.5, else the continued fraction erfc x = e^(-x²) / √π · 1 / (x + ½ / (x + 1 / (x + 3/2 / (x + …)))).
 */
function erfc(x: number): number {
  if (x < 2.5) {
    // erf x = 2/√π e^(-x²) Σ_k 2^k x^(2k+1) / (1·3·…·(2k+1))
    let term = x;
    let sum = x;
    for (let k = 1; k < 200 && term > 1e-17 * sum; k++) {
      term *= (2 * x * x) / (2 * k + 1);
      sum += term;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
  }
  let t = x;
  for (let k = 80; k >= 1; k--) t = x + k / 2 / t;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * t);
}

/**
 * Holm's step-down adjustment of p-values for multiple comparisons: the k-th smallest of m is multiplied by
 * m - k + 1, made monotone non-decreasing in that order and capped at 1. Returned in the input order; NaN stays NaN
 * and does not count towards m.
 */
export function holm(ps: readonly number[]): number[] {
  const out = ps.map(() => Number.NaN);
  const order = ps
    .map((_, k) => k)
    .filter((k) => !Number.isNaN(ps[k]))
    .sort((i, j) => (ps[i] as number) - (ps[j] as number));
  const m = order.length;
  let running = 0;
  order.forEach((k, j) => {
    running = Math.max(running, Math.min(1, (m - j) * (ps[k] as number)));
    out[k] = running;
  });
  return out;
}

/** The relative gain of a model over a reference scored on the same cases. */
export interface PairedGain {
  /** Relative gain of the model's mean score over the reference's; positive = the model is better. */
  readonly gain: number;
  /** 95 % paired percentile bootstrap interval of the gain (cases resampled with replacement, pairs kept). */
  readonly ci95: [number, number];
  /** Two-sided Wilcoxon signed-rank p-value of the per-case differences. */
  readonly p: number;
  /** Cases. */
  readonly n: number;
}

/**
 * The relative gain of `model` over `ref` on the same cases: (mean(ref) - mean(model)) / mean(ref) for a
 * lower-is-better score, (mean(model) - mean(ref)) / mean(ref) with `higherIsBetter`, so positive is better either
 * way. With a seeded paired bootstrap interval (default 4000 resamples) and the Wilcoxon signed-rank p-value.
 * @throws AppError `INVALID_ARGUMENT` for lists of different or zero length, non-finite scores or a reference mean
 *   of 0
 */
export function pairedGain(
  ref: readonly number[],
  model: readonly number[],
  options: { readonly resamples?: number; readonly seed?: number; readonly higherIsBetter?: boolean } = {},
): PairedGain {
  const n = ref.length;
  if (n === 0 || model.length !== n)
    throw new AppError(
      'INVALID_ARGUMENT',
      `pairedGain: ${ref.length} and ${model.length} scores (need equal, > 0)`,
    );
  if (!ref.every(Number.isFinite) || !model.every(Number.isFinite))
    throw new AppError('INVALID_ARGUMENT', 'pairedGain: scores must be finite');
  const sign = options.higherIsBetter === true ? 1 : -1;
  const gainOf = (sr: number, sm: number): number => (sign * (sm - sr)) / sr;
  const sr0 = ref.reduce((a, b) => a + b, 0);
  const sm0 = model.reduce((a, b) => a + b, 0);
  if (sr0 === 0) throw new AppError('INVALID_ARGUMENT', 'pairedGain: the reference mean is 0');
  const rng = createRng(options.seed ?? 12345);
  const B = options.resamples ?? 4000;
  if (!Number.isInteger(B) || B < 1)
    throw new AppError('INVALID_ARGUMENT', `pairedGain: resamples must be a positive integer, got ${B}`);
  const gains = new Float64Array(B);
  for (let r = 0; r < B; r++) {
    let sr = 0;
    let sm = 0;
    for (let k = 0; k < n; k++) {
      const j = rng.int(n);
      sr += ref[j] as number;
      sm += model[j] as number;
    }
    gains[r] = gainOf(sr, sm);
  }
  gains.sort();
  return {
    gain: gainOf(sr0, sm0),
    ci95: [gains[Math.floor(0.025 * (B - 1))] as number, gains[Math.ceil(0.975 * (B - 1))] as number],
    p: wilcoxonSignedRank(model.map((x, k) => x - (ref[k] as number))).p,
    n,
  };
}

/** Checks the [M, size] ensemble layout against the truth and mask; returns M. */
function ensembleSize(
  fn: string,
  members: Float32Array,
  truth: Float32Array,
  mask: Uint8Array | undefined,
): number {
  const size = truth.length;
  if (size === 0 || members.length === 0 || members.length % size !== 0)
    throw new AppError(
      'INVALID_ARGUMENT',
      `${fn}: ${members.length} member values are not a positive multiple of ${size} truth values`,
    );
  if (mask !== undefined && mask.length !== size)
    throw new AppError('INVALID_ARGUMENT', `${fn}: mask has ${mask.length} values, truth ${size}`);
  return members.length / size;
}

/**
 * Mean over the valid grid values of the ensemble CRPS, with the standard (not fair) estimator
 * CRPS = mean_m |x_m - y| - 1 / (2 M²) Σ_{m,m'} |x_m - x_m'|, the pair sum taken in O(M log M) from the sorted
 * members as 2 Σ_i (2i - M + 1) x_(i) (0-based). NaN when no value is valid.
 * @param members - M members laid out [M, size], size = truth.length
 * @param mask - 1 = valid (default all)
 * @throws AppError `INVALID_ARGUMENT` when members.length is not a positive multiple of truth.length, or the mask
 *   length differs from the truth's
 */
export function ensembleCrps(members: Float32Array, truth: Float32Array, mask?: Uint8Array): number {
  const M = ensembleSize('ensembleCrps', members, truth, mask);
  const size = truth.length;
  const x = new Float64Array(M);
  let total = 0;
  let count = 0;
  for (let j = 0; j < size; j++) {
    if (mask !== undefined && mask[j] === 0) continue;
    const y = truth[j] as number;
    let absErr = 0;
    for (let m = 0; m < M; m++) {
      const v = members[m * size + j] as number;
      x[m] = v;
      absErr += Math.abs(v - y);
    }
    x.sort();
    let pairs = 0;
    for (let i = 0; i < M; i++) pairs += (2 * i - M + 1) * (x[i] as number);
    total += absErr / M - (2 * pairs) / (2 * M * M);
    count++;
  }
  return count === 0 ? Number.NaN : total / count;
}

/**
 * Rank histogram (Talagrand diagram): counts, over the valid grid values, of the truth's rank among the M members
 * (bin k: k members below the truth; M + 1 bins). Ties between the truth and members are broken uniformly at
 * random among the tied positions with a seeded generator, so the same input gives the same counts.
 * @param members - M members laid out [M, size], size = truth.length
 * @param mask - 1 = valid (default all)
 * @param seed - seed of the tie-breaking generator
 * @throws AppError `INVALID_ARGUMENT` when members.length is not a positive multiple of truth.length, or the mask
 *   length differs from the truth's
 */
export function rankHistogram(
  members: Float32Array,
  truth: Float32Array,
  mask?: Uint8Array,
  seed = 20240601,
): number[] {
  const M = ensembleSize('rankHistogram', members, truth, mask);
  const size = truth.length;
  const rng = createRng(seed);
  const counts = new Array<number>(M + 1).fill(0);
  for (let j = 0; j < size; j++) {
    if (mask !== undefined && mask[j] === 0) continue;
    const y = truth[j] as number;
    let below = 0;
    let ties = 0;
    for (let m = 0; m < M; m++) {
      const v = members[m * size + j] as number;
      if (v < y) below++;
      else if (v === y) ties++;
    }
    const rank = ties === 0 ? below : below + rng.int(ties + 1);
    counts[rank] = (counts[rank] as number) + 1;
  }
  return counts;
}

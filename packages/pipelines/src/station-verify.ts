/**
 * Independent verification against station observations: analyses (physical units) are interpolated bilinearly to
 * the stations of the CSV and averaged over the four 6-hourly analyses of each UTC day, then compared with the
 * stations' daily mean temperatures (the CSV holds daily means only). Never assimilated, so a fair check. Two methods
 * are compared pair by pair on the station-days both have ({@link StationVerifier.compare}): an RMSE ratio and a bias
 * difference, each with a paired bootstrap interval over station-days.
 */
import { AppError } from '@alignda/errors';
import { createRng } from '@alignda/tensor';
import type { Field, Grid } from '@alignda/tensor';
import { KNOWN_STATIONS, bilinearOperator } from '@alignda/world';
import type { StationFile } from '@alignda/world';

import { mean, pairedComparison } from './stats.js';

/** Agreement of one method's daily means with the stations. */
export interface StationScore {
  /** Station-days compared. */
  readonly count: number;
  /** Mean of (analysis - station), K. */
  readonly bias: number;
  /** Standard deviation of (analysis - station) about the bias, K. */
  readonly scatter: number;
  /** Root mean square of (analysis - station), K. */
  readonly rmse: number;
}

/** One station-day's error: the daily mean of the analyses minus the station's daily mean, K. */
export interface StationDayError {
  /** Station id, e.g. `SEA`. */
  readonly station: string;
  /** `YYYY-MM-DD` (the UTC day of the analyses, the station file's date). */
  readonly date: string;
  readonly error: number;
}

/**
 * Two methods compared at the stations on the station-days both have (pairs kept together): A's and B's scores
 * there, the ratio of their RMSEs with a paired bootstrap interval and a paired permutation p-value (of the squared
 * errors, {@link pairedComparison}), and the difference of their biases with a paired bootstrap interval.
 */
export interface StationComparison {
  readonly a: string;
  readonly b: string;
  /** Station-days both methods have. */
  readonly count: number;
  readonly scoreA: StationScore;
  readonly scoreB: StationScore;
  /** RMSE(A) / RMSE(B) and its 95 % interval (the square roots of the MSE ratio's), resampling station-days. */
  readonly rmseRatio: number;
  readonly rmseLo: number;
  readonly rmseHi: number;
  /** Two-sided p-value of "no difference" in mean squared error (paired sign-flip permutation). */
  readonly p: number;
  /** Station-days where A's error is smaller in magnitude than B's. */
  readonly wins: number;
  /** bias(A) - bias(B), K, = the mean of A's minus B's daily means, and its 95 % paired bootstrap interval. */
  readonly biasDiff: number;
  readonly biasLo: number;
  readonly biasHi: number;
}

/** Collects analyses by method and day; {@link StationVerifier.scores} compares complete days. */
export interface StationVerifier {
  /** Adds an analysis valid at `time` (ISO, hour precision or finer). */
  add(method: string, time: string, field: Field): void;
  /** Scores per method over the days that had all four analyses and a station value. */
  scores(): Record<string, StationScore>;
  /** A method's station-day errors (complete days with a station value), by date then station. */
  errors(method: string): StationDayError[];
  /**
   * Method `a` against method `b` on their common station-days.
   * @throws AppError `INVALID_ARGUMENT` when they share no station-day
   */
  compare(
    a: string,
    b: string,
    options?: { readonly resamples?: number; readonly seed?: number },
  ): StationComparison;
  /** Station names used. */
  readonly stations: readonly string[];
}

/** Bias, scatter about it and RMSE of a list of errors. */
function scoreOf(diffs: readonly number[]): StationScore {
  const bias = mean(diffs);
  return {
    count: diffs.length,
    bias,
    scatter: Math.sqrt(mean(diffs.map((d) => (d - bias) ** 2))),
    rmse: Math.sqrt(mean(diffs.map((d) => d * d))),
  };
}

/**
 * Compares two methods' errors on the same station-days (`ea[k]` and `eb[k]` belong to one station-day); see
 * {@link StationComparison}. Seeded: the same errors give the same intervals.
 * @throws AppError `INVALID_ARGUMENT` for lists of different or zero length
 */
export function compareStationErrors(
  a: string,
  b: string,
  ea: readonly number[],
  eb: readonly number[],
  options: { readonly resamples?: number; readonly seed?: number } = {},
): StationComparison {
  const n = ea.length;
  if (n === 0 || eb.length !== n)
    throw new AppError(
      'INVALID_ARGUMENT',
      `compareStationErrors: ${ea.length} and ${eb.length} station-day errors of ${a} and ${b} (need equal, > 0)`,
    );
  const resamples = options.resamples ?? 4000;
  const seed = options.seed ?? 12345;
  const sq = pairedComparison(
    ea.map((e) => e * e),
    eb.map((e) => e * e),
    { resamples, seed },
  );
  // The bias difference: the same resampling of station-days, pairs kept together.
  const rng = createRng(seed ^ 0xb1a5);
  const d = ea.map((e, k) => e - (eb[k] as number));
  const boot = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += d[rng.int(n)] as number;
    boot[r] = s / n;
  }
  boot.sort();
  return {
    a,
    b,
    count: n,
    scoreA: scoreOf(ea),
    scoreB: scoreOf(eb),
    rmseRatio: Math.sqrt(sq.ratio),
    rmseLo: Math.sqrt(sq.lo),
    rmseHi: Math.sqrt(sq.hi),
    p: sq.p,
    wins: ea.filter((e, k) => Math.abs(e) < Math.abs(eb[k] as number)).length,
    biasDiff: mean(d),
    biasLo: boot[Math.floor(0.025 * (resamples - 1))] as number,
    biasHi: boot[Math.ceil(0.975 * (resamples - 1))] as number,
  };
}

/**
 * A verifier for the known stations of `file` inside `grid`'s valid area (channel `channel` is temperature in K).
 */
export function createStationVerifier(
  file: StationFile,
  grid: Grid,
  shape: readonly [number, number, number],
  validMask: Uint8Array | undefined,
  channel = 0,
): StationVerifier {
  const { operator } = bilinearOperator(
    grid,
    shape,
    {
      channelIndex: KNOWN_STATIONS.map(() => channel),
      latDeg: KNOWN_STATIONS.map((s) => s.latDeg),
      lonDeg: KNOWN_STATIONS.map((s) => s.lonDeg),
    },
    validMask,
  );
  const stations = Array.from(operator.kept, (k) => KNOWN_STATIONS[k]);
  // date|station id -> the station's daily mean, K.
  const observed = new Map<string, number>();
  for (const d of file.days) {
    const key = `${d.date}|${d.station.id}`;
    if (!observed.has(key)) observed.set(key, d.tMeanK); // a repeated row: the first counts
  }
  // method -> date -> { hours seen, sum of point values }
  const acc = new Map<string, Map<string, { hours: Set<string>; sum: Float64Array }>>();
  const errors = (method: string): StationDayError[] => {
    const byDay = acc.get(method);
    const out: StationDayError[] = [];
    if (byDay === undefined) return out;
    for (const [date, day] of [...byDay].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
      if (day.hours.size !== 4) continue;
      stations.forEach((st, s) => {
        const obs = observed.get(`${date}|${st?.id ?? ''}`);
        if (obs !== undefined)
          out.push({ station: st?.id ?? '?', date, error: (day.sum[s] as number) / 4 - obs });
      });
    }
    return out;
  };
  return {
    stations: stations.map((s) => s?.id ?? '?'),
    add(method, time, field) {
      const date = time.slice(0, 10);
      const byDay = acc.get(method) ?? new Map<string, { hours: Set<string>; sum: Float64Array }>();
      acc.set(method, byDay);
      const day = byDay.get(date) ?? { hours: new Set<string>(), sum: new Float64Array(operator.size) };
      byDay.set(date, day);
      if (day.hours.has(time)) return;
      day.hours.add(time);
      const p = operator.apply(field.data);
      for (let s = 0; s < operator.size; s++) day.sum[s] = (day.sum[s] as number) + (p[s] as number);
    },
    errors,
    scores() {
      const out: Record<string, StationScore> = {};
      for (const method of acc.keys()) out[method] = scoreOf(errors(method).map((e) => e.error));
      return out;
    },
    compare(a, b, options = {}) {
      const eb = new Map(errors(b).map((e) => [`${e.date}|${e.station}`, e.error]));
      const xs: number[] = [];
      const ys: number[] = [];
      for (const e of errors(a)) {
        const y = eb.get(`${e.date}|${e.station}`);
        if (y === undefined) continue;
        xs.push(e.error);
        ys.push(y);
      }
      if (xs.length === 0)
        throw new AppError('INVALID_ARGUMENT', `station verification: ${a} and ${b} share no station-day`);
      return compareStationErrors(a, b, xs, ys, options);
    },
  };
}

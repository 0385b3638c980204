/**
 * What a cycle's series add up to: each method's means over the last cycles, its divergence flags and lead times,
 * and the best latent method against the best classical one. Cycles are serially correlated (an analysis error
 * persists for days), so beside the i.i.d. paired bootstrap of `pairedComparison` (optimistic here) the ratio gets a
 * moving-block bootstrap interval (Kuensch 1989, Ann. Statist. 17, 1217-1241): blocks of consecutive cycles are
 * resampled, which keeps the correlation within a block.
 */
import { AppError } from '@alignda/errors';
import { createRng } from '@alignda/tensor';

import { CLASSICAL_CYCLE_METHODS, LATENT_CYCLE_METHODS } from './cycle-types.js';
import type { CycleComparison, CycleMethodSummary, CycleRecord, SkillRecord } from './cycle-types.js';
import { mean, pairedComparison } from './stats.js';

/**
 * 95 % moving-block bootstrap interval of mean(a) / mean(b) over paired series.
 * @param blockLength - consecutive items per block (1: the i.i.d. bootstrap)
 * @throws AppError `INVALID_ARGUMENT` for series of different or zero length, or a block longer than the series
 */
export function blockBootstrapRatio(
  a: readonly number[],
  b: readonly number[],
  blockLength: number,
  options: { readonly resamples?: number; readonly seed?: number } = {},
): { lo: number; hi: number } {
  const n = a.length;
  if (n === 0 || b.length !== n || !(blockLength >= 1 && blockLength <= n))
    throw new AppError(
      'INVALID_ARGUMENT',
      `blockBootstrapRatio: series of ${a.length} and ${b.length} with blocks of ${blockLength}`,
    );
  const rng = createRng(options.seed ?? 12345);
  const B = options.resamples ?? 4000;
  const starts = n - blockLength + 1;
  const ratios = new Float64Array(B);
  for (let r = 0; r < B; r++) {
    let sa = 0;
    let sb = 0;
    for (let filled = 0; filled < n;) {
      const s = rng.int(starts);
      for (let j = 0; j < blockLength && filled < n; j++, filled++) {
        sa += a[s + j] as number;
        sb += b[s + j] as number;
      }
    }
    ratios[r] = sa / sb;
  }
  ratios.sort();
  return {
    lo: ratios[Math.floor(0.025 * (B - 1))] as number,
    hi: ratios[Math.ceil(0.975 * (B - 1))] as number,
  };
}

const finiteMean = (xs: readonly number[]): number | null => {
  const f = xs.filter((x) => Number.isFinite(x));
  return f.length === 0 ? null : mean(f);
};

/** One method's summary over its last `window` cycles. */
export function summariseMethod(
  id: string,
  series: readonly CycleRecord[],
  skill: readonly SkillRecord[],
  window: number,
  stopped: boolean,
): CycleMethodSummary {
  const last = series.slice(-window);
  const C = last[0]?.analysisRmseByVar.length ?? 0;
  const byVar = (f: (r: CycleRecord) => readonly number[]): number[] =>
    Array.from({ length: C }, (_, c) => mean(last.map((r) => f(r)[c] as number)));
  const spreads = last.flatMap((r) => (r.analysisSpread === undefined ? [] : [r.analysisSpread]));
  const leads = skill.flatMap((s) => {
    const l = s.methods[id];
    return l === undefined ? [] : [l];
  });
  const first = series.find((r) => r.diverged);
  const inn = last.flatMap((r) => (r.innovation === undefined ? [] : [r.innovation]));
  const chi = inn.flatMap((d) => (d.chi2 === undefined ? [] : [d.chi2]));
  const root = (v: number): number => (v >= 0 ? Math.sqrt(v) : Number.NaN);
  const innovation =
    inn.length === 0
      ? undefined
      : {
          obsErrorStd: root(mean(inn.map((d) => d.obsErrorVar))),
          backgroundErrorStd: root(mean(inn.map((d) => d.backgroundErrorVar))),
          assumedObsErrorStd: Math.sqrt(mean(inn.map((d) => d.assumedObsErrorStd ** 2))),
          ...(chi.length === 0 ? {} : { chi2: mean(chi) }),
        };
  return {
    cycles: last.length,
    meanAnalysisRmse: mean(last.map((r) => r.analysisRmse)),
    meanBackgroundRmse: mean(last.map((r) => r.backgroundRmse)),
    meanAnalysisRmseByVar: byVar((r) => r.analysisRmseByVar),
    meanBackgroundRmseByVar: byVar((r) => r.backgroundRmseByVar),
    ...(spreads.length === 0 ? {} : { meanAnalysisSpread: mean(spreads) }),
    meanOmbRms: mean(last.map((r) => r.omb.rms)),
    meanOmaRms: mean(last.map((r) => r.oma.rms)),
    ...(innovation === undefined ? {} : { innovation }),
    divergedCycles: last.filter((r) => r.diverged).length,
    firstDiverged: first === undefined ? null : first.cycle,
    stopped,
    meanLeadHours: finiteMean(leads.flatMap((l) => (l.hours === null ? [] : [l.hours]))),
    meanLeadLostHours: finiteMean(leads.flatMap((l) => (l.lost === null ? [] : [l.lost]))),
    censored: leads.filter((l) => l.hours === null).length,
  };
}

/**
 * The best latent method (lowest mean analysis RMSE over the window) against the best classical one, paired over
 * the window's cycles; undefined unless both kinds ran for the whole window.
 */
export function compareLatentClassical(
  series: Readonly<Record<string, readonly CycleRecord[]>>,
  summary: Readonly<Record<string, CycleMethodSummary>>,
  window: number,
  blockLength: number,
): CycleComparison | undefined {
  const best = (kind: readonly string[]): string | undefined =>
    Object.keys(summary)
      .filter((m) => kind.includes(m) && (series[m]?.length ?? 0) >= window)
      .filter((m) => Number.isFinite(summary[m]?.meanAnalysisRmse))
      .sort((x, y) => (summary[x]?.meanAnalysisRmse as number) - (summary[y]?.meanAnalysisRmse as number))[0];
  const latent = best(LATENT_CYCLE_METHODS);
  const classical = best(CLASSICAL_CYCLE_METHODS);
  if (latent === undefined || classical === undefined) return undefined;
  const a = (series[latent] ?? []).slice(-window).map((r) => r.analysisRmse);
  const b = (series[classical] ?? []).slice(-window).map((r) => r.analysisRmse);
  const L = Math.min(blockLength, a.length);
  const block = blockBootstrapRatio(a, b, L);
  return {
    latent,
    classical,
    iid: pairedComparison(a, b),
    blockLo: block.lo,
    blockHi: block.hi,
    blockLength: L,
    note:
      `cycles are serially correlated: the i.i.d. interval and p-value treat ${a.length} cycles as independent ` +
      `and are optimistic; the block bootstrap (blocks of ${L} cycles) is the interval to quote`,
  };
}

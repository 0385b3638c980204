/**
 * Two analysis files compared value for value (the stored analysis of a platform job and its local re-run, for
 * `alignda assimilate --from-job`): every channel and kind of field the stored file holds, bit for bit, cells outside
 * the valid area (NaN in both) counting as equal. Attributes (which process wrote the file) are not compared.
 */
import { ANALYSIS_KINDS } from '@alignda/world';
import type { AnalysisKind, AnalysisNetcdf } from '@alignda/world';

/** How one variable differs. */
export interface VariableDifference {
  /** e.g. `t` (the mean) or `t_members`. */
  readonly variable: string;
  /** Values compared. */
  readonly count: number;
  /** Values that are not the same float32. */
  readonly differing: number;
  /** The largest absolute difference. */
  readonly maxAbs: number;
}

/** The outcome of {@link compareAnalyses}. */
export interface AnalysisComparison {
  /** Every value of every variable of the stored file is the same float32 in the other. */
  readonly identical: boolean;
  /** Values compared in all. */
  readonly values: number;
  /** The kinds compared (those of the stored file). */
  readonly kinds: readonly AnalysisKind[];
  /** Variables with differing values. */
  readonly differences: readonly VariableDifference[];
  /** Why the files cannot be compared value for value (other channels, members, grid or time); empty when they can. */
  readonly mismatches: readonly string[];
}

/** Whether `a` and `b` are the same float32 (NaN equals NaN: a cell outside the valid area in both). */
const same = (a: number, b: number): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b));

/** Compares `local` with `stored`, value for value. */
export function compareAnalyses(stored: AnalysisNetcdf, local: AnalysisNetcdf): AnalysisComparison {
  const mismatches: string[] = [];
  if (stored.channels.join() !== local.channels.join())
    mismatches.push(
      `channels ${local.channels.join(',')} where the stored analysis has ${stored.channels.join(',')}`,
    );
  if (stored.shape.join() !== local.shape.join())
    mismatches.push(
      `a ${local.shape.join(' x ')} grid where the stored analysis has ${stored.shape.join(' x ')}`,
    );
  if (stored.members !== local.members)
    mismatches.push(`${local.members} member(s) where the stored analysis has ${stored.members}`);
  if (stored.validTime !== local.validTime)
    mismatches.push(`valid time ${local.validTime} where the stored analysis has ${stored.validTime}`);
  const missing = stored.kinds.filter((k) => !local.kinds.includes(k));
  if (missing.length > 0) mismatches.push(`no ${missing.join(', ')} where the stored analysis has them`);
  if (mismatches.length > 0)
    return { identical: false, values: 0, kinds: stored.kinds, differences: [], mismatches };

  let values = 0;
  const differences: VariableDifference[] = [];
  for (const kind of stored.kinds)
    for (const channel of stored.channels) {
      const a = stored.field(kind, channel) ?? new Float32Array();
      const b = local.field(kind, channel) ?? new Float32Array();
      let differing = 0;
      let maxAbs = 0;
      for (let k = 0; k < a.length; k++) {
        const x = a[k] as number;
        const y = b[k] ?? Number.NaN;
        if (same(x, y)) continue;
        differing++;
        const d = Math.abs(x - y);
        maxAbs = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(maxAbs, d);
      }
      values += a.length;
      if (differing > 0)
        differences.push({
          variable: `${channel}${ANALYSIS_KINDS[kind]}`,
          count: a.length,
          differing,
          maxAbs,
        });
    }
  return { identical: differences.length === 0, values, kinds: stored.kinds, differences, mismatches };
}

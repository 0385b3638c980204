/**
 * The scores of one method on one case, and the two that are not single metric calls: the mean MSE of an
 * ensemble's single members, and the average of a stochastic method's scores over its sampler seeds.
 */
import { AppError } from '@alignda/errors';
import { mse } from '@alignda/tensor';

/** Scores of one method on one case. */
export interface MethodScores {
  /** MSE and MAE over all (valid) normalised values. */
  readonly mse: number;
  readonly mae: number;
  /** Latitude-weighted RMSE per channel, physical units. */
  readonly wrmse: readonly number[];
  /** MSE (normalised) of the forecast, `leadSteps` on, from this state against the truth then. */
  readonly forecastMse: number;
  /** Mean Geo-Score over levels with z, u, v (NaN when the dataset has none). */
  readonly geoScore: number;
  /** Mean geostrophic deviation D over those levels (NaN when none). */
  readonly geoDeviation: number;
  /** Ensemble spread (RMS member std, normalised) for ensemble methods with members > 1. */
  readonly spread?: number;
  /** Mean MSE (normalised) of the single members, for ensemble methods. */
  readonly memberMse?: number;
  /** Mean ensemble CRPS (normalised) over the (valid) values, for ensemble methods that return their members. */
  readonly crps?: number;
  /**
   * Rank histogram of the truth among the members (M + 1 counts over the valid values; summed over sampler seeds),
   * for ensemble methods that return their members.
   */
  readonly rankCounts?: readonly number[];
  /** Wall seconds of the analysis. */
  readonly seconds: number;
}

/** Mean MSE of the members `[M, ...shape]` against the truth. */
export function membersMse(
  members: Float32Array,
  truth: Float32Array,
  shape: readonly [number, number, number],
  metricOpts: { mask?: Uint8Array },
): number {
  const size = truth.length;
  const M = members.length / size;
  let sum = 0;
  for (let m = 0; m < M; m++)
    sum += mse(
      { data: members.subarray(m * size, (m + 1) * size), shape },
      { data: truth, shape },
      metricOpts,
    ).overall;
  return sum / M;
}

/** The scores of several sampler seeds of one case, averaged field by field (one seed: returned as it is). */
export function averageScores(xs: readonly MethodScores[]): MethodScores {
  const first = xs[0];
  if (first === undefined) throw new AppError('INTERNAL', 'evaluate: no scores to average');
  if (xs.length === 1) return first;
  const avg = (f: (s: MethodScores) => number): number => xs.reduce((a, s) => a + f(s), 0) / xs.length;
  const opt = (f: (s: MethodScores) => number | undefined): number | undefined =>
    f(first) === undefined ? undefined : avg((s) => f(s) ?? Number.NaN);
  const spread = opt((s) => s.spread);
  const memberMse = opt((s) => s.memberMse);
  const crps = opt((s) => s.crps);
  const rankCounts =
    first.rankCounts === undefined
      ? undefined
      : first.rankCounts.map((_, r) => xs.reduce((a, s) => a + (s.rankCounts?.[r] ?? 0), 0));
  return {
    mse: avg((s) => s.mse),
    mae: avg((s) => s.mae),
    wrmse: first.wrmse.map((_, c) => avg((s) => s.wrmse[c] as number)),
    forecastMse: avg((s) => s.forecastMse),
    geoScore: avg((s) => s.geoScore),
    geoDeviation: avg((s) => s.geoDeviation),
    seconds: avg((s) => s.seconds),
    ...(spread === undefined ? {} : { spread }),
    ...(memberMse === undefined ? {} : { memberMse }),
    ...(crps === undefined ? {} : { crps }),
    ...(rankCounts === undefined ? {} : { rankCounts }),
  };
}

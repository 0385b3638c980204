/** Tuning of our own Lorenz-96 rows, on seeds the scored runs never use. */
import { AppError } from '@alignda/errors';

import { L96_DEFAULT_SEED, L96_TUNE_SEED, runL96Method } from './l96.js';
import type { L96Method } from './l96.js';
import { L96_NX, checkCount, simulateL96Twin, streams } from './l96-twin.js';

/** Options of {@link tuneL96Inflation}. */
export interface L96TuneOptions {
  /** Ensemble size. */
  readonly N: number;
  /** Posterior inflations to try. */
  readonly inflations: readonly number[];
  /** DAPPER loc_rad values to try; absent: the global EnKF sqrt only. */
  readonly locRadii?: readonly number[];
  /** Scored cycles per trial, after the 400-cycle burn-in. @defaultValue 10_000 (as long as the scored run: a
   * too-small inflation shows itself by a rare divergence that 2,000 cycles miss) */
  readonly cycles?: number;
  /** Seeds, each its own truth and observations; the score is the mean over them. Never the scored run's seed.
   * @defaultValue [{@link L96_TUNE_SEED}, {@link L96_TUNE_SEED} + 1] */
  readonly seeds?: readonly number[];
  /** Progress per trial. */
  readonly onProgress?: (stage: string, fraction: number) => void;
}

/** One trial of {@link tuneL96Inflation}. */
export interface L96TuneRow {
  readonly inflation: number;
  /** Absent for the global EnKF sqrt. */
  readonly locRadius?: number;
  /** Time-mean analysis RMSE, averaged over the seeds (Infinity if the filter blew up). */
  readonly rmse: number;
  /** The time-mean analysis RMSE of each seed. */
  readonly perSeed: readonly number[];
}

/**
 * Tunes the posterior inflation (and the localisation radius) of an ensemble row on seeds of its own: every
 * combination on the same truths and observations, the lowest mean time-mean analysis RMSE wins.
 */
export function tuneL96Inflation(options: L96TuneOptions): {
  readonly table: readonly L96TuneRow[];
  readonly best: L96TuneRow;
} {
  const seeds = options.seeds ?? [L96_TUNE_SEED, L96_TUNE_SEED + 1];
  if (seeds.length === 0) throw new AppError('INVALID_ARGUMENT', 'l96: tuning needs at least one seed');
  if (seeds.includes(L96_DEFAULT_SEED))
    throw new AppError('INVALID_ARGUMENT', `l96: tuning must not use the scored seed ${L96_DEFAULT_SEED}`);
  const cycles = options.cycles ?? 10_000;
  checkCount('cycles', cycles, 1);
  checkCount('N', options.N, 2);
  if (options.inflations.length === 0)
    throw new AppError('INVALID_ARGUMENT', 'l96: the inflation grid is empty');
  const twins = seeds.map((seed) => {
    checkCount('seed', seed, -(2 ** 31));
    const s = streams(seed);
    return simulateL96Twin(L96_NX, 400, cycles, { truth: s.truth, obs: s.obs, methods: s.method(0) });
  });
  const unused = { mean: new Float64Array(L96_NX), cov: new Float64Array(L96_NX * L96_NX) };
  const radii: readonly (number | undefined)[] = options.locRadii ?? [undefined];
  const table = radii.flatMap((locRadius) =>
    options.inflations.map((inflation): L96TuneRow => {
      const loc = locRadius === undefined ? {} : { locRadius };
      const method: L96Method = { kind: 'ensemble', N: options.N, inflation, ...loc };
      const label = `N ${options.N}, infl ${inflation}${locRadius === undefined ? '' : `, loc_rad ${locRadius}`}`;
      const perSeed = twins.map((twin, i) => {
        const { rmse } = runL96Method(twin, method, unused, (f) =>
          options.onProgress?.(label, (i + f) / twins.length),
        );
        return Number.isFinite(rmse) ? rmse : Infinity;
      });
      return { inflation, ...loc, rmse: perSeed.reduce((a, b) => a + b, 0) / perSeed.length, perSeed };
    }),
  );
  const best = table.reduce((a, b) => (b.rmse < a.rmse ? b : a));
  return { table, best };
}

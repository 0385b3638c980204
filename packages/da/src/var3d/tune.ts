import { mse } from '@alignda/tensor';
import type { FloatArray, Grid } from '@alignda/tensor';
import type { Observations } from '../ports.js';
import type { BackgroundErrorStats } from './background-error.js';
import { createBSqrt } from './b-sqrt.js';
import type { BSqrt, CorrelationKind } from './b-sqrt.js';
import type { CgOptions } from './cg.js';
import { solve3DVar } from './var3d.js';
import { invalidArgument } from '../internal/errors.js';

/** One tuning case of a training period: truth is used only to score the analysis. */
export interface Var3DCase {
  /** Background, shape [C, H, W]. */
  readonly background: FloatArray;
  readonly obs: Observations;
  /** Verifying truth, shape [C, H, W]; only the score reads it. */
  readonly truth: FloatArray;
}

/** Input of {@link tune3DVar}. */
export interface Tune3DVarInput {
  readonly grid: Grid;
  readonly stats: BackgroundErrorStats;
  readonly cases: readonly Var3DCase[];
  /** Candidate length scales L in metres (the grid searched). */
  readonly lengthScalesM: readonly number[];
  /** @defaultValue 'gaussian' */
  readonly kind?: CorrelationKind;
  readonly cg?: CgOptions;
  /**
   * 1 where a grid cell holds data, shape [H, W]: the analysis MSE is taken over those cells only, so what a padded
   * dataset's background or truth holds in its padding cannot choose the candidate. @defaultValue every cell
   */
  readonly validMask?: Uint8Array;
  /** Called after each candidate with (fraction done, candidate index). */
  readonly onProgress?: (fraction: number, index: number) => void;
}

/** One row of the tuning table. */
export interface Tune3DVarRow {
  readonly lengthScaleM: number;
  /** Analysis MSE against the truth, averaged over cases and all (valid) values (the units of the fields given). */
  readonly mse: number;
  /** Mean CG iterations per case. */
  readonly meanIterations: number;
}

/** Result of {@link tune3DVar}: the table in the order given, and its best row. */
export interface Tune3DVarResult {
  readonly table: readonly Tune3DVarRow[];
  readonly best: Tune3DVarRow;
}

/** Input of {@link tuneBSqrt}: any family of B^(1/2), one per candidate. */
export interface TuneBSqrtInput<TCandidate> {
  readonly cases: readonly Var3DCase[];
  /** The candidates searched, in order. */
  readonly candidates: readonly TCandidate[];
  /** Builds B^(1/2) for a candidate (e.g. a length scale, or a multiplier of per-variable length scales). */
  readonly build: (candidate: TCandidate) => BSqrt;
  readonly cg?: CgOptions;
  /**
   * 1 where a grid cell holds data, shape [H, W]: the analysis MSE is taken over those cells only, so what a padded
   * dataset's background or truth holds in its padding cannot choose the candidate. @defaultValue every cell
   */
  readonly validMask?: Uint8Array;
  /** Called after each candidate with (fraction done, candidate index). */
  readonly onProgress?: (fraction: number, index: number) => void;
}

/** One row of {@link tuneBSqrt}'s table. */
export interface TuneBSqrtRow<TCandidate> {
  readonly candidate: TCandidate;
  /** Analysis MSE against the truth, averaged over cases and all (valid) values (the units of the fields given). */
  readonly mse: number;
  /** Mean CG iterations per case. */
  readonly meanIterations: number;
}

/**
 * Grid search over a family of B^(1/2): for each candidate, the 3D-Var analysis MSE against the truth averaged
 * over the cases (and over the valid cells of `validMask`); the best is the smallest MSE (the first of equals).
 * The tuning budget is `candidates.length x cases.length` analyses.
 */
export function tuneBSqrt<TCandidate>(input: TuneBSqrtInput<TCandidate>): {
  readonly table: readonly TuneBSqrtRow<TCandidate>[];
  readonly best: TuneBSqrtRow<TCandidate>;
} {
  const fn = 'tuneBSqrt';
  if (input.cases.length === 0) throw invalidArgument(fn, 'no tuning cases given');
  if (input.candidates.length === 0) throw invalidArgument(fn, 'no candidates given');
  const table: TuneBSqrtRow<TCandidate>[] = [];
  const mask = input.validMask;
  input.candidates.forEach((candidate, index) => {
    const bSqrt = input.build(candidate);
    const shape = [...bSqrt.stateShape];
    const [, H, W] = bSqrt.stateShape;
    if (mask !== undefined && mask.length !== H * W)
      throw invalidArgument(fn, `validMask has ${mask.length} cells but the states are ${H} x ${W}`);
    let sum = 0;
    let iters = 0;
    for (const c of input.cases) {
      const res = solve3DVar({
        background: c.background,
        obs: c.obs,
        bSqrt,
        ...(input.cg ? { cg: input.cg } : {}),
      });
      if (c.truth.length !== res.analysis.length) {
        throw invalidArgument(
          fn,
          `a truth has ${c.truth.length} values but states have ${res.analysis.length}`,
        );
      }
      sum += mse(
        { data: res.analysis, shape },
        { data: c.truth, shape },
        mask === undefined ? {} : { mask },
      ).overall;
      iters += res.iterations;
    }
    table.push({ candidate, mse: sum / input.cases.length, meanIterations: iters / input.cases.length });
    input.onProgress?.((index + 1) / input.candidates.length, index);
  });
  const best = table.reduce((a, b) => (b.mse < a.mse ? b : a));
  return { table, best };
}

/**
 * Tunes the correlation length scale of 3D-Var by grid search: for each candidate L, the analysis MSE
 * against the truth averaged over the training cases (over the valid cells of `validMask` on a padded grid); the
 * best is the smallest MSE. Give normalised fields so that every channel counts (MSE in physical units is dominated
 * by geopotential).
 */
export function tune3DVar(input: Tune3DVarInput): Tune3DVarResult {
  const fn = 'tune3DVar';
  if (input.cases.length === 0) throw invalidArgument(fn, 'no tuning cases given');
  if (input.lengthScalesM.length === 0) throw invalidArgument(fn, 'no candidate length scales given');
  const res = tuneBSqrt({
    cases: input.cases,
    candidates: input.lengthScalesM,
    build: (L) => createBSqrt(input.grid, input.stats, { kind: input.kind ?? 'gaussian', lengthScaleM: L }),
    ...(input.cg ? { cg: input.cg } : {}),
    ...(input.validMask ? { validMask: input.validMask } : {}),
    ...(input.onProgress ? { onProgress: input.onProgress } : {}),
  });
  const row = (r: TuneBSqrtRow<number>): Tune3DVarRow => ({
    lengthScaleM: r.candidate,
    mse: r.mse,
    meanIterations: r.meanIterations,
  });
  return { table: res.table.map(row), best: row(res.best) };
}

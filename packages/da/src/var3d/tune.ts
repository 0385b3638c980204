import { mse } from '@alignda/tensor';
import type { FloatArray, Grid } from '@alignda/tensor';
import type { Observations } from '../ports.js';
import type { BackgroundErrorStats } from './background-error.js';
import { createBSqrt } from './b-sqrt.js';
import type { CorrelationKind } from './b-sqrt.js';
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
  /** Called after each candidate with (fraction done, candidate index). */
  readonly onProgress?: (fraction: number, index: number) => void;
}

/** One row of the tuning table. */
export interface Tune3DVarRow {
  readonly lengthScaleM: number;
  /** Analysis MSE against the truth, averaged over cases and all values (the units of the fields given). */
  readonly mse: number;
  /** Mean CG iterations per case. */
  readonly meanIterations: number;
}

/** Result of {@link tune3DVar}: the table in the order given, and its best row. */
export interface Tune3DVarResult {
  readonly table: readonly Tune3DVarRow[];
  readonly best: Tune3DVarRow;
}

/**
 * Tunes the correlation length scale of 3D-Var by grid search: for each candidate L, the analysis MSE
 * against the truth averaged over the training cases; the best is the smallest MSE. Give normalised fields
 * so that every channel counts (MSE in physical units is dominated by geopotential).
 */
export function tune3DVar(input: Tune3DVarInput): Tune3DVarResult {
  const fn = 'tune3DVar';
  if (input.cases.length === 0) throw invalidArgument(fn, 'no tuning cases given');
  if (input.lengthScalesM.length === 0) throw invalidArgument(fn, 'no candidate length scales given');
  const shape = [...input.stats.stateShape];
  const table: Tune3DVarRow[] = [];
  input.lengthScalesM.forEach((L, index) => {
    const bSqrt = createBSqrt(input.grid, input.stats, { kind: input.kind ?? 'gaussian', lengthScaleM: L });
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
      sum += mse({ data: res.analysis, shape }, { data: c.truth, shape }).overall;
      iters += res.iterations;
    }
    table.push({
      lengthScaleM: L,
      mse: sum / input.cases.length,
      meanIterations: iters / input.cases.length,
    });
    input.onProgress?.((index + 1) / input.lengthScalesM.length, index);
  });
  const best = table.reduce((a, b) => (b.mse < a.mse ? b : a));
  return { table, best };
}

import { createRng } from '@alignda/tensor';
import type { Field } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import { createQgModel } from '../qg/model.js';
import type { QgModel } from '../qg/model.js';
import type { QgParams } from '../qg/params.js';

/** Options of a nature run. */
export interface NatureRunOptions {
  /** Seed of the initial perturbation; the run is a deterministic function of it and the parameters. */
  readonly seed: number;
  /** Simulated years of 365 days recorded after spin-up. */
  readonly years: number;
  /** Model parameter overrides. @defaultValue {} (DEFAULT_QG_PARAMS) */
  readonly params?: Partial<QgParams>;
  /** Spin-up discarded before the first recorded state, days. @defaultValue 150 — eddies saturate by ~100 days from the 1e6 m2/s seed noise */
  readonly spinUpDays?: number;
  /** Output interval, hours. @defaultValue 6 */
  readonly outputHours?: number;
  /** Progress callback: recorded states done out of total (called every state). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** First valid time of every nature run (CF reference time of the time axis). */
export const NATURE_EPOCH_ISO = '2001-01-01T00:00:00Z';

/** Named periods as half-open state-index ranges [start, end). */
export interface NaturePeriods {
  readonly train: readonly [number, number];
  readonly alignment: readonly [number, number];
  readonly test: readonly [number, number];
}

/** Train = first 70 %, alignment = next 10 %, test = last 20 % of `count` states (in time order, no overlap). */
export function naturePeriods(count: number): NaturePeriods {
  const a = Math.round(0.7 * count);
  const b = Math.round(0.8 * count);
  return { train: [0, a], alignment: [a, b], test: [b, count] };
}

/** Number of recorded states of a run. */
export function natureStateCount(years: number, outputHours = 6): number {
  return Math.round((years * 365 * 24) / outputHours);
}

/**
 * Runs the nature run, calling `onState(index, field)` with each recorded state [7, 32, 64] in time
 * order (state 0 is valid at {@link NATURE_EPOCH_ISO}). Pure computation, no I/O.
 * @returns the model used (its grid and parameters describe the states)
 */
export function generateNatureRun(
  opts: NatureRunOptions,
  onState: (index: number, field: Field) => void,
): QgModel {
  if (!Number.isInteger(opts.seed))
    throw new DatasetError('OUT_OF_RANGE', `nature run: seed must be an integer, got ${opts.seed}`);
  if (!(opts.years > 0))
    throw new DatasetError('OUT_OF_RANGE', `nature run: years must be positive, got ${opts.years}`);
  const outputHours = opts.outputHours ?? 6;
  const model = createQgModel(opts.params);
  const q = model.randomState(createRng(opts.seed), 1e6);
  model.advance(q, 24 * (opts.spinUpDays ?? 150));
  const total = natureStateCount(opts.years, outputHours);
  for (let t = 0; t < total; t++) {
    if (t > 0) model.advance(q, outputHours);
    if (!Number.isFinite(q[2]))
      throw new DatasetError(
        'NON_FINITE_VALUES',
        `nature run: state ${t} is not finite (time step too long?)`,
      );
    onState(t, model.toField(q));
    opts.onProgress?.(t + 1, total);
  }
  return model;
}

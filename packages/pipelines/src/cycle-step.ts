/**
 * One cycle of one method, the same for the scored run and the short tuning cycles: the background is the forecast
 * of what the method carries, then the analysis. The methods are values with `init` and `step` (like evaluate's
 * `EvalMethod`): the separable or balanced 3D-Var and the LETKF here, the latent modes in cycle-latent.ts.
 */
import { letkf, memberSeed, solve3DVar } from '@alignda/da';
import type { BSqrt, Observations } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { createRng, normalise } from '@alignda/tensor';
import type { NormStats } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';

import type { CarriedState } from './cycle-types.js';
import { columnLocalisation } from './ensemble.js';
import { observe } from './observe.js';
import type { ObserveOptions } from './observe.js';

/**
 * The seed of one random draw: a hash of (seed, cycle, stream), so that a resumed cycle needs no generator state
 * and every method sees the same observations (stream 'obs').
 */
export function drawSeed(seed: number, cycle: number, stream: string): number {
  let h = 0x811c9dc5; // FNV-1a of the stream's name
  for (const ch of stream) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return memberSeed(memberSeed(seed, cycle) ^ h, 0);
}

/** A source of truths and its forecast model at the cycle's interval, in normalised units. */
export interface CycleWorld {
  readonly source: DaSource;
  readonly norm: NormStats;
  readonly shape: readonly [number, number, number];
  /** Source states per cycle interval. */
  readonly steps: number;
  /** The normalised truth at state `i`. */
  truth(i: number): Float32Array;
  /** One interval's forecast of `x` (normalised), valid at state `i`. */
  forecast(x: Float32Array, i: number): Promise<Float32Array>;
}

/** The cycle world of a source with a forecast over physical or normalised states. */
export function cycleWorld(
  source: DaSource,
  norm: NormStats,
  steps: number,
  forecast: (x: Float32Array, i: number) => Promise<Float32Array>,
): CycleWorld {
  const shape = source.shape;
  return {
    source,
    norm,
    shape,
    steps,
    truth: (i) => normalise({ data: source.state(i).data, shape }, norm).data,
    forecast,
  };
}

/** What one method's step gives: the new carried state and what is scored. */
export interface StepOutcome {
  readonly carried: CarriedState;
  /** Background and analysis (ensemble means), normalised, [C, H, W] flattened. */
  readonly background: Float32Array;
  readonly analysis: Float32Array;
  readonly backgroundSpread?: number;
  readonly analysisSpread?: number;
}

/** A cycled method. */
export interface CycleAnalyser {
  readonly id: string;
  /** Its state before the first cycle, from the common initial state `x0` (the LETKF adds its members' draws). */
  init(x0: Float32Array, seed: number): CarriedState;
  /**
   * Forecasts `carried` (valid at state `from`) one interval and analyses `obs` (valid at `from + steps`).
   * @param cycle - the cycle, for seeds
   */
  step(carried: CarriedState, obs: Observations, from: number, cycle: number): Promise<StepOutcome>;
}

function analysisOf(c: CarriedState, id: string): Float32Array {
  if (c.analysis === undefined) throw new AppError('INTERNAL', `${id}: the carried state has no analysis`);
  return c.analysis;
}

/** 3D-Var with a fixed B^(1/2), on the background as it is or corrected (`correct`: the balanced B's bias). */
export function var3dAnalyser(
  id: string,
  world: CycleWorld,
  bSqrt: BSqrt,
  cgTol: number,
  correct: (b: Float32Array) => Float64Array = (b) => Float64Array.from(b),
): CycleAnalyser {
  return {
    id,
    init: (x0) => ({ analysis: Float32Array.from(x0) }),
    step: async (carried, obs, from) => {
      const background = await world.forecast(analysisOf(carried, id), from);
      const res = solve3DVar({ background: correct(background), obs, bSqrt, cg: { tol: cgTol } });
      return {
        carried: { analysis: Float32Array.from(res.analysis) },
        background,
        analysis: Float32Array.from(res.analysis),
      };
    },
  };
}

/** Mean and RMS member std about it of an ensemble [M, n]. */
export function ensembleMean(ens: ArrayLike<number>, M: number): { mean: Float32Array; spread: number } {
  const n = ens.length / M;
  const mean = new Float64Array(n);
  for (let m = 0; m < M; m++)
    for (let k = 0; k < n; k++) mean[k] = (mean[k] as number) + (ens[m * n + k] as number) / M;
  let v = 0;
  for (let m = 0; m < M; m++)
    for (let k = 0; k < n; k++) v += ((ens[m * n + k] as number) - (mean[k] as number)) ** 2;
  return { mean: Float32Array.from(mean), spread: Math.sqrt(v / ((M - 1) * n)) };
}

/**
 * The cycled LETKF (Hunt et al. 2007): every member forecast by the cycle's model, then the local analysis with
 * Gaspari-Cohn localisation over grid columns, multiplicative prior inflation and relaxation to prior spread. The
 * initial members are the common initial state plus `initialError` times climatological perturbations drawn from
 * (seed, member), recentred on it.
 */
export function letkfAnalyser(
  world: CycleWorld,
  settings: {
    readonly members: number;
    readonly inflation: number;
    /** Relaxation to prior spread (Whitaker & Hamill 2012), in [0, 1]. */
    readonly rtps: number;
    readonly halfWidthM: number;
    /** The climatological perturbations of the initial members. */
    readonly perturb: Perturb;
    readonly initialError: number;
  },
): CycleAnalyser {
  const M = settings.members;
  const [C, H, W] = world.shape;
  const n = C * H * W;
  return {
    id: 'letkf',
    init: (x0, seed) => {
      const ens = new Float32Array(M * n);
      const pert = new Float64Array(M * n);
      const mean = new Float64Array(n);
      for (let m = 0; m < M; m++) {
        const e = settings.perturb(memberSeed(seed, m));
        for (let k = 0; k < n; k++) {
          const v = settings.initialError * (e[k] as number);
          pert[m * n + k] = v;
          mean[k] = (mean[k] as number) + v / M;
        }
      }
      for (let m = 0; m < M; m++)
        for (let k = 0; k < n; k++)
          ens[m * n + k] = (x0[k] as number) + (pert[m * n + k] as number) - (mean[k] as number);
      return { ensemble: ens, members: M };
    },
    step: async (carried, obs, from) => {
      const ens = carried.ensemble;
      if (ens === undefined) throw new AppError('INTERNAL', 'letkf: the carried state has no ensemble');
      const bg = new Float32Array(M * n); // [M, C, H, W]
      for (let m = 0; m < M; m++) bg.set(await world.forecast(ens.subarray(m * n, (m + 1) * n), from), m * n);
      const loc = columnLocalisation(world.source.grid, world.shape, obs, settings.halfWidthM);
      const a = Float32Array.from(
        letkf({ data: bg, shape: [M, C, H, W] }, obs, {
          localisation: loc,
          inflation: settings.inflation,
          rtps: settings.rtps,
        }).data,
      );
      const b = ensembleMean(bg, M);
      const an = ensembleMean(a, M);
      return {
        carried: { ensemble: a, members: M },
        background: b.mean,
        analysis: an.mean,
        backgroundSpread: b.spread,
        analysisSpread: an.spread,
      };
    },
  };
}

/** Statistics of y - H x (innovations for a background, residuals for an analysis). */
export function diffStats(obs: Observations, x: Float32Array): { mean: number; rms: number } {
  const P = obs.operator.size;
  const hx = obs.operator.apply(x, new Float64Array(P));
  let s = 0;
  let s2 = 0;
  for (let p = 0; p < P; p++) {
    const d = (obs.values[p] as number) - (hx[p] as number);
    s += d;
    s2 += d * d;
  }
  return { mean: s / P, rms: Math.sqrt(s2 / P) };
}

/**
 * The analysis a carried state stands for, normalised [C, H, W]: its own, or the mean of its ensemble (the LETKF
 * carries only its members); undefined for a stopped method.
 */
export function carriedAnalysis(c: CarriedState | undefined): Float32Array | undefined {
  if (c === undefined || c.stopped === true) return undefined;
  if (c.analysis !== undefined) return c.analysis;
  if (c.ensemble === undefined || c.members === undefined || c.members < 1) return undefined;
  const M = c.members;
  const n = c.ensemble.length / M;
  const mean = new Float32Array(n);
  for (let m = 0; m < M; m++)
    for (let k = 0; k < n; k++) mean[k] = (mean[k] as number) + (c.ensemble[m * n + k] as number) / M;
  return mean;
}

/** RMSE of `a` against `b` over all values. */
export function rmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += ((a[k] as number) - (b[k] as number)) ** 2;
  return Math.sqrt(s / a.length);
}

/**
 * A climatological perturbation (normalised), drawn from a seed: the difference of two random states of a training
 * period over sqrt(2), so that it has the climatological anomaly variance and the flow's own structures and balance
 * (a white or Gaussian-correlated field of the same variance carries far too much small-scale wind).
 */
export type Perturb = (seed: number) => Float32Array;

/** {@link Perturb} over the train period of the training world. */
export function climatePerturbation(training: CycleWorld): Perturb {
  const [lo, hi] = training.source.periods.train;
  return (seed) => {
    const rng = createRng(seed);
    const i = lo + rng.int(hi - lo);
    const j = lo + ((i - lo + 1 + rng.int(hi - lo - 1)) % (hi - lo)); // j != i
    const a = training.truth(i);
    const b = training.truth(j);
    return Float32Array.from(a, (v, k) => (v - (b[k] as number)) / Math.SQRT2);
  };
}

/** The common initial state of a cycle: the truth at `start` plus `initialError` times a climatological perturbation. */
export function initialState(
  world: CycleWorld,
  start: number,
  seed: number,
  perturb: Perturb,
  initialError: number,
): Float32Array {
  const x = world.truth(start);
  const e = perturb(seed);
  return Float32Array.from(x, (v, k) => v + initialError * (e[k] as number));
}

/** The observations of the truth valid at state `i`, drawn from `seed`. */
export function observeState(
  world: CycleWorld,
  i: number,
  options: ObserveOptions,
  seed: number,
): Observations {
  return observe({ ...world.source.field(i), data: world.truth(i) }, options, createRng(seed));
}

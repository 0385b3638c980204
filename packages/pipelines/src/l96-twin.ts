/**
 * The mechanics of a Lorenz-96 twin experiment as DAPPER runs `mods/Lorenz96/sakov2008.py`: a truth and its
 * observations, and the cycling of each kind of method against them (ensemble filters, a static-gain analysis,
 * a constant estimate). Scores are DAPPER's `rmse.a`: per cycle the RMSE of the estimate (ensemble mean) over the
 * variables, averaged over the cycles after the burn-in.
 */
import { AppError } from '@alignda/errors';
import { letkf, memberSeed, selectionOperator, staticKalmanGain } from '@alignda/da';
import type { LetkfLocalisation, Observations } from '@alignda/da';
import { createRng } from '@alignda/tensor';
import { createL96Step } from '@alignda/world';

/** The Lorenz-96 observing system of sakov2008: every variable, every step, error variance 1. */
export interface L96Twin {
  /** Number of variables. */
  readonly nx: number;
  /** Cycles run before scoring starts. */
  readonly burnIn: number;
  /** Scored cycles. */
  readonly cycles: number;
  /** Truth at cycles 1..burnIn + cycles, shape [burnIn + cycles, nx]. */
  readonly truth: Float64Array;
  /** Observations y_t = x_t + e_t, e_t ~ N(0, I), same shape. */
  readonly obs: Float64Array;
  /** Observation-error standard deviation (1). */
  readonly obsStd: number;
  /** Seed of the initial conditions of the methods (each method forks its own stream). */
  readonly seed: number;
}

/** Number of variables of the sakov2008 setup. */
export const L96_NX = 40;

/** Independent seeds of the truth, the noise, the climatology run and each method, from the run's seed. */
export function streams(seed: number): {
  truth: number;
  obs: number;
  climatology: number;
  method: (i: number) => number;
} {
  return {
    truth: memberSeed(seed, 0),
    obs: memberSeed(seed, 1),
    climatology: memberSeed(seed, 2),
    method: (i) => memberSeed(seed, 10 + i),
  };
}

/** Throws unless `v` is an integer >= `min`, naming it. */
export function checkCount(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min)
    throw new AppError('INVALID_ARGUMENT', `l96: ${name} must be an integer >= ${min}, got ${v}`);
}

/** DAPPER's X0 for Lorenz-96: N(x0, 0.001 I) with x0 = (1, 0, ..., 0) (`mods/Lorenz96/__init__.py`, sakov2008). */
export const L96_X0_VARIANCE = 0.001;

/** Draws x ~ N(x0, 0.001 I) into `out`. */
export function sampleX0(out: Float64Array, rng: ReturnType<typeof createRng>): Float64Array {
  rng.fillNormal(out, 0, Math.sqrt(L96_X0_VARIANCE));
  out[0] = (out[0] as number) + 1;
  return out;
}

/**
 * The truth from x_0 ~ X0 and its observations, for `burnIn + cycles` steps of dt = 0.05.
 * @param seeds - truth and observation-noise seeds
 */
export function simulateL96Twin(
  nx: number,
  burnIn: number,
  cycles: number,
  seeds: { truth: number; obs: number; methods: number },
): L96Twin {
  const T = burnIn + cycles;
  const step = createL96Step({ nx });
  const x = sampleX0(new Float64Array(nx), createRng(seeds.truth));
  const noise = createRng(seeds.obs);
  const truth = new Float64Array(T * nx);
  const obs = new Float64Array(T * nx);
  for (let t = 0; t < T; t++) {
    step(x);
    truth.set(x, t * nx);
    for (let j = 0; j < nx; j++) obs[t * nx + j] = (x[j] as number) + noise.normal();
  }
  return { nx, burnIn, cycles, truth, obs, obsStd: 1, seed: seeds.methods };
}

/**
 * Climatological mean [nx] and covariance [nx, nx] from a free run: `spinUp` steps from x_0 ~ X0 discarded, then
 * every state of `steps` steps (DAPPER estimates them from the truth of the scored run itself; a separate run
 * keeps the truth out of the methods).
 */
export function l96Climatology(
  nx: number,
  steps: number,
  spinUp: number,
  seed: number,
): { mean: Float64Array; cov: Float64Array } {
  const step = createL96Step({ nx });
  const x = sampleX0(new Float64Array(nx), createRng(seed));
  for (let t = 0; t < spinUp; t++) step(x);
  const mean = new Float64Array(nx);
  const second = new Float64Array(nx * nx);
  for (let t = 0; t < steps; t++) {
    step(x);
    for (let i = 0; i < nx; i++) {
      mean[i] = (mean[i] as number) + (x[i] as number) / steps;
      for (let j = 0; j < nx; j++)
        second[i * nx + j] = (second[i * nx + j] as number) + (x[i] as number) * (x[j] as number);
    }
  }
  const cov = new Float64Array(nx * nx);
  for (let i = 0; i < nx; i++) {
    for (let j = i; j < nx; j++) {
      const c =
        ((second[i * nx + j] as number) - steps * (mean[i] as number) * (mean[j] as number)) / (steps - 1);
      cov[i * nx + j] = c;
      cov[j * nx + i] = c; // exactly symmetric
    }
  }
  return { mean, cov };
}

/** A method's score over the scored cycles. */
export interface L96Score {
  /** Time mean of the analysis RMSE (DAPPER's rmse.a). */
  readonly rmse: number;
  /** Time mean of the analysis ensemble spread, root mean variance over the variables (DAPPER's rmv.a); ensembles only. */
  readonly spread?: number;
}

/** Progress of one run: fraction in [0, 1]. */
export type L96Progress = (fraction: number) => void;

/** The identity observation operator and the observations of cycle t. */
function observationsAt(
  twin: L96Twin,
  t: number,
  operator: Observations['operator'],
  std: Float64Array,
): Observations {
  return { operator, values: twin.obs.subarray(t * twin.nx, (t + 1) * twin.nx), std };
}

/** Accumulates the RMSE of `estimate` against the truth of cycle t when t is scored. */
function scorer(twin: L96Twin): {
  add(t: number, estimate: Float64Array, spread?: number): void;
  score(): L96Score;
} {
  let sum = 0;
  let spreadSum = 0;
  let scored = 0;
  return {
    add(t, estimate, spread) {
      if (t < twin.burnIn) return;
      let se = 0;
      for (let j = 0; j < twin.nx; j++)
        se += ((estimate[j] as number) - (twin.truth[t * twin.nx + j] as number)) ** 2;
      sum += Math.sqrt(se / twin.nx);
      spreadSum += spread ?? 0;
      scored++;
    },
    score: () => ({ rmse: sum / scored, ...(spreadSum > 0 ? { spread: spreadSum / scored } : {}) }),
  };
}

/** Settings of an ensemble run: the analysis is {@link letkf} (global when `localisation` is absent: the ETKF). */
export interface L96EnsembleSettings {
  /** Ensemble size. */
  readonly N: number;
  /** Posterior inflation of the perturbations (DAPPER's `infl`). */
  readonly inflation: number;
  /** A random mean-preserving rotation after each analysis (DAPPER's `rot=True`). */
  readonly rotation: boolean;
  /** Local analyses; absent: one global analysis (DAPPER's EnKF 'Sqrt'). */
  readonly localisation?: LetkfLocalisation;
}

/** Cycles an ensemble filter: forecast every member one step, analyse, score the mean. Initial members ~ X0. */
export function runL96Ensemble(
  twin: L96Twin,
  settings: L96EnsembleSettings,
  onProgress?: L96Progress,
): L96Score {
  const { nx } = twin;
  const { N } = settings;
  const rng = createRng(twin.seed);
  const rotation = settings.rotation ? rng.fork() : undefined;
  let E: Float64Array = new Float64Array(N * nx);
  for (let i = 0; i < N; i++) sampleX0(E.subarray(i * nx, (i + 1) * nx), rng);
  const step = createL96Step({ nx });
  const operator = selectionOperator(
    [nx],
    Int32Array.from({ length: nx }, (_, j) => j),
  );
  const std = new Float64Array(nx).fill(twin.obsStd);
  const mean = new Float64Array(nx);
  const score = scorer(twin);
  const T = twin.burnIn + twin.cycles;
  const every = Math.max(1, Math.floor(T / 200));
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < N; i++) step(E.subarray(i * nx, (i + 1) * nx));
    E = letkf({ data: E, shape: [N, nx] }, observationsAt(twin, t, operator, std), {
      posteriorInflation: settings.inflation,
      ...(rotation === undefined ? {} : { rotation }),
      ...(settings.localisation === undefined ? {} : { localisation: settings.localisation }),
    }).data;
    mean.fill(0);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < nx; j++) mean[j] = (mean[j] as number) + (E[i * nx + j] as number) / N;
    let variance = 0;
    for (let i = 0; i < N; i++)
      for (let j = 0; j < nx; j++) variance += ((E[i * nx + j] as number) - (mean[j] as number)) ** 2;
    score.add(t, mean, Math.sqrt(variance / ((N - 1) * nx)));
    if (onProgress && (t % every === 0 || t === T - 1)) onProgress((t + 1) / T);
  }
  return score.score();
}

/**
 * Cycles a static-gain analysis x_a = x_b + K (y - x_b) with K from B (DAPPER's `Var3D`): the background is the
 * one-step forecast of the previous analysis (`cycled`) or the climatological mean every cycle (`OptInterp`).
 */
export function runL96StaticGain(
  twin: L96Twin,
  B: Float64Array,
  background: { kind: 'cycled' } | { kind: 'climatology'; mean: Float64Array },
  onProgress?: L96Progress,
): L96Score {
  const { nx } = twin;
  const operator = selectionOperator(
    [nx],
    Int32Array.from({ length: nx }, (_, j) => j),
  );
  const { update } = staticKalmanGain(B, operator, new Float64Array(nx).fill(twin.obsStd));
  const step = createL96Step({ nx });
  // DAPPER's Var3D starts from X0's mean x0 = (1, 0, ..., 0).
  const x = new Float64Array(nx);
  x[0] = 1;
  const score = scorer(twin);
  const T = twin.burnIn + twin.cycles;
  for (let t = 0; t < T; t++) {
    if (background.kind === 'cycled') step(x);
    const xb = background.kind === 'cycled' ? x : background.mean;
    update(xb, twin.obs.subarray(t * nx, (t + 1) * nx), x);
    score.add(t, x);
    if (onProgress && (t % 1000 === 0 || t === T - 1)) onProgress((t + 1) / T);
  }
  return score.score();
}

/** Scores a constant estimate (DAPPER's `Climatology`: the climatological mean every cycle). */
export function runL96Constant(twin: L96Twin, estimate: Float64Array): L96Score {
  const score = scorer(twin);
  for (let t = 0; t < twin.burnIn + twin.cycles; t++) score.add(t, estimate);
  return score.score();
}

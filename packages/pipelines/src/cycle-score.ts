/**
 * How a cycle is scored: the per-cycle record of one method (RMSE of analysis and background, normalised and per
 * variable, O-B and O-A, the divergence flag), the climatology the threshold and the skill come from, and the lead
 * time of a forecast as published cycled systems report skill (hours until the upper geopotential's RMSE reaches a
 * share of its climatological std).
 */
import type { Observations } from '@alignda/da';
import { denormalise, latitudeWeights, latWeightedRmse } from '@alignda/tensor';
import type { NormStats } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';

import type { CycleWorld, StepOutcome } from './cycle-step.js';
import { diffStats, rmse } from './cycle-step.js';
import type { CycleRecord, InnovationDiagnostics } from './cycle-types.js';

/**
 * The climatological anomaly std of each channel (the latitude-weighted RMS over the grid of each point's temporal
 * std about its time mean: the error of a climatology forecast), physical units, over every 4th state (daily) of
 * the source's train period; and the divergence threshold, the same over all normalised values.
 */
export function climatology(
  source: DaSource,
  norm: NormStats,
): { readonly climStd: number[]; readonly threshold: number } {
  const [C, H, W] = source.shape;
  const HW = H * W;
  const [lo, hi] = source.periods.train;
  const sum = new Float64Array(C * HW);
  const sum2 = new Float64Array(C * HW);
  let n = 0;
  for (let i = lo; i < hi; i += 4, n++) {
    const x = source.state(i).data;
    for (let k = 0; k < C * HW; k++) {
      const v = x[k] as number;
      sum[k] = (sum[k] as number) + v;
      sum2[k] = (sum2[k] as number) + v * v;
    }
  }
  const w = latitudeWeights(source.grid.latDeg);
  const climStd = Array.from({ length: C }, (_, c) => {
    let v = 0;
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        const k = c * HW + i * W + j;
        const m = (sum[k] as number) / n;
        v += (w[i] as number) * Math.max(0, (sum2[k] as number) / n - m * m);
      }
    return Math.sqrt(v / HW);
  });
  const threshold = Math.sqrt(climStd.reduce((s, sd, c) => s + (sd / (norm.std[c] as number)) ** 2, 0) / C);
  return { climStd, threshold };
}

/** Latitude-weighted RMSE per channel of two normalised states, in physical units. */
export function physicalRmse(world: CycleWorld, a: Float32Array, truth: Float32Array): number[] {
  const shape = world.shape;
  const pa = denormalise({ data: a, shape }, world.norm).data;
  const pt = denormalise({ data: truth, shape }, world.norm).data;
  return Array.from(
    latWeightedRmse({ data: pa, shape }, { data: pt, shape }, world.source.grid.latDeg).perChannel,
  );
}

/**
 * Innovation-consistency diagnostics of one analysis (Desroziers et al. 2005, QJRMS 131:3385): with d_b = y - Hx_b,
 * d_a = y - Hx_a and d_ab = Hx_a - Hx_b, E[d_a d_b] = R and E[d_ab d_b] = HBH^T when the gain uses the true B and R.
 * Estimated here over the step's observations (noisy for one step; the series' means are what a reviewer reads).
 * `chi2` needs a background-error variance of the method's own: the ensemble methods' spread (RMS member std).
 */
export function innovationDiagnostics(
  obs: Observations,
  background: Float32Array,
  analysis: Float32Array,
  backgroundSpread?: number,
): InnovationDiagnostics {
  const P = obs.operator.size;
  const hb = obs.operator.apply(background, new Float64Array(P));
  const ha = obs.operator.apply(analysis, new Float64Array(P));
  let oa = 0;
  let ab = 0;
  let r = 0;
  let chi = 0;
  for (let p = 0; p < P; p++) {
    const y = obs.values[p] as number;
    const db = y - (hb[p] as number);
    const sd = obs.std[p] as number;
    oa += (y - (ha[p] as number)) * db;
    ab += ((ha[p] as number) - (hb[p] as number)) * db;
    r += sd * sd;
    if (backgroundSpread !== undefined) chi += (db * db) / (backgroundSpread ** 2 + sd * sd);
  }
  const root = (v: number): number => (v >= 0 ? Math.sqrt(v) : Number.NaN);
  return {
    obsErrorStd: root(oa / P),
    backgroundErrorStd: root(ab / P),
    obsErrorVar: oa / P,
    backgroundErrorVar: ab / P,
    assumedObsErrorStd: Math.sqrt(r / P),
    ...(backgroundSpread === undefined ? {} : { chi2: chi / P }),
  };
}

/** The record of one method at one cycle. */
export function cycleRecord(
  world: CycleWorld,
  out: StepOutcome,
  obs: Observations,
  at: {
    readonly cycle: number;
    readonly stateIndex: number;
    readonly threshold: number;
    readonly seconds: number;
  },
): CycleRecord {
  const truth = world.truth(at.stateIndex);
  const analysisRmse = rmse(out.analysis, truth);
  return {
    cycle: at.cycle,
    stateIndex: at.stateIndex,
    time: world.source.timeOf(at.stateIndex),
    analysisRmse,
    backgroundRmse: rmse(out.background, truth),
    analysisRmseByVar: physicalRmse(world, out.analysis, truth),
    backgroundRmseByVar: physicalRmse(world, out.background, truth),
    ...(out.backgroundSpread === undefined ? {} : { backgroundSpread: out.backgroundSpread }),
    ...(out.analysisSpread === undefined ? {} : { analysisSpread: out.analysisSpread }),
    omb: diffStats(obs, out.background),
    oma: diffStats(obs, out.analysis),
    innovation: innovationDiagnostics(obs, out.background, out.analysis, out.backgroundSpread),
    observations: obs.values.length,
    // NaN (a blown-up state) counts as diverged.
    diverged: !(analysisRmse <= at.threshold),
    seconds: at.seconds,
  };
}

/** What a lead-time forecast is measured against. */
export interface SkillSpec {
  /** The channel scored (the upper geopotential). */
  readonly channel: number;
  /** The threshold, physical units: the skill share times the channel's climatological std. */
  readonly threshold: number;
  /** Longest forecast, in cycle intervals. */
  readonly maxSteps: number;
  /** Hours per interval. */
  readonly intervalHours: number;
}

/**
 * Hours until the latitude-weighted RMSE of `spec.channel` of the forecast from `x` (normalised, valid at state
 * `from`) reaches `spec.threshold`, linearly interpolated between intervals: 0 when the start is already there, null
 * when the forecast stays under it for `maxSteps` intervals (censored).
 */
export async function leadTime(
  world: CycleWorld,
  x: Float32Array,
  from: number,
  spec: SkillSpec,
): Promise<number | null> {
  const score = (s: Float32Array, i: number): number =>
    physicalRmse(world, s, world.truth(i))[spec.channel] as number;
  let prev = score(x, from);
  if (!(prev < spec.threshold)) return 0;
  let state = x;
  for (let k = 1; k <= spec.maxSteps; k++) {
    const i = from + k * world.steps;
    state = await world.forecast(state, i - world.steps);
    const r = score(state, i);
    if (!(r < spec.threshold)) {
      const frac = Number.isFinite(r) ? (spec.threshold - prev) / (r - prev) : 0;
      return (k - 1 + frac) * spec.intervalHours;
    }
    prev = r;
  }
  return null;
}

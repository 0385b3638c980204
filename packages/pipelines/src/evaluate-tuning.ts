/**
 * How the latent evaluation chooses its settings, on the same held-out cases for every method: the tuning cases
 * themselves, one search loop (candidates x cases -> mean analysis MSE, the best kept), and the balance a source
 * declares for the balanced B.
 */
import type { BalanceSpec, Var3DCase } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { mse } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';

import { pickCases } from './cases.js';
import { geoLevels } from './geo.js';
import type { observe } from './observe.js';

/** Lead of backgrounds and verifying forecasts, 6-hourly steps (48 h). */
export const LEAD_STEPS = 8;
/** Cases on which every method's settings (3D-Var's length scales, the guidance strengths, the LETKF) are tuned. */
export const TUNE_CASES = 6;

/** A tuning budget in the protocol card's words: `6 values x 6 alignment-period cases`. */
export function tuneTrials(values: number, cases: number, period: 'alignment' | 'train'): string {
  return `${values} values x ${cases} ${period}-period cases`;
}

/**
 * Mean analysis MSE of each candidate over the cases, candidates in order, cases in order within a candidate, and
 * the candidate with the lowest (the first on ties).
 * @param analyse - the analysis of case `k` with a candidate (normalised, state-sized)
 */
export async function tuneOnCases<T>(
  candidates: readonly T[],
  cases: readonly Var3DCase[],
  shape: readonly [number, number, number],
  metricOpts: { readonly mask?: Uint8Array },
  analyse: (candidate: T, c: Var3DCase, k: number) => Promise<Float32Array>,
): Promise<{ table: { candidate: T; mse: number }[]; best: T }> {
  const table: { candidate: T; mse: number }[] = [];
  let best: { candidate: T; mse: number } | undefined;
  for (const candidate of candidates) {
    let sum = 0;
    for (const [k, c] of cases.entries()) {
      const a = await analyse(candidate, c, k);
      sum += mse({ data: a, shape }, { data: Float32Array.from(c.truth), shape }, metricOpts).overall;
    }
    const row = { candidate, mse: sum / cases.length };
    table.push(row);
    if (best === undefined || row.mse < best.mse) best = row;
  }
  if (best === undefined) throw new AppError('INVALID_ARGUMENT', 'tuneOnCases: no candidates');
  return { table, best: best.candidate };
}

/**
 * The cases on which 3D-Var's length scale and the guidance strengths are tuned: from the alignment period when the
 * source has one (held out from every training, so a prior that has seen the train period's truths cannot flatter
 * its own guidance strength), else every (nTrain / TUNE_CASES)-th train case.
 */
export async function tuningCases(
  source: DaSource,
  trainIdx: readonly number[],
  pairs: { readonly background: { readonly data: Float32Array | Float64Array } },
  background: (i: number) => Promise<Float32Array>,
  normState: (i: number) => Float32Array,
  observeAt: (i: number, k: number) => ReturnType<typeof observe>,
): Promise<{ cases: Var3DCase[]; indices: number[]; period: 'alignment' | 'train' }> {
  const tunePeriod = source.periods.alignment;
  const cases: Var3DCase[] = [];
  const indices: number[] = [];
  if (tunePeriod !== undefined && tunePeriod[1] - tunePeriod[0] - LEAD_STEPS >= TUNE_CASES) {
    for (const [k, i] of pickCases(tunePeriod[0] + LEAD_STEPS, tunePeriod[1], TUNE_CASES, false).entries()) {
      cases.push({ background: await background(i), truth: normState(i), obs: observeAt(i, k) });
      indices.push(i);
    }
    return { cases, indices, period: 'alignment' };
  }
  const size = source.shape[0] * source.shape[1] * source.shape[2];
  const every = Math.floor(trainIdx.length / TUNE_CASES);
  for (const [k, i] of trainIdx.entries()) {
    if (k % every !== 0 || cases.length >= TUNE_CASES) continue;
    cases.push({
      background: Float32Array.from(pairs.background.data.subarray(k * size, (k + 1) * size)),
      truth: normState(i),
      obs: observeAt(i, k),
    });
    indices.push(i);
  }
  return { cases, indices, period: 'train' };
}

/**
 * The balance of a source for the balanced B: its geostrophic levels (z with u and v of the same suffix), its
 * declared hydrostatic layers and Coriolis parameter, and the normalisation's std per channel. Undefined when the
 * source declares no dynamics or has no geostrophic level (ncep-air: temperature only).
 */
export function balanceSpec(
  source: Pick<DaSource, 'channels' | 'dynamics'>,
  std: ArrayLike<number>,
): BalanceSpec | undefined {
  const levels = geoLevels(source.channels);
  if (source.dynamics === undefined || levels.length === 0) return undefined;
  return {
    levels: levels.map((l) => ({ z: l.z, u: l.u, v: l.v })),
    ...(source.dynamics.hydrostatic === undefined ? {} : { hydrostatic: source.dynamics.hydrostatic }),
    coriolis: source.dynamics.coriolis,
    channelStd: Array.from(std),
    channels: source.channels,
  };
}

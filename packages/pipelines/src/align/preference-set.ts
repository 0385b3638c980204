/**
 * Preference data for alignment (METHOD.md section 6, issue 12 item 2): conditions of the alignment period, each a
 * (truth, 48 h background) pair; N ObsFree candidates of the reference prior per condition drawn as ONE batched
 * sampler call (members as the batch); the candidates decoded and scored by the rewards the source allows; winners
 * and losers chosen within each condition by the set's rule. Conditions are split into pair conditions (the DPO
 * training pairs) and held-out conditions (held-out pairs: the choice of beta, early diagnostics); nothing here
 * touches the test period.
 */
import { memberSeed, rewardTable, rewardsOfSet, selectPreferencePairs } from '@alignda/da';
import type { PreferenceSetName, RewardName, RewardScales, RewardTable } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { createLatentSessions } from '@alignda/nn';
import type { LatentModels, PreferencePairs } from '@alignda/nn';
import { denormalise, normalise } from '@alignda/tensor';
import type { Tensor } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';

import { assimilate } from '../assimilate.js';
import { pickCases } from '../cases.js';
import type { BackgroundKind } from '../evaluate-latent-options.js';
import { LEAD_STEPS, balanceSpec } from '../evaluate-tuning.js';
import { encodeState, latentPrior } from '../latent-models.js';
import { leadForecast } from '../lead-forecast.js';
import { rewardScales, rewardTerms, rewardValues } from '../score/rewards.js';
import type { RewardContext, RewardTerms } from '../score/rewards.js';

/** Options of {@link buildPreferenceSet}. */
export interface PreferenceSetOptions {
  readonly set: PreferenceSetName;
  /** The background kind the reference prior was trained on (its manifest's). */
  readonly background: BackgroundKind;
  /** Candidates N per condition. @defaultValue 32 (the paper's) */
  readonly candidates?: number;
  /** Conditions drawn from the alignment period, evenly spaced. @defaultValue 24 */
  readonly conditions?: number;
  /** Of those, every k-th is held out (k = round(1 / fraction)). @defaultValue 0.25 */
  readonly heldOutFraction?: number;
  /** Sampler steps of the candidates. @defaultValue 64 (the evaluation's) */
  readonly steps?: number;
  /** Seed of the candidates (condition c: memberSeed(seed, c)) and of the pairing. @defaultValue 11 */
  readonly seed?: number;
  readonly onProgress?: (stage: string, fraction: number) => void;
  readonly signal?: AbortSignal;
}

/** What a preference set records besides its pairs. */
export interface PreferenceSetMeta {
  readonly format: typeof PREFERENCE_SET_FORMAT;
  readonly source: string;
  readonly set: PreferenceSetName;
  readonly rewards: readonly RewardName[];
  readonly background: BackgroundKind;
  /** Period the conditions come from and its state-index range [start, end). */
  readonly period: 'alignment';
  readonly periodRange: readonly [number, number];
  readonly candidates: number;
  readonly steps: number;
  readonly seed: number;
  /** State indices of the pair conditions and the held-out conditions. */
  readonly trainConditions: readonly number[];
  readonly heldOutConditions: readonly number[];
  /** The rewards' scales, fixed on the conditions of the set. */
  readonly scales: RewardScales;
  /** How many conditions used the mean-rank fallback (sets M and 4). */
  readonly fallbacks: number;
  readonly trainPairs: number;
  readonly heldOutPairs: number;
  /** Mean of each reward over winners and over losers of the training pairs. */
  readonly rewardMeans: Readonly<Record<string, { readonly winners: number; readonly losers: number }>>;
}

/** The file format tag of a preference set; bump on an incompatible change. */
export const PREFERENCE_SET_FORMAT = 'alignda-preferences/1';

/** A preference set: metadata, and the pairs in the reference's standardised latent space. */
export interface PreferenceSet {
  readonly meta: PreferenceSetMeta;
  readonly train: PreferencePairs;
  readonly heldOut: PreferencePairs;
}

/** One condition's candidates with the raw quantities their rewards are made of. */
interface Scored {
  readonly condition: number;
  readonly latents: Float32Array; // [N, Cz, h, w]
  readonly background: Float32Array; // [Cz, h, w]
  readonly samples: Tensor<Float32Array>; // [N, C, H, W] physical units
  readonly truth: Tensor<Float32Array>; // [C, H, W] physical units
  /** Sibling errors (normalised units) and balance deviations, before the scales. */
  readonly terms: RewardTerms;
}

/**
 * Draws, scores and pairs the candidates of a preference set.
 * @throws AppError INVALID_ARGUMENT for fewer than two candidates, too few alignment-period states for the
 *   conditions, or a set whose rewards the source cannot compute (P or 4 without winds and geopotential)
 */
export async function buildPreferenceSet(
  source: DaSource,
  models: LatentModels,
  options: PreferenceSetOptions,
): Promise<PreferenceSet> {
  const N = options.candidates ?? 32;
  if (!Number.isInteger(N) || N < 2)
    throw new AppError(
      'INVALID_ARGUMENT',
      `preference set: ${N} candidates per condition; pairs need at least two`,
    );
  const steps = options.steps ?? 64;
  const seed = options.seed ?? 11;
  const progress = options.onProgress ?? (() => undefined);
  const norm = models.vae.norm;
  const shape = source.shape;
  const balance = balanceSpec(source, norm.std);
  const rewards = rewardsOfSet(options.set, {
    ...(balance === undefined ? {} : { balance }),
    forecast: true,
    name: source.name,
    channels: source.channels,
  });
  const alignment = source.periods.alignment;
  if (alignment === undefined)
    throw new AppError(
      'FAILED_PRECONDITION',
      `${source.name} declares no alignment period: preference data never come from the train or test period`,
    );
  const [lo, hi] = alignment;
  const nCond = options.conditions ?? 24;
  const wantsForecast = rewards.includes('forecast');
  // A condition needs its background's start 48 h before it, and (for the forecast reward) its verifying truth
  // 48 h after it, inside the period.
  const all = pickCases(lo + LEAD_STEPS, wantsForecast ? hi - LEAD_STEPS : hi, nCond, false);
  const every = Math.max(2, Math.round(1 / (options.heldOutFraction ?? 0.25)));
  const heldOutConditions = all.filter((_, k) => k % every === every - 1);
  const trainConditions = all.filter((_, k) => k % every !== every - 1);

  const one = await createLatentSessions(models, 1, { leadSteps: LEAD_STEPS });
  const ens = await createLatentSessions(models, N, { leadSteps: LEAD_STEPS });
  const forecast = leadForecast(source, norm, one, options.background);
  const zShape = models.score.config.latentShape;
  const normState = (i: number): Float32Array => normalise({ data: source.state(i).data, shape }, norm).data;
  const physical = (x: Float32Array): Float32Array => denormalise({ data: x, shape }, norm).data;
  const size = shape.reduce((a, d) => a * d, 1);
  // [choice] The Geo-Score of a preference set has always been computed on every cell (maskGeo: false).
  const rewardCtx: RewardContext = {
    grid: source.grid,
    validMask: source.validMask,
    balance,
    name: source.name,
    channels: source.channels,
    maskGeo: false,
  };

  const scored: Scored[] = [];
  for (const [k, i] of all.entries()) {
    if (options.signal?.aborted === true)
      throw new AppError('CANCELLED', 'preference set: cancelled while drawing candidates');
    const truthN = normState(i);
    const bg = await forecast(normState(i - LEAD_STEPS), i - LEAD_STEPS);
    const zb = await encodeState(one, bg);
    const a = await assimilate({
      method: 'obsfree',
      prior: latentPrior(ens, zb, zShape),
      members: N,
      seed: memberSeed(seed, i),
      steps,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const xs = a.members ?? new Float32Array();
    const latents = a.latents ?? new Float32Array();
    const samplesN: Tensor<Float32Array> = { data: xs, shape: [N, ...shape] };
    let forecasts: { samples: Tensor<Float32Array>; verification: Tensor<Float32Array> } | undefined;
    if (wantsForecast) {
      const fc = new Float32Array(N * size);
      for (let n = 0; n < N; n++) fc.set(await forecast(xs.subarray(n * size, (n + 1) * size), i), n * size);
      forecasts = {
        samples: { data: fc, shape: [N, ...shape] },
        verification: { data: normState(i + LEAD_STEPS), shape },
      };
    }
    const phys = new Float32Array(N * size);
    for (let n = 0; n < N; n++) phys.set(physical(xs.subarray(n * size, (n + 1) * size)), n * size);
    const samples: Tensor<Float32Array> = { data: phys, shape: [N, ...shape] };
    const truth: Tensor<Float32Array> = { data: Float32Array.from(source.state(i).data), shape };
    scored.push({
      condition: i,
      latents,
      background: zb,
      samples,
      truth,
      terms: rewardTerms(
        rewards,
        {
          samples,
          truth,
          normalised: { samples: samplesN, truth: { data: truthN, shape } },
          ...(forecasts === undefined ? {} : { forecasts }),
        },
        rewardCtx,
      ),
    });
    progress(`candidates (${N} per condition)`, (k + 1) / all.length);
  }

  // Scales over every condition of the set (pair and held-out alike: all alignment period).
  const scales: RewardScales = rewardScales(
    rewards,
    scored.map((s) => s.terms),
  );
  const tables = new Map<number, RewardTable>();
  for (const s of scored)
    tables.set(
      s.condition,
      rewardTable(rewardValues(rewards, s.terms, scales, { samples: s.samples, truth: s.truth }, rewardCtx)),
    );

  const select = (conds: readonly number[]) =>
    selectPreferencePairs(
      conds.map((c) => ({ condition: c, table: tables.get(c) as RewardTable })),
      { set: options.set, rewards, seed },
    );
  const trainSel = select(trainConditions);
  const heldSel = select(heldOutConditions);
  const byCondition = new Map(scored.map((s) => [s.condition, s]));
  const zSize = zShape.reduce((a, d) => a * d, 1);
  const pairsOf = (sel: typeof trainSel): PreferencePairs => {
    const count = sel.pairs.length;
    const winners = new Float32Array(count * zSize);
    const losers = new Float32Array(count * zSize);
    const backgrounds = new Float32Array(count * zSize);
    sel.pairs.forEach((p, k) => {
      const s = byCondition.get(p.condition) as Scored;
      winners.set(s.latents.subarray(p.winner * zSize, (p.winner + 1) * zSize), k * zSize);
      losers.set(s.latents.subarray(p.loser * zSize, (p.loser + 1) * zSize), k * zSize);
      backgrounds.set(s.background, k * zSize);
    });
    return { count, winners, losers, backgrounds };
  };
  const rewardMeans: Record<string, { winners: number; losers: number }> = {};
  for (const [j, r] of rewards.entries()) {
    let w = 0;
    let l = 0;
    for (const p of trainSel.pairs) {
      const t = tables.get(p.condition) as RewardTable;
      const K = t.rewards.length;
      const col = t.rewards.indexOf(r);
      w += (t.values[p.winner * K + (col < 0 ? j : col)] as number) / trainSel.pairs.length;
      l += (t.values[p.loser * K + (col < 0 ? j : col)] as number) / trainSel.pairs.length;
    }
    rewardMeans[r] = { winners: w, losers: l };
  }
  return {
    meta: {
      format: PREFERENCE_SET_FORMAT,
      source: source.name,
      set: options.set,
      rewards,
      background: options.background,
      period: 'alignment',
      periodRange: [lo, hi],
      candidates: N,
      steps,
      seed,
      trainConditions,
      heldOutConditions,
      scales,
      fallbacks: trainSel.fallbacks + heldSel.fallbacks,
      trainPairs: trainSel.pairs.length,
      heldOutPairs: heldSel.pairs.length,
      rewardMeans,
    },
    train: pairsOf(trainSel),
    heldOut: pairsOf(heldSel),
  };
}

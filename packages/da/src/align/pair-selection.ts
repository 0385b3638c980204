/**
 * Preference pairs from the rewards of one condition's candidates (METHOD.md section 6): winners and losers by the
 * rule of the set, paired at random, always within one condition.
 */
import { createRng } from '@alignda/tensor';
import { invalidArgument } from '../internal/errors.js';
import { memberSeed } from '../internal/seeds.js';
import { REWARD_NAMES, checkSetRewards, parseRewardName } from './reward-names.js';
import type { PreferenceSetName, RewardName } from './reward-names.js';

/** The rewards of one condition's N candidates. */
export interface RewardTable {
  /** The reward of each column, length K, no name twice. */
  readonly rewards: readonly RewardName[];
  /** Values, row-major [N candidates, K rewards], finite, higher = better. */
  readonly values: Float64Array;
}

/** A preference pair: two candidates of one condition, the winner preferred. */
export interface PreferencePair {
  /** The condition (the alignment-period state index of its background and truth). */
  readonly condition: number;
  /** Index of the preferred candidate among the condition's N. */
  readonly winner: number;
  /** Index of the other candidate. */
  readonly loser: number;
}

/** Options of {@link selectConditionPairs} and {@link selectPreferencePairs}. */
export interface PairSelectionOptions {
  /** The preference set, which decides the rule: P top vs bottom on geo; M and 4 joint top vs bottom decile. */
  readonly set: PreferenceSetName;
  /** The columns ranked on, as `rewardsOfSet` gives them for the dataset. */
  readonly rewards: readonly RewardName[];
  /** Seed of the random pairing; condition c pairs with the stream memberSeed(seed, c), whatever the order. */
  readonly seed: number;
  /**
   * The most pairs kept per condition, drawn without replacement from winners x losers.
   * @defaultValue Infinity: every winner x loser pair with a preference (25 for P, 16 for M at N = 32)
   */
  readonly maxPairsPerCondition?: number;
  /**
   * Set P's winners and losers: the top and bottom this many by Geo-Score, at most floor(N / 2) so they never meet.
   * @defaultValue 5 (METHOD.md section 6)
   */
  readonly extremes?: number;
}

/** The selection in one condition. */
export interface ConditionSelection {
  readonly condition: number;
  /** Winning candidates, best mean rank first. */
  readonly winners: readonly number[];
  /** Losing candidates, best mean rank first. */
  readonly losers: readonly number[];
  /** Whether the joint top or bottom set was empty and the mean-rank fallback chose them (M and 4 only). */
  readonly fallback: boolean;
  /** Winner x loser pairs dropped because neither is preferred (equal mean rank: tied rewards). */
  readonly ties: number;
  /** The pairs, in random order. */
  readonly pairs: readonly PreferencePair[];
}

/** The pairs of a period, with what the selection did. */
export interface PreferencePairs {
  /** Every pair, de-duplicated, in condition order. */
  readonly pairs: readonly PreferencePair[];
  /** The selection in each condition, in input order. */
  readonly conditions: readonly ConditionSelection[];
  /** How many conditions used the mean-rank fallback. */
  readonly fallbacks: number;
  /** How many pairs were dropped as duplicates (a condition listed twice). */
  readonly duplicates: number;
}

/**
 * A reward table from one column per reward, in {@link REWARD_NAMES} order.
 * @param columns - each reward's values for the N candidates, shape [N], finite
 * @throws AppError INVALID_ARGUMENT on no column, columns of different lengths, or a non-finite value
 */
export function rewardTable(columns: Readonly<Partial<Record<RewardName, ArrayLike<number>>>>): RewardTable {
  const fn = 'rewardTable';
  for (const k of Object.keys(columns)) parseRewardName(k);
  const rewards = REWARD_NAMES.filter((r) => columns[r] !== undefined);
  if (rewards.length === 0) throw invalidArgument(fn, 'no reward column');
  const N = columns[rewards[0] as RewardName]?.length ?? 0;
  const K = rewards.length;
  const values = new Float64Array(N * K); // [N, K]
  rewards.forEach((r, k) => {
    const col = columns[r] as ArrayLike<number>;
    if (col.length !== N)
      throw invalidArgument(fn, `column '${r}' has ${col.length} candidates but '${rewards[0]}' has ${N}`);
    for (let n = 0; n < N; n++) {
      const v = col[n] as number;
      if (!Number.isFinite(v)) throw invalidArgument(fn, `column '${r}', candidate ${n}: ${v} is not finite`);
      values[n * K + k] = v;
    }
  });
  return { rewards, values };
}

/** The de-duplication key of a pair: (condition, winner, loser) exactly, so distinct pairs never collide. */
export function pairKey(pair: PreferencePair): string {
  return `${pair.condition}:${pair.winner}:${pair.loser}`;
}

/** The pairs with duplicates (same {@link pairKey}) removed, first occurrence kept, and how many were dropped. */
export function dedupePairs(pairs: readonly PreferencePair[]): {
  pairs: PreferencePair[];
  duplicates: number;
} {
  const seen = new Set<string>();
  const out: PreferencePair[] = [];
  for (const p of pairs) {
    const key = pairKey(p);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return { pairs: out, duplicates: pairs.length - out.length };
}

/** Candidate indices by decreasing value, ties by increasing index. */
function orderBy(N: number, value: (n: number) => number): number[] {
  return Array.from({ length: N }, (_, n) => n).sort((a, b) => value(b) - value(a) || a - b);
}

/** Fractional ranks, 1 = best, tied values sharing the mean of their ranks, shape [N]. */
function fractionalRanks(N: number, value: (n: number) => number): Float64Array {
  const order = orderBy(N, value);
  const rank = new Float64Array(N);
  for (let i = 0; i < N;) {
    let j = i;
    while (j + 1 < N && value(order[j + 1] as number) === value(order[i] as number)) j++;
    for (let k = i; k <= j; k++) rank[order[k] as number] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return rank;
}

/**
 * Winners and losers of one condition, paired at random (METHOD.md section 6):
 * - set P: the top q and bottom q by Geo-Score, q = min(extremes, floor(N / 2));
 * - sets M and 4: the joint top q = ceil(N / 10): winners are in the top q of every reward of the set, losers in the
 *   bottom q of every reward (ranks by decreasing value, ties by candidate index). When either joint set is empty,
 *   the mean-rank fallback **[choice]**: candidates ordered by their mean over the rewards of the fractional rank
 *   (ties share their mean rank), the first q win and the last q lose, and `fallback` says so.
 * Every winner x loser pair in which the winner's mean rank is strictly better is a candidate pair (tied pairs, e.g.
 * identical samples, carry no preference and are counted in `ties`); they are shuffled by a seeded Rng and the first
 * `maxPairsPerCondition` kept, so no pair repeats.
 * @param condition - the condition's index, an integer >= 0
 * @param table - the rewards of its N >= 2 candidates
 * @throws AppError INVALID_ARGUMENT on fewer than two candidates, a reward the table lacks, rewards that do not fit
 *   the set, a malformed table, or bad options
 */
export function selectConditionPairs(
  condition: number,
  table: RewardTable,
  options: PairSelectionOptions,
): ConditionSelection {
  const fn = 'selectConditionPairs';
  if (!Number.isSafeInteger(condition) || condition < 0)
    throw invalidArgument(fn, `condition must be an integer >= 0, got ${condition}`);
  const { set, rewards } = options;
  checkSetRewards(fn, set, rewards);
  const K = table.rewards.length;
  const N = K === 0 ? 0 : table.values.length / K;
  if (K === 0 || !Number.isInteger(N))
    throw invalidArgument(
      fn,
      `condition ${condition}: ${table.values.length} values for ${K} reward columns`,
    );
  if (N < 2)
    throw invalidArgument(
      fn,
      `condition ${condition} has ${N} candidate${N === 1 ? '' : 's'}; preference pairs need at least two`,
    );
  const cols = rewards.map((r) => {
    const k = table.rewards.indexOf(r);
    if (k < 0)
      throw invalidArgument(
        fn,
        `set ${set} ranks on '${r}' but the table has only [${table.rewards.join(', ')}]`,
      );
    return k;
  });
  const bad = table.values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw invalidArgument(
      fn,
      `condition ${condition}, candidate ${Math.floor(bad / K)}, reward '${table.rewards[bad % K]}': ${table.values[bad]} is not finite`,
    );
  const extremes = options.extremes ?? 5;
  if (!Number.isInteger(extremes) || extremes < 1)
    throw invalidArgument(fn, `extremes must be an integer >= 1, got ${extremes}`);
  const maxPairs = options.maxPairsPerCondition ?? Infinity;
  if (!(maxPairs >= 1) || (maxPairs !== Infinity && !Number.isInteger(maxPairs)))
    throw invalidArgument(fn, `maxPairsPerCondition must be an integer >= 1 or Infinity, got ${maxPairs}`);

  const value = (k: number) => (n: number) => table.values[n * K + k] as number;
  const q = set === 'P' ? Math.min(extremes, Math.floor(N / 2)) : Math.ceil(N / 10);
  const meanRank = new Float64Array(N);
  for (const k of cols) {
    const r = fractionalRanks(N, value(k));
    for (let n = 0; n < N; n++) meanRank[n] = (meanRank[n] as number) + (r[n] as number) / cols.length;
  }
  const byMeanRank = orderBy(N, (n) => -(meanRank[n] as number)); // best (smallest) mean rank first
  const position = cols.map((k) => {
    const pos = new Int32Array(N);
    orderBy(N, value(k)).forEach((n, i) => (pos[n] = i));
    return pos;
  });
  let winners = byMeanRank.filter((n) => position.every((p) => (p[n] as number) < q));
  let losers = byMeanRank.filter((n) => position.every((p) => (p[n] as number) >= N - q));
  const fallback = winners.length === 0 || losers.length === 0;
  if (fallback) {
    winners = byMeanRank.slice(0, q);
    losers = byMeanRank.slice(N - q);
  }

  const candidates: PreferencePair[] = [];
  for (const winner of winners)
    for (const loser of losers)
      if ((meanRank[winner] as number) < (meanRank[loser] as number))
        candidates.push({ condition, winner, loser });
  const ties = winners.length * losers.length - candidates.length;
  const rng = createRng(memberSeed(options.seed, condition));
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = rng.int(i + 1); // Fisher-Yates: uniform over orderings
    [candidates[i], candidates[j]] = [candidates[j] as PreferencePair, candidates[i] as PreferencePair];
  }
  return {
    condition,
    winners,
    losers,
    fallback,
    ties,
    pairs: candidates.slice(0, Math.min(maxPairs, candidates.length)),
  };
}

/**
 * {@link selectConditionPairs} over the conditions of a period, with the pairs de-duplicated by {@link pairKey} and
 * the number of conditions where the mean-rank fallback fired.
 * @param conditions - each condition's index and reward table
 */
export function selectPreferencePairs(
  conditions: readonly { readonly condition: number; readonly table: RewardTable }[],
  options: PairSelectionOptions,
): PreferencePairs {
  const selections = conditions.map((c) => selectConditionPairs(c.condition, c.table, options));
  const { pairs, duplicates } = dedupePairs(selections.flatMap((s) => s.pairs));
  return {
    pairs,
    conditions: selections,
    fallbacks: selections.filter((s) => s.fallback).length,
    duplicates,
  };
}

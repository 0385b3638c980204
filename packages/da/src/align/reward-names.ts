/**
 * The reward registry (METHOD.md sections 5-6): the four reward names, the three preference sets, which rewards a
 * dataset can compute, and which rewards each set ranks on.
 */
import type { BalanceSpec } from '../var3d/balance.js';
import { invalidArgument } from '../internal/errors.js';

/**
 * The rewards, all higher = better:
 * - `assim`: Bradley-Terry win rate of the analysis error among siblings, in [0, 1];
 * - `forecast`: the same on the errors of 48-hour forecasts from each sample, in [0, 1];
 * - `geo`: Geo-Score, geostrophic balance as close to the truth's as possible, in (0, 1];
 * - `hydro`: the same score of hydrostatic (thickness-temperature) balance, in (0, 1].
 */
export const REWARD_NAMES = ['assim', 'forecast', 'geo', 'hydro'] as const;

/** One of {@link REWARD_NAMES}. */
export type RewardName = (typeof REWARD_NAMES)[number];

/**
 * The preference sets: `P` (physics: Geo-Score top vs bottom), `M` (multi-reward: joint top vs bottom decile of
 * assim, forecast and geo where the dataset has it), `4` (`M` plus hydro).
 */
export const PREFERENCE_SET_NAMES = ['P', 'M', '4'] as const;

/** One of {@link PREFERENCE_SET_NAMES}. */
export type PreferenceSetName = (typeof PREFERENCE_SET_NAMES)[number];

/** What a dataset has, as far as rewards go. */
export interface RewardCapabilities {
  /**
   * The dataset's balance relations (the BalanceSpec of the balanced 3D-Var fits): `geo` needs a level with a
   * geopotential and both wind components, `hydro` a hydrostatic layer.
   * @defaultValue none: neither `geo` nor `hydro` (ncep-air: one temperature variable)
   */
  readonly balance?: Pick<BalanceSpec, 'levels' | 'hydrostatic'> | undefined;
  /**
   * Whether a frozen forecast model exists to run 48 hours from each sample.
   * @defaultValue true (every source of the platform has one)
   */
  readonly forecast?: boolean;
  /** The dataset's name, for messages. @defaultValue 'the dataset' */
  readonly name?: string;
  /** The dataset's channel names, for messages. @defaultValue none */
  readonly channels?: readonly string[];
}

/**
 * The scales of the rewards, fixed on the alignment period and stored with a preference set (METHOD.md section 5).
 * Only the rewards of the set are present.
 */
export interface RewardScales {
  /** s_m of `assim` per variable (channel), in the units of the errors: length C, > 0. */
  readonly assim?: readonly number[];
  /** s_m of `forecast` per variable (channel), in the units of the errors: length C, > 0. */
  readonly forecast?: readonly number[];
  /** s of `geo`: a difference of geostrophic deviation, dimensionless, > 0. */
  readonly geo?: number;
  /** s of `hydro`: a difference of hydrostatic deviation, K, > 0. */
  readonly hydro?: number;
}

/** Whether a balance has a level with a geopotential and both wind components. */
function hasGeostrophicLevel(balance: RewardCapabilities['balance']): boolean {
  return (balance?.levels ?? []).some((l) => l.u !== undefined && l.v !== undefined);
}

/** Whether a balance has a hydrostatic layer. */
function hasHydrostaticLayer(balance: RewardCapabilities['balance']): boolean {
  return (balance?.hydrostatic ?? []).length > 0;
}

/**
 * The rewards a dataset can compute, in {@link REWARD_NAMES} order: `assim` always, `forecast` unless there is no
 * forecast model, `geo` with a geostrophic level (z, u and v), `hydro` with a hydrostatic layer.
 */
export function availableRewards(caps: RewardCapabilities): RewardName[] {
  return REWARD_NAMES.filter((r) => {
    switch (r) {
      case 'assim':
        return true;
      case 'forecast':
        return caps.forecast !== false;
      case 'geo':
        return hasGeostrophicLevel(caps.balance);
      case 'hydro':
        return hasHydrostaticLayer(caps.balance);
    }
  });
}

/**
 * Reads a reward name.
 * @throws AppError INVALID_ARGUMENT naming the known rewards when `name` is not one of them
 */
export function parseRewardName(name: string): RewardName {
  const hit = REWARD_NAMES.find((r) => r === name);
  if (hit === undefined)
    throw invalidArgument(
      'parseRewardName',
      `unknown reward '${name}'; the rewards are ${REWARD_NAMES.map((r) => `'${r}'`).join(', ')}`,
    );
  return hit;
}

/**
 * Reads a preference set name (`P`, `M` or `4`).
 * @throws AppError INVALID_ARGUMENT naming the known sets when `name` is not one of them
 */
export function parsePreferenceSetName(name: string): PreferenceSetName {
  const hit = PREFERENCE_SET_NAMES.find((s) => s === name);
  if (hit === undefined)
    throw invalidArgument(
      'parsePreferenceSetName',
      `unknown preference set '${name}'; the sets are ${PREFERENCE_SET_NAMES.map((s) => `'${s}'`).join(', ')}`,
    );
  return hit;
}

/** What each reward needs, for messages. */
const NEEDS: Readonly<Record<RewardName, string>> = {
  assim: 'the truth',
  forecast: 'a frozen forecast model to run 48 h from each sample',
  geo: 'a geopotential with both wind components at one level (a balance level with z, u and v)',
  hydro: 'a temperature between two geopotential levels (a hydrostatic layer)',
};

/**
 * The rewards a preference set ranks on, for a dataset: `P` -> [geo]; `M` -> assim, forecast and geo, those the
 * dataset has, at least two; `4` -> those of `M` plus hydro.
 * @throws AppError INVALID_ARGUMENT naming the set, the missing reward and what it needs, when the dataset lacks
 *   it (`P` or `4` on ncep-air, which has neither winds nor geopotential)
 */
export function rewardsOfSet(set: PreferenceSetName, caps: RewardCapabilities): RewardName[] {
  const fn = 'rewardsOfSet';
  const has = availableRewards(caps);
  const what = `${caps.name ?? 'the dataset'}${caps.channels === undefined ? '' : ` (channels ${caps.channels.join(', ')})`}`;
  const need = (r: RewardName): void => {
    if (!has.includes(r))
      throw invalidArgument(
        fn,
        `set ${set} needs the reward '${r}', which needs ${NEEDS[r]}; ${what} has none (its rewards: ${has.join(', ')})`,
        { set, missing: r, available: has },
      );
  };
  if (set === 'P') {
    need('geo');
    return ['geo'];
  }
  const multi = has.filter((r) => r !== 'hydro');
  if (multi.length < 2)
    throw invalidArgument(
      fn,
      `set ${set} needs at least two of the rewards assim, forecast, geo; ${what} has only ${multi.join(', ')}`,
      { set, available: has },
    );
  if (set === 'M') return multi;
  need('hydro');
  return [...multi, 'hydro'];
}

/**
 * Checks that `rewards` fit `set` as {@link rewardsOfSet} builds them: `P` exactly [geo]; `M` at least two of
 * assim, forecast, geo and no hydro; `4` those plus hydro. No name twice.
 * @param fn - the public function asking, for messages
 * @throws AppError INVALID_ARGUMENT naming the set and its rewards
 */
export function checkSetRewards(fn: string, set: PreferenceSetName, rewards: readonly RewardName[]): void {
  const list = `[${rewards.join(', ')}]`;
  rewards.forEach((r) => parseRewardName(r));
  if (new Set(rewards).size !== rewards.length)
    throw invalidArgument(fn, `set ${set}: rewards ${list} name one reward twice`);
  const multi = rewards.filter((r) => r !== 'hydro');
  const ok =
    set === 'P'
      ? rewards.length === 1 && rewards[0] === 'geo'
      : multi.length >= 2 && rewards.includes('hydro') === (set === '4');
  if (!ok)
    throw invalidArgument(
      fn,
      `set ${set} cannot rank on ${list}: P ranks on [geo]; M on at least two of assim, forecast, geo; 4 on those plus hydro`,
    );
}

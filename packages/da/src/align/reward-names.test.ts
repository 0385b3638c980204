import { describe, expect, it } from 'vitest';
import { AppError } from '@alignda/errors';
import { availableRewards, parsePreferenceSetName, parseRewardName, rewardsOfSet } from './reward-names.js';
import type { RewardCapabilities } from './reward-names.js';

/** The QG world: two geostrophic levels and one hydrostatic layer. */
const qg: RewardCapabilities = {
  name: 'qg',
  balance: {
    levels: [
      { z: 0, u: 2, v: 4 },
      { z: 1, u: 3, v: 5 },
    ],
    hydrostatic: [{ t: 6, zUpper: 0, zLower: 1, thicknessPerKelvin: 315.4 }],
  },
};
/** ncep-air: one temperature variable, no balance. */
const ncepAir: RewardCapabilities = { name: 'ncep-air', channels: ['air'] };

/** The AppError `fn` throws, or a failed expectation. */
function caught(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error('expected an AppError, nothing was thrown');
}

describe('availableRewards', () => {
  it('gives all four rewards to the QG world and only assim and forecast to ncep-air', () => {
    expect(availableRewards(qg)).toEqual(['assim', 'forecast', 'geo', 'hydro']);
    expect(availableRewards(ncepAir)).toEqual(['assim', 'forecast']);
  });

  it('leaves out forecast without a forecast model, and geo for a level that lacks a wind component', () => {
    expect(availableRewards({ ...ncepAir, forecast: false })).toEqual(['assim']);
    expect(availableRewards({ balance: { levels: [{ z: 0, u: 1 }] } })).toEqual(['assim', 'forecast']);
  });
});

describe('rewardsOfSet', () => {
  it('ranks P on geo, M on assim, forecast and geo, and 4 on those plus hydro in the QG world', () => {
    expect(rewardsOfSet('P', qg)).toEqual(['geo']);
    expect(rewardsOfSet('M', qg)).toEqual(['assim', 'forecast', 'geo']);
    expect(rewardsOfSet('4', qg)).toEqual(['assim', 'forecast', 'geo', 'hydro']);
  });

  it('ranks M on assim and forecast on ncep-air', () => {
    expect(rewardsOfSet('M', ncepAir)).toEqual(['assim', 'forecast']);
  });

  it('refuses P and 4 on ncep-air with INVALID_ARGUMENT naming the missing reward, what it needs and the dataset', () => {
    const p = caught(() => rewardsOfSet('P', ncepAir));
    expect(p.code).toBe('INVALID_ARGUMENT');
    expect(p.message).toMatch(/set P needs the reward 'geo'/);
    expect(p.message).toMatch(/geopotential with both wind components/);
    expect(p.message).toMatch(/ncep-air \(channels air\) has none/);
    expect(p.details).toMatchObject({ set: 'P', missing: 'geo' });
    const four = caught(() => rewardsOfSet('4', ncepAir));
    expect(four.message).toMatch(/set 4 needs the reward 'hydro'.*hydrostatic layer/);
  });

  it('refuses M when fewer than two of assim, forecast, geo exist', () => {
    expect(caught(() => rewardsOfSet('M', { ...ncepAir, forecast: false })).message).toMatch(
      /set M needs at least two of the rewards assim, forecast, geo; ncep-air .* has only assim/,
    );
  });
});

describe('parseRewardName and parsePreferenceSetName', () => {
  it('read the known names', () => {
    expect(parseRewardName('hydro')).toBe('hydro');
    expect(parsePreferenceSetName('4')).toBe('4');
  });

  it('refuse an unknown name, listing the known ones', () => {
    const e = caught(() => parseRewardName('wind'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(
      "parseRewardName: unknown reward 'wind'; the rewards are 'assim', 'forecast', 'geo', 'hydro'",
    );
    expect(caught(() => parsePreferenceSetName('m')).message).toMatch(
      /unknown preference set 'm'; the sets are 'P', 'M', '4'/,
    );
  });
});

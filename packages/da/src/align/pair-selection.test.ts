import { describe, expect, it } from 'vitest';
import {
  dedupePairs,
  pairKey,
  rewardTable,
  selectConditionPairs,
  selectPreferencePairs,
} from './pair-selection.js';
import type { PreferencePair } from './pair-selection.js';

const P = { set: 'P', rewards: ['geo'], seed: 7 } as const;
const M = { set: 'M', rewards: ['assim', 'forecast', 'geo'], seed: 7 } as const;
const keys = (ps: readonly PreferencePair[]): string[] => ps.map(pairKey).sort();

describe('selectConditionPairs, set P', () => {
  // Geo-Score of 12 candidates: candidate n scores (n * 5) mod 12 / 12, so the order is a permutation.
  const geo = Array.from({ length: 12 }, (_, n) => ((n * 5) % 12) / 12);
  const byScore = Array.from({ length: 12 }, (_, n) => n).sort(
    (a, b) => (geo[b] as number) - (geo[a] as number),
  );

  it('pairs the top 5 by Geo-Score with the bottom 5, every combination once', () => {
    const s = selectConditionPairs(3, rewardTable({ geo }), P);
    expect(s.winners).toEqual(byScore.slice(0, 5));
    expect(s.losers).toEqual(byScore.slice(7));
    expect(s.fallback).toBe(false);
    expect(s.pairs).toHaveLength(25);
    expect(new Set(s.pairs.map(pairKey)).size).toBe(25);
    for (const p of s.pairs) {
      expect(p.condition).toBe(3);
      expect(geo[p.winner]).toBeGreaterThan(geo[p.loser] as number);
    }
  });

  it('draws the same pairs in the same order for the same seed and condition, another order for another seed', () => {
    const t = rewardTable({ geo, assim: geo.map((g) => 1 - g) });
    const a = selectConditionPairs(3, t, P).pairs;
    expect(selectConditionPairs(3, t, P).pairs).toEqual(a);
    const b = selectConditionPairs(3, t, { ...P, seed: 8 }).pairs;
    expect(b).not.toEqual(a);
    expect(keys(b)).toEqual(keys(a));
  });

  it('keeps at most maxPairsPerCondition distinct pairs, and top and bottom floor(N / 2) when N < 10', () => {
    expect(
      selectConditionPairs(0, rewardTable({ geo }), { ...P, maxPairsPerCondition: 10 }).pairs,
    ).toHaveLength(10);
    const s = selectConditionPairs(0, rewardTable({ geo: [0.3, 0.9, 0.1] }), P);
    expect([s.winners, s.losers]).toEqual([[1], [2]]);
    expect(s.pairs).toEqual([{ condition: 0, winner: 1, loser: 2 }]);
  });
});

describe('selectConditionPairs, sets M and 4', () => {
  it('takes as winners the candidates in the top ceil(N / 10) of every reward, and as losers those in the bottom of every reward (N = 20: 2)', () => {
    // Rewards 20 - n (candidate 0 best, 19 worst), except: candidate 2 first on assim (so assim's top 2 is {2, 0}),
    // candidate 17 last on geo (so geo's bottom 2 is {19, 17}). Joint top 2: {0} (1 is third on assim); joint
    // bottom 2: {19} (18 is third from last on geo).
    const base = Array.from({ length: 20 }, (_, n) => 20 - n);
    const assim = [...base];
    assim[2] = 25;
    const geo = [...base];
    geo[17] = -5;
    const s = selectConditionPairs(5, rewardTable({ assim, forecast: base, geo }), M);
    expect(s.fallback).toBe(false);
    expect(s.winners).toEqual([0]);
    expect(s.losers).toEqual([19]);
    expect(s.pairs).toEqual([{ condition: 5, winner: 0, loser: 19 }]);
  });

  it('falls back to the mean rank when no candidate is joint top, and says so', () => {
    // N = 4 (q = 1). Ranks: assim 0 1 2 3, forecast 1 0 2 3, geo 0 2 1 3 (candidate by place). Joint top: none
    // (0 tops assim, 1 tops forecast). Mean ranks: 4/3, 2, 8/3, 4 -> winner 0, loser 3.
    const s = selectConditionPairs(
      9,
      rewardTable({ assim: [4, 3, 2, 1], forecast: [3, 4, 2, 1], geo: [4, 2, 3, 1] }),
      M,
    );
    expect(s.fallback).toBe(true);
    expect([s.winners, s.losers]).toEqual([[0], [3]]);
    expect(s.pairs).toEqual([{ condition: 9, winner: 0, loser: 3 }]);
  });

  it('ranks set 4 on hydro as well: a hydro ranking that disagrees empties the joint set', () => {
    const cols = { assim: [4, 3, 2, 1], forecast: [4, 3, 2, 1], geo: [4, 3, 2, 1] };
    const m = selectConditionPairs(0, rewardTable({ ...cols, hydro: [1, 2, 3, 4] }), M);
    expect([m.fallback, m.winners, m.losers]).toEqual([false, [0], [3]]);
    const four = selectConditionPairs(0, rewardTable({ ...cols, hydro: [1, 2, 3, 4] }), {
      set: '4',
      rewards: ['assim', 'forecast', 'geo', 'hydro'],
      seed: 1,
    });
    expect(four.fallback).toBe(true);
  });

  it('makes no pair of identical candidates (win rates 0.5, equal scores) and counts them as ties', () => {
    const s = selectConditionPairs(0, rewardTable({ assim: [0.5, 0.5, 0.5], forecast: [0.5, 0.5, 0.5] }), {
      set: 'M',
      rewards: ['assim', 'forecast'],
      seed: 1,
    });
    expect(s.pairs).toEqual([]);
    expect(s.ties).toBe(1);
  });
});

describe('selectPreferencePairs and dedupePairs', () => {
  it('counts the conditions where the fallback fired and drops the pairs of a condition listed twice', () => {
    const joint = rewardTable({ assim: [4, 3, 2, 1], forecast: [4, 3, 2, 1], geo: [4, 3, 2, 1] });
    const split = rewardTable({ assim: [4, 3, 2, 1], forecast: [3, 4, 2, 1], geo: [4, 2, 3, 1] });
    const r = selectPreferencePairs(
      [
        { condition: 1, table: joint },
        { condition: 2, table: split },
        { condition: 1, table: joint },
      ],
      M,
    );
    expect(r.fallbacks).toBe(1);
    expect(r.duplicates).toBe(1);
    expect(keys(r.pairs)).toEqual(['1:0:3', '2:0:3']);
  });

  it('keeps the first of each (condition, winner, loser)', () => {
    const a = { condition: 1, winner: 2, loser: 3 };
    const b = { condition: 1, winner: 3, loser: 2 };
    const c = { condition: 2, winner: 2, loser: 3 };
    expect(dedupePairs([a, b, { ...a }, c, { ...c }])).toEqual({ pairs: [a, b, c], duplicates: 2 });
  });
});

describe('bad input', () => {
  it('refuses fewer than two candidates per condition', () => {
    expect(() => selectConditionPairs(4, rewardTable({ geo: [0.4] }), P)).toThrow(
      /condition 4 has 1 candidate; preference pairs need at least two/,
    );
  });

  it('refuses rewards that do not fit the set, a reward the table lacks, and an unknown reward', () => {
    const t = rewardTable({ assim: [1, 2], geo: [1, 2] });
    expect(() => selectConditionPairs(0, t, { set: 'P', rewards: ['assim'], seed: 1 })).toThrow(
      /set P cannot rank on \[assim\]/,
    );
    expect(() =>
      selectConditionPairs(0, t, { set: 'M', rewards: ['assim', 'geo', 'hydro'], seed: 1 }),
    ).toThrow(/set M cannot rank on/);
    expect(() => selectConditionPairs(0, t, M)).toThrow(
      /set M ranks on 'forecast' but the table has only \[assim, geo\]/,
    );
    expect(() => rewardTable({ wind: [1, 2] } as never)).toThrow(/unknown reward 'wind'/);
  });

  it('refuses a non-finite reward, columns of different lengths, a negative condition and bad options', () => {
    expect(() => rewardTable({ geo: [1, NaN] })).toThrow(/column 'geo', candidate 1: NaN is not finite/);
    expect(() => rewardTable({ geo: [1, 2], assim: [1] })).toThrow(
      /column 'geo' has 2 candidates but 'assim' has 1/,
    );
    const t = rewardTable({ geo: [1, 2] });
    expect(() => selectConditionPairs(-1, t, P)).toThrow(/condition must be an integer >= 0, got -1/);
    expect(() => selectConditionPairs(0, t, { ...P, maxPairsPerCondition: 0 })).toThrow(
      /maxPairsPerCondition/,
    );
    expect(() => selectConditionPairs(0, t, { ...P, extremes: 1.5 })).toThrow(
      /extremes must be an integer >= 1/,
    );
  });
});

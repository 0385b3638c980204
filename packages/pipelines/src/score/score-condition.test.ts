import {
  bradleyTerryWinRates,
  deviationScale,
  geoDeviations,
  geoReward,
  siblingErrors,
  winRateScales,
} from '@alignda/da';
import { betaPlaneGrid, createRng } from '@alignda/tensor';
import type { Field, Tensor } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { balanceSpec } from '../evaluate-tuning.js';
import type { ForecastPort } from './ports.js';
import { rewardScales, rewardTerms, rewardValues } from './rewards.js';
import type { ConditionFields } from './rewards.js';
import { scoreCondition } from './score-condition.js';
import type { ScoreDataset } from './score-condition.js';

const [C, H, W] = [3, 12, 16];
const grid = betaPlaneGrid({ H, W, dxM: 200e3, dyM: 200e3, latCentreDeg: 45 });
const STD = [800, 8, 8];
const channels = ['z', 'u', 'v'];
const dataset: ScoreDataset = {
  name: 'zuv',
  channels,
  grid,
  std: STD,
  balance: balanceSpec({ channels, dynamics: { coriolis: { kind: 'f0', f0PerS: grid.f0PerS } } }, STD),
};

/** A geostrophic state plus noise. */
function state(noise: number, seed: number): Field {
  const rng = createRng(seed);
  const [kx, ly, f0] = [(2 * Math.PI * 2) / (W * 200e3), Math.PI / (H * 200e3), grid.f0PerS];
  const data = new Float32Array(C * H * W);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++) {
      const [x, y, g] = [j * 200e3, i * 200e3, i * W + j];
      data[g] = 5e4 + 900 * Math.sin(kx * x) * Math.sin(ly * y) + 20 * noise * rng.normal();
      data[H * W + g] = (-900 * ly * Math.sin(kx * x) * Math.cos(ly * y)) / f0 + noise * rng.normal();
      data[2 * H * W + g] = (900 * kx * Math.cos(kx * x) * Math.sin(ly * y)) / f0 + noise * rng.normal();
    }
  return { data, shape: [C, H, W], channels, units: ['m2 s-2', 'm s-1', 'm s-1'], grid };
}

const truth = state(0, 1);
const samples = [0.5, 1, 2, 4].map((noise, n) => state(noise, 10 + n));
const N = samples.length;
const scaled = (data: Float32Array): Float32Array =>
  Float32Array.from(data, (v, k) => v / (STD[Math.floor(k / (H * W)) % C] as number));
const stack = (fields: readonly Field[]): Float32Array => {
  const out = new Float32Array(fields.length * C * H * W);
  fields.forEach((s, n) => out.set(s.data, n * C * H * W));
  return out;
};
const fieldsOf = (xs: readonly Field[], t: Field): ConditionFields => ({
  samples: { data: stack(xs), shape: [xs.length, C, H, W] },
  truth: { data: t.data, shape: [C, H, W] },
  normalised: {
    samples: { data: scaled(stack(xs)), shape: [xs.length, C, H, W] },
    truth: { data: scaled(t.data), shape: [C, H, W] },
  },
});

describe('scoreCondition', () => {
  it('scores with scales from its own samples, as packages/da computes them, and forecasts through the port', async () => {
    const stages: string[] = [];
    const calls: number[] = [];
    const persistence: ForecastPort = (initial, _at, steps) => {
      calls.push(steps);
      return Promise.resolve(Float32Array.from(initial.data, (v) => v + 1));
    };
    const out = await scoreCondition(
      samples,
      truth,
      { forecast: persistence },
      {
        dataset,
        rewards: ['geo', 'assim', 'forecast'],
        onProgress: (stage) => void stages.push(stage),
      },
    );
    expect(stages).toEqual(['truth-forecast', 'forecast', 'forecast', 'forecast', 'forecast', 'score']);
    expect(calls).toEqual([8, 8, 8, 8, 8]);
    const errors = siblingErrors(
      { data: scaled(stack(samples)), shape: [N, C, H, W] },
      { data: scaled(truth.data), shape: [C, H, W] },
      grid.latDeg,
    );
    const rAssim = bradleyTerryWinRates(errors, winRateScales([errors]));
    expect(out.samples.map((s) => s.rAssim)).toEqual(Array.from(rAssim));
    const spec = dataset.balance as NonNullable<ScoreDataset['balance']>;
    const sampleTensor: Tensor<Float32Array> = { data: stack(samples), shape: [N, C, H, W] };
    const d = geoDeviations(sampleTensor, grid, spec);
    const dTruth = geoDeviations({ data: truth.data, shape: [1, C, H, W] }, grid, spec).data;
    const geo = geoReward(
      sampleTensor,
      { data: truth.data, shape: [C, H, W] },
      grid,
      spec,
      deviationScale([{ deviations: d, truth: dTruth }]),
    );
    expect(out.samples.map((s) => s.geoScore)).toEqual(Array.from(geo));
    expect(out.samples.every((s) => s.rForecast !== undefined && s.wrmseNormalised.length === C)).toBe(true);
    expect((out.samples[0]?.rAssim ?? 0) > (out.samples[3]?.rAssim ?? 1)).toBe(true);
  });

  it('takes explicit scales, e.g. a preference set fixes them over several conditions', async () => {
    const other = [0.2, 3, 5, 6].map((noise, n) => state(noise, 30 + n));
    const otherTruth = state(0, 2);
    const terms = [fieldsOf(samples, truth), fieldsOf(other, otherTruth)].map((f) =>
      rewardTerms(['assim', 'geo'], f, dataset),
    );
    const scales = rewardScales(['assim', 'geo'], terms);
    const expected = rewardValues(
      ['assim', 'geo'],
      terms[0] ?? {},
      scales,
      fieldsOf(samples, truth),
      dataset,
    );
    const out = await scoreCondition(samples, truth, {}, { dataset, rewards: ['assim', 'geo'], scales });
    expect(out.samples.map((s) => s.rAssim)).toEqual(Array.from(expected.assim ?? []));
    expect(out.samples.map((s) => s.geoScore)).toEqual(Array.from(expected.geo ?? []));
    const own = await scoreCondition(samples, truth, {}, { dataset, rewards: ['assim'] });
    expect(own.samples.map((s) => s.rAssim)).not.toEqual(out.samples.map((s) => s.rAssim));
  });

  it('refuses rewards without the truth, geo without balance channels, R_forecast without a port', async () => {
    await expect(scoreCondition(samples, undefined, {}, { dataset, rewards: ['assim'] })).rejects.toThrow(
      /need the truth/,
    );
    await expect(
      scoreCondition(samples, truth, {}, { dataset: { ...dataset, balance: undefined }, rewards: ['geo'] }),
    ).rejects.toThrow(/zuv has no channels for geo/);
    await expect(scoreCondition(samples, truth, {}, { dataset, rewards: ['forecast'] })).rejects.toThrow(
      /forecast model/,
    );
    const none = await scoreCondition(samples, undefined, {}, { dataset, rewards: [] });
    expect(none.samples.map((s) => s.wrmseNormalised)).toEqual([[], [], [], []]);
  });

  it('gives O-A per sample and O-B against a background', async () => {
    const observations = {
      channelIndex: Int32Array.from([0, 1, 2]),
      row: Int32Array.from([1, 5, 7]),
      col: Int32Array.from([2, 3, 9]),
      value: Float64Array.from([5e4, 1, -1]),
      errorStd: Float64Array.from([10, 1, 1]),
      used: [true, true, false],
    };
    const out = await scoreCondition(
      samples,
      truth,
      {},
      { dataset, rewards: [], observations, background: truth.data },
    );
    const at = (f: Field, p: number): number =>
      f.data[
        ((observations.channelIndex[p] as number) * H + (observations.row[p] as number)) * W +
          (observations.col[p] as number)
      ] as number;
    expect(Array.from(out.oMinusB?.departures ?? [])).toEqual([
      5e4 - at(truth, 0),
      1 - at(truth, 1),
      Number.NaN,
    ]);
    expect(Array.from(out.samples[2]?.oMinusA?.departures ?? [])).toEqual([
      5e4 - at(samples[2] as Field, 0),
      1 - at(samples[2] as Field, 1),
      Number.NaN,
    ]);
    expect(out.oMinusB?.channels.map((c) => c.channelIndex)).toEqual([0, 1]);
  });
});

import { memberSeed } from '@alignda/da';
import type { Observations } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { createField, createRng, fitNormStats, latLonGrid, normalise } from '@alignda/tensor';
import type { Field, NormStats } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';
import { describe, expect, it } from 'vitest';

import { evaluate } from './evaluate.js';
import type { EvalCaseInput, EvalMethod, EvaluateOptions, EvaluatePorts } from './evaluate.js';
import { observe } from './observe.js';

const CHANNELS = ['z_upper', 'u_upper', 'v_upper'] as const;
const UNITS = ['m2 s-2', 'm s-1', 'm s-1'] as const;
const [C, H, W] = [3, 5, 8];
const SIZE = C * H * W;
const COUNT = 12;
/** The background's error: a constant shift in normalised units, so its MSE is C_SHIFT^2 and its MAE C_SHIFT. */
const C_SHIFT = 0.3;

/**
 * An in-memory source: 12 states of random data (z ~ 5e4 +- 800 m2 s-2, u ~ 10 +- 8 m/s, v ~ 0 +- 5 m/s) on a
 * 5 x 8 grid in the mid-latitudes (20-60 N, where the geostrophic diagnostics are defined).
 */
function memorySource(validMask?: Uint8Array): DaSource {
  const grid = latLonGrid([20, 30, 40, 50, 60], [0, 15, 30, 45, 60, 75, 90, 105]);
  const rng = createRng(1);
  const states = Array.from({ length: COUNT }, () => {
    const x = new Float32Array(SIZE);
    const HW = H * W;
    for (let k = 0; k < HW; k++) {
      x[k] = 5e4 + 800 * rng.normal();
      x[HW + k] = 10 + 8 * rng.normal();
      x[2 * HW + k] = 5 * rng.normal();
    }
    return x;
  });
  const shape = [C, H, W] as const;
  return {
    name: 'memory',
    title: 'in-memory test source',
    kind: 'world',
    grid,
    channels: CHANNELS,
    units: UNITS,
    shape,
    count: COUNT,
    periods: { train: [0, 6], test: [6, COUNT] },
    state: (i) => ({ data: states[i] as Float32Array, shape }),
    field: (i) => createField({ data: states[i] as Float32Array, channels: CHANNELS, units: UNITS, grid }),
    timeOf: (i) => new Date(Date.UTC(2000, 0, 1, 6 * i)).toISOString().slice(0, 13),
    ...(validMask === undefined ? {} : { validMask }),
  };
}

function normStatsOf(source: DaSource): NormStats {
  const all = new Float32Array(COUNT * SIZE);
  for (let i = 0; i < COUNT; i++) all.set(source.state(i).data, i * SIZE);
  return fitNormStats({ data: all, shape: [COUNT, C, H, W] }, { channels: source.channels });
}

/** The normalised truth at state i, as the oracle (and the test) see it. */
function normalisedTruth(source: DaSource, norm: NormStats, i: number): Float32Array {
  return normalise({ data: source.state(i).data, shape: source.shape }, norm).data;
}

/** Ports: the background is the truth shifted by C_SHIFT (normalised), the forecast is persistence. */
function ports(source: DaSource, norm: NormStats): EvaluatePorts {
  return {
    source,
    norm,
    background: (i) => Promise.resolve(normalisedTruth(source, norm, i).map((v) => v + C_SHIFT)),
    forecast: (x) => Promise.resolve(Float32Array.from(x)),
  };
}

/** MSE in float64 between the normalised states i and j, computed from the physical values. */
function normalisedMse(source: DaSource, norm: NormStats, i: number, j: number, shift = 0): number {
  const a = source.state(i).data;
  const b = source.state(j).data;
  const HW = H * W;
  let s = 0;
  for (let k = 0; k < SIZE; k++) {
    const c = Math.floor(k / HW);
    const m = norm.mean[c] as number;
    const sd = norm.std[c] as number;
    s += (((a[k] as number) - m) / sd + shift - ((b[k] as number) - m) / sd) ** 2;
  }
  return s / SIZE;
}

interface Seen {
  readonly method: string;
  readonly input: EvalCaseInput;
}

/** The oracle: the normalised truth (it closes over the source and the normalisation; that makes it an oracle). */
function oracle(source: DaSource, norm: NormStats, seen: Seen[]): EvalMethod {
  return {
    id: 'oracle',
    analyse: (c) => {
      seen.push({ method: 'oracle', input: c });
      return Promise.resolve({ analysis: normalisedTruth(source, norm, c.stateIndex) });
    },
  };
}

/** A method that returns the background it is given, with a reported spread and time. */
function echo(seen: Seen[]): EvalMethod {
  return {
    id: 'echo',
    analyse: (c) => {
      seen.push({ method: 'echo', input: c });
      return Promise.resolve({ analysis: Float32Array.from(c.background), spread: 0.5, seconds: 42 });
    },
  };
}

const OPTS: EvaluateOptions = {
  cases: [2, 5, 7],
  seed: 9,
  observe: { layout: 'columns', fraction: 0.25, noiseStd: 0.05 },
  leadSteps: 2,
  geoScoreScale: 0.1,
};

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('resolved');
}

describe('evaluate with in-memory ports', () => {
  const source = memorySource();
  const norm = normStatsOf(source);
  const seen: Seen[] = [];
  const analyses: { k: number; i: number; id: string; field: Field }[] = [];
  const progress: [string, number][] = [];
  let result: ReturnType<typeof evaluate> | undefined;
  const run = () =>
    (result ??= evaluate(ports(source, norm), [oracle(source, norm, seen), echo(seen)], {
      ...OPTS,
      onAnalysis: (k, i, id, field) => analyses.push({ k, i, id, field }),
      onProgress: (stage, f) => progress.push([stage, f]),
    }));

  it('returns one case per index, in order, with scores keyed background then the method ids', async () => {
    const { cases } = await run();
    expect(cases.map((c) => c.stateIndex)).toEqual(OPTS.cases);
    expect(cases.map((c) => c.time)).toEqual(OPTS.cases.map((i) => source.timeOf(i)));
    for (const c of cases) {
      expect(Object.keys(c.scores)).toEqual(['background', 'oracle', 'echo']);
      // round(0.25 x 40) columns x 3 channels
      expect(c.observations).toBe(30);
    }
  });

  it('scores the oracle MSE 0 and MAE 0, and the background the MSE C^2 and MAE |C| of its constant shift', async () => {
    for (const c of (await run()).cases) {
      const { oracle: o, background: b, echo: e } = c.scores;
      expect(o?.mse).toBeLessThan(1e-10);
      expect(o?.mae).toBeLessThan(1e-10);
      // Measured within 1e-8 of C^2 and |C| (float32 round-off).
      expect(Math.abs((b?.mse ?? NaN) - C_SHIFT ** 2)).toBeLessThan(1e-6);
      expect(Math.abs((b?.mae ?? NaN) - C_SHIFT)).toBeLessThan(1e-6);
      // The echo method's analysis is the background: the same scores.
      expect(e?.mse).toBe(b?.mse);
    }
  });

  it('scores the weighted RMSE per channel in physical units: C std_c for the background, ~0 for the oracle', async () => {
    for (const c of (await run()).cases) {
      norm.std.forEach((sd, ch) => {
        // Float32 round trips of z ~ 5e4 (ulp 4e-3 m2 s-2) against a shift of ~240: measured 2e-6 relative for z,
        // 1e-7 for the winds; the oracle's RMSE at most 4e-8 std_c.
        expect(Math.abs((c.scores.background?.wrmse[ch] ?? NaN) / (C_SHIFT * sd) - 1)).toBeLessThan(1e-5);
        expect(c.scores.oracle?.wrmse[ch]).toBeLessThan(1e-6 * sd);
      });
    }
  });

  it('scores forecasts against the truth leadSteps on: the persistence of the oracle has the MSE between the truths at i and i + leadSteps', async () => {
    for (const c of (await run()).cases) {
      const i = c.stateIndex;
      const truthToLater = normalisedMse(source, norm, i, i + OPTS.leadSteps);
      expect(truthToLater).toBeGreaterThan(1); // independent random states: ~2
      expect(Math.abs((c.scores.oracle?.forecastMse ?? NaN) / truthToLater - 1)).toBeLessThan(1e-6);
      const shifted = normalisedMse(source, norm, i, i + OPTS.leadSteps, C_SHIFT);
      expect(Math.abs((c.scores.background?.forecastMse ?? NaN) / shifted - 1)).toBeLessThan(1e-6);
    }
  });

  it("gives the oracle the truth's geostrophic deviation (Geo-Score 1)", async () => {
    for (const c of (await run()).cases) {
      expect(Number.isFinite(c.truthGeoDeviation)).toBe(true);
      // Measured: D within 7e-9 relative of the truth's, Geo-Score 1 - 9e-8 (the shifted background: 0.17 to 0.75).
      expect(Math.abs((c.scores.oracle?.geoDeviation ?? NaN) / c.truthGeoDeviation - 1)).toBeLessThan(1e-6);
      expect(c.scores.oracle?.geoScore).toBeGreaterThan(0.99999);
      expect(c.scores.background?.geoScore).toBeLessThan(0.9);
      expect(c.scores.oracle?.geoScore).toBeLessThanOrEqual(1);
    }
  });

  it('shows every method of a case the same observations, background and seed memberSeed(seed, k), and no truth', async () => {
    const { cases } = await run();
    expect(seen).toHaveLength(2 * cases.length);
    for (const [k, i] of OPTS.cases.entries()) {
      const inputs = seen.filter((s) => s.input.caseIndex === k).map((s) => s.input);
      expect(inputs.map((c) => c.stateIndex)).toEqual([i, i]);
      const [a, b] = inputs as [EvalCaseInput, EvalCaseInput];
      expect(b.obs).toBe(a.obs);
      expect(b.background).toBe(a.background);
      expect(a.seed).toBe(memberSeed(OPTS.seed, k));
      expect(b.seed).toBe(a.seed);
      expect(Object.keys(a).sort()).toEqual([
        'background',
        'caseIndex',
        'obs',
        'onProgress',
        'seed',
        'seedIndex',
        'stateIndex',
      ]);
      // The observations come from the case seed alone: observe() of the normalised truth with that seed.
      const truthN = createField({ ...source.field(i), data: normalisedTruth(source, norm, i) });
      const expected: Observations = observe(truthN, OPTS.observe, createRng(a.seed));
      expect(a.obs.gridIndex).toEqual(expected.gridIndex);
      expect(a.obs.values).toEqual(expected.values);
      expect(a.obs.std).toEqual(expected.std);
      expect(Array.from(a.background)).toEqual(
        Array.from(normalisedTruth(source, norm, i).map((v) => v + C_SHIFT)),
      );
    }
    // Different cases get different seeds, hence different observations.
    expect(seen[0]?.input.obs.gridIndex).not.toEqual(seen[2]?.input.obs.gridIndex);
  });

  it("reports a method's own spread and seconds, and none for a method without a spread", async () => {
    for (const c of (await run()).cases) {
      expect(c.scores.echo?.spread).toBe(0.5);
      expect(c.scores.echo?.seconds).toBe(42);
      expect(c.scores.oracle?.spread).toBeUndefined();
      expect(c.scores.oracle?.seconds).toBeGreaterThanOrEqual(0);
    }
  });

  it('calls onAnalysis once per method (and the background) per case, with physical-unit fields', async () => {
    await run();
    const ids = ['background', 'oracle', 'echo'];
    expect(analyses.map(({ k, i, id }) => [k, i, id])).toEqual(
      OPTS.cases.flatMap((i, k) => ids.map((id) => [k, i, id])),
    );
    for (const { i, id, field } of analyses) {
      expect(field.channels).toEqual(CHANNELS);
      expect(field.units).toEqual(UNITS);
      expect(field.grid).toBe(source.grid);
      expect(field.shape).toEqual([C, H, W]);
      const truth = source.state(i).data;
      const HW = H * W;
      for (let k = 0; k < SIZE; k++) {
        const sd = norm.std[Math.floor(k / HW)] as number;
        const expected = (truth[k] as number) + (id === 'oracle' ? 0 : C_SHIFT * sd);
        expect(Math.abs((field.data[k] as number) - expected)).toBeLessThan(1e-5 * sd);
      }
    }
  });

  it('keeps the first case as the example (a copy of its truth) and reports progress up to 1 stage by stage', async () => {
    const { example } = await run();
    const first = source.field(OPTS.cases[0] as number).data;
    expect(example.truth.data).not.toBe(first); // hiding the source's truth later cannot change the scores
    expect(example.truth.data).toEqual(first);
    expect(Object.keys(example.analyses)).toEqual(['background', 'oracle', 'echo']);
    const stages = ['test cases: backgrounds and observations', 'assimilate (test cases)'];
    expect([...new Set(progress.map(([stage]) => stage))]).toEqual(stages);
    for (const stage of stages) {
      const fractions = progress.filter(([st]) => st === stage).map(([, f]) => f);
      expect(fractions.every((f, j) => j === 0 || f >= (fractions[j - 1] as number))).toBe(true);
      expect(fractions.at(-1)).toBe(1);
    }
  });
});

describe('evaluate on a source with a valid-area mask', () => {
  it('leaves the masked cells out of the scores and out of the observations (the source mask by default)', async () => {
    // The eastern half of the grid is padding; the background is wrong by 100 there, by C_SHIFT elsewhere.
    const validMask = new Uint8Array(H * W);
    for (let i = 0; i < H; i++) for (let j = 0; j < W / 2; j++) validMask[i * W + j] = 1;
    const source = memorySource(validMask);
    const norm = normStatsOf(source);
    const seen: Seen[] = [];
    const p: EvaluatePorts = {
      ...ports(source, norm),
      background: (i) =>
        Promise.resolve(
          normalisedTruth(source, norm, i).map((v, k) => v + (validMask[k % (H * W)] === 1 ? C_SHIFT : 100)),
        ),
    };
    const res = await evaluate(p, [echo(seen)], { ...OPTS, cases: [3] });
    expect(OPTS.observe.validMask).toBeUndefined(); // the mask comes from the source
    const c = res.cases[0];
    expect(Math.abs((c?.scores.background?.mse ?? NaN) - C_SHIFT ** 2)).toBeLessThan(1e-6);
    expect(c?.observations).toBe(Math.round(0.25 * 20) * 3);
    for (const g of seen[0]?.input.obs.gridIndex ?? []) expect(validMask[g % (H * W)]).toBe(1);
  });
});

describe('evaluate rejects', () => {
  const source = memorySource();
  const norm = normStatsOf(source);

  it('no cases: AppError INVALID_ARGUMENT', async () => {
    const e = await rejection(evaluate(ports(source, norm), [echo([])], { ...OPTS, cases: [] }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/no cases/);
  });

  it("a method with the id 'background': AppError INVALID_ARGUMENT", async () => {
    const background: EvalMethod = { ...echo([]), id: 'background' };
    const e = await rejection(evaluate(ports(source, norm), [background], OPTS));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/'background' is the background's row/);
  });
});

describe('evaluate with several sampler seeds', () => {
  const source = memorySource();
  const norm = normStatsOf(source);

  it('runs a stochastic method once per seed with the same observations, and averages its scores within the case', async () => {
    const seen: EvalCaseInput[] = [];
    // Analysis = truth + (seed index + 1) * 0.1: per-seed MSE (0.1 (s + 1))^2, so the average is known.
    const noisy: EvalMethod = {
      id: 'noisy',
      stochastic: true,
      analyse: (c) => {
        seen.push(c);
        const shift = 0.1 * (c.seedIndex + 1);
        return Promise.resolve({
          analysis: normalisedTruth(source, norm, c.stateIndex).map((v) => v + shift),
          members: Float32Array.from([
            ...normalisedTruth(source, norm, c.stateIndex).map((v) => v + 2 * shift),
            ...normalisedTruth(source, norm, c.stateIndex),
          ]),
        });
      },
    };
    const once: EvalMethod = { ...echo([]), id: 'once' };
    const res = await evaluate(ports(source, norm), [noisy, once], {
      ...OPTS,
      cases: [3, 6],
      samplerSeeds: 3,
    });
    expect(seen).toHaveLength(2 * 3);
    for (const k of [0, 1]) {
      const runs = seen.filter((c) => c.caseIndex === k);
      expect(runs.map((c) => c.seedIndex)).toEqual([0, 1, 2]);
      expect(runs[0]?.seed).toBe(memberSeed(OPTS.seed, k)); // the first sampler seed is the case seed
      expect(new Set(runs.map((c) => c.seed)).size).toBe(3);
      for (const c of runs) expect(c.obs).toBe(runs[0]?.obs); // observations from the case seed alone
    }
    const expected = (0.01 + 0.04 + 0.09) / 3;
    for (const c of res.cases) {
      expect(Math.abs((c.scores.noisy?.mse ?? NaN) - expected)).toBeLessThan(1e-6);
      // Single members: one at twice the shift, one exact: mean MSE (4 shift^2 + 0) / 2, averaged over seeds.
      expect(Math.abs((c.scores.noisy?.memberMse ?? NaN) - 2 * expected)).toBeLessThan(1e-6);
      expect(c.scores.once?.memberMse).toBeUndefined();
    }
  });

  it('rejects a sampler-seed count that is not a positive integer', async () => {
    const e = await rejection(evaluate(ports(source, norm), [echo([])], { ...OPTS, samplerSeeds: 0 }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/samplerSeeds must be an integer >= 1, got 0/);
  });
});

/**
 * No analysis reads the truth: every test-period truth state is overwritten with NaN, in place, once the cases are
 * made (backgrounds, observations, background ensembles), and the analyses must come out the same as with the truth.
 * A method that reads the truth while analysing gets NaN there, so the comparison catches it. First on the exact
 * Gaussian prior with every kind of method, then on the latent evaluation itself with ci-sized models.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createBSqrt } from '@alignda/da';
import { fileModelStore } from '@alignda/nn';
import type { LatentModels } from '@alignda/nn';
import { createField, createRng, fitNormStats, latLonGrid, normalise } from '@alignda/tensor';
import type { NormStats } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { assimilate } from './assimilate.js';
import { columnLocalisation, letkfMean } from './ensemble.js';
import { evaluate } from './evaluate.js';
import { evaluateLatent } from './evaluate-latent.js';
import type { EvalMethod, EvaluateOptions, EvaluatePorts, EvaluateResult } from './evaluate.js';
import { FIX_SHAPE, fixturePrior, gaussianLatentPrior, memoryDataset } from './internal/testing.js';
import { trainLatentModels } from './train/train.js';

const [C, H, W] = FIX_SHAPE;
const SIZE = C * H * W;
const COUNT = 14;
const TEST: readonly [number, number] = [6, COUNT];
/** Backgrounds are the truth LEAD states earlier (persistence), inside the test period like the cases. */
const LEAD = 2;
const MEMBERS = 6;

/** A source over the Gaussian fixture's 4 x 4 grid whose states live in `states` (what the test overwrites). */
function memorySource(states: Float32Array[]): DaSource {
  const grid = latLonGrid([30, 40, 50, 60], [0, 10, 20, 30]);
  const shape = [C, H, W] as const;
  return {
    name: 'memory',
    title: 'in-memory Gaussian source',
    kind: 'world',
    grid,
    channels: ['x'],
    units: ['1'],
    shape,
    count: COUNT,
    periods: { train: [0, 4], alignment: [4, 6], test: TEST },
    state: (i) => ({ data: states[i] as Float32Array, shape }),
    field: (i) => createField({ data: states[i] as Float32Array, channels: ['x'], units: ['1'], grid }),
    timeOf: (i) => new Date(Date.UTC(2000, 0, 1, 6 * i)).toISOString().slice(0, 13),
  };
}

interface Setup {
  readonly source: DaSource;
  readonly states: Float32Array[];
  readonly norm: NormStats;
  readonly normState: (i: number) => Float32Array;
}

function setup(): Setup {
  const rng = createRng(61);
  const prior = fixturePrior();
  // States near the prior: its mean plus smooth noise (the fixture's correlation length is 1.5 cells).
  const states = Array.from({ length: COUNT }, () => {
    const z = rng.fillNormal(new Float32Array(SIZE));
    return Float32Array.from(
      prior.mean,
      (m, g) => m + 0.5 * (z[g] as number) + 0.5 * (z[(g + 1) % SIZE] as number),
    );
  });
  const source = memorySource(states);
  const all = new Float32Array(COUNT * SIZE);
  states.forEach((s, i) => all.set(s, i * SIZE));
  const norm = fitNormStats({ data: all, shape: [COUNT, C, H, W] }, { channels: source.channels });
  const normState = (i: number): Float32Array =>
    normalise({ data: source.state(i).data, shape: source.shape }, norm).data;
  return { source, states, norm, normState };
}

/**
 * Ports that read the truth, as the real ones do: backgrounds are persistence from the truth LEAD states earlier, and
 * each case's ensemble is that background plus perturbations made of earlier truths and seeded noise.
 */
function ports({ source, norm, normState }: Setup): EvaluatePorts {
  return {
    source,
    norm,
    background: (i) => Promise.resolve(normState(i - LEAD)),
    forecast: (x) => Promise.resolve(Float32Array.from(x)),
    backgroundEnsemble: (i, background, seed) => {
      const rng = createRng(seed);
      const tendency = normState(i - LEAD).map((v, g) => v - (normState(i - LEAD - 1)[g] as number));
      const out = new Float32Array(MEMBERS * SIZE);
      for (let m = 0; m < MEMBERS; m++)
        for (let g = 0; g < SIZE; g++)
          out[m * SIZE + g] =
            (background[g] as number) + 0.3 * rng.normal() + (0.2 * m - 0.5) * (tendency[g] as number);
      return Promise.resolve(out);
    },
  };
}

/** Every method family of the evaluation, on the Gaussian prior (latent = state): the case inputs only. */
function methods({ source, normState }: Setup): EvalMethod[] {
  const prior = fixturePrior();
  const latent = gaussianLatentPrior(prior, FIX_SHAPE);
  const bSqrt = createBSqrt(
    source.grid,
    {
      stateShape: [C, H, W],
      perLatitude: false,
      variance: Float64Array.from([0.5]),
      bias: Float64Array.from([0]),
      samples: 1,
    },
    { lengthScaleM: 1500e3 },
  );
  const latentMode = (method: 'obsfree' | 'repaint' | 'dps'): EvalMethod => ({
    id: method,
    stochastic: true,
    analyse: async (c) => ({
      analysis: (await assimilate({ method, prior: latent, obs: c.obs, members: 2, steps: 8, seed: c.seed }))
        .mean,
    }),
  });
  return [
    latentMode('obsfree'),
    latentMode('repaint'),
    latentMode('dps'),
    {
      id: 'exact-gaussian',
      analyse: async (c) => ({
        analysis: (await assimilate({ method: 'exact-gaussian', prior, obs: c.obs })).mean,
      }),
    },
    {
      id: '3dvar',
      analyse: async (c) => ({
        analysis: (await assimilate({ method: '3dvar', background: c.background, obs: c.obs, bSqrt })).mean,
      }),
    },
    {
      id: 'letkf',
      stochastic: true,
      analyse: (c) => {
        if (c.ensemble === undefined) throw new Error('letkf: no ensemble');
        const loc = columnLocalisation(source.grid, source.shape, c.obs, 2000e3);
        const a = letkfMean(c.ensemble, MEMBERS, c.obs, loc, 1);
        return Promise.resolve({ analysis: a.mean, spread: a.spread });
      },
    },
    // A floor that reads the truth by design: it runs while the cases are made, before the truth is hidden.
    { id: 'floor', seesTruth: true, analyse: (c) => Promise.resolve({ analysis: normState(c.stateIndex) }) },
  ];
}

const OPTS: EvaluateOptions = {
  cases: [8, 9, 11],
  seed: 5,
  observe: { layout: 'values', fraction: 0.25, noiseStd: 0.05, errorStd: 0.05 },
  leadSteps: 2,
  geoScoreScale: 0.25,
  samplerSeeds: 2,
};

/** Every analysis of a run, by `method:case:seed`, and the run's result. */
async function run(
  s: Setup,
  ms: readonly EvalMethod[],
  hideTruth: boolean,
): Promise<{ analyses: Map<string, Float32Array>; result: EvaluateResult; hidden: number }> {
  const analyses = new Map<string, Float32Array>();
  const recorded = ms.map((m): EvalMethod => ({
    ...m,
    analyse: async (c) => {
      const a = await m.analyse(c);
      analyses.set(`${m.id}:${c.caseIndex}:${c.seedIndex}`, Float32Array.from(a.analysis));
      return a;
    },
  }));
  let hidden = 0;
  const result = await evaluate(ports(s), recorded, {
    ...OPTS,
    onCasesMade: () => {
      if (!hideTruth) return;
      // Every test-period truth state, overwritten in place where the source keeps it.
      for (let i = TEST[0]; i < TEST[1]; i++) (s.states[i] as Float32Array).fill(Number.NaN);
      hidden = TEST[1] - TEST[0];
    },
  });
  return { analyses, result, hidden };
}

describe('evaluate with the truth hidden after the cases are made', () => {
  it('gives every method (latent modes, exact Gaussian, 3D-Var, an ensemble filter) the same analyses and scores as with the truth', async () => {
    const withTruth = setup();
    const ref = await run(withTruth, methods(withTruth), false);
    const hiddenSetup = setup();
    const got = await run(hiddenSetup, methods(hiddenSetup), true);
    // The truth really was hidden: every test-period state of the source is NaN now.
    expect(got.hidden).toBe(TEST[1] - TEST[0]);
    for (let i = TEST[0]; i < TEST[1]; i++)
      expect(hiddenSetup.source.state(i).data.every(Number.isNaN)).toBe(true);
    // 3 cases x (3 latent modes + the LETKF, 2 sampler seeds each, + the exact Gaussian, 3D-Var and the floor).
    expect(ref.analyses.size).toBe(3 * (4 * 2 + 3));
    expect([...got.analyses.keys()]).toEqual([...ref.analyses.keys()]);
    for (const [key, a] of ref.analyses) {
      expect(a.every(Number.isFinite), key).toBe(true);
      expect(got.analyses.get(key), key).toEqual(a);
    }
    // Scores read the copies of the truth made with the cases: the same, wall times aside.
    const untimed = (r: EvaluateResult): unknown =>
      r.cases.map((c) => ({
        ...c,
        scores: Object.fromEntries(Object.entries(c.scores).map(([id, sc]) => [id, { ...sc, seconds: 0 }])),
      }));
    expect(untimed(got.result)).toEqual(untimed(ref.result));
    expect(ref.result.cases.every((c) => Number.isFinite(c.scores.dps?.mse))).toBe(true);
  });

  it('catches a method that reads the truth while analysing: its analyses turn to NaN', async () => {
    const peeking = (s: Setup): EvalMethod => ({
      id: 'peek',
      analyse: (c) => Promise.resolve({ analysis: s.normState(c.stateIndex) }),
    });
    const withTruth = setup();
    const ref = await run(withTruth, [peeking(withTruth)], false);
    const hiddenSetup = setup();
    const got = await run(hiddenSetup, [peeking(hiddenSetup)], true);
    for (const [key, a] of ref.analyses) {
      expect(a.every(Number.isFinite), key).toBe(true);
      expect(got.analyses.get(key)?.every(Number.isNaN), key).toBe(true);
    }
  });
});

describe('evaluateLatent with the truth hidden after the cases are made', () => {
  // A one-variable dataset on the ci preset's 32 x 64 grid (a beta plane, periodic west-east, with a padded band as
  // ncep-air has), ci models trained a few steps on emulator backgrounds: the analyses need not be good, only made
  // from the case inputs. 80 six-hourly states: train 40, alignment 16 (the tuning cases), test 24 (2 cases).
  const [lc, lh, lw] = [1, 32, 64];
  const lcount = 80;
  const ltest: readonly [number, number] = [56, lcount];
  const latentSource = (states: Float32Array[]): DaSource =>
    memoryDataset(
      states,
      { train: [0, 40], alignment: [40, 56], test: ltest },
      {
        validMask: Uint8Array.from({ length: lh * lw }, (_, g) => {
          const i = Math.floor(g / lw);
          return i >= 3 && i < lh - 4 ? 1 : 0;
        }),
      },
    );
  /** Travelling waves in temperature (K) plus noise: the same states on every call. */
  const latentStates = (): Float32Array[] => {
    const rng = createRng(3);
    return Array.from({ length: lcount }, (_, t) => {
      const [a, b] = [rng.normal(), rng.normal()];
      return Float32Array.from({ length: lc * lh * lw }, (_, g) => {
        const [i, k] = [Math.floor(g / lw), g % lw];
        const wave = 3 * a * Math.sin((2 * Math.PI * k) / lw + t / 4) + 2 * b * Math.cos((Math.PI * i) / lh);
        return 280 - 0.5 * i + wave + 0.3 * rng.normal();
      });
    });
  };
  const root = mkdtempSync(path.join(tmpdir(), 'alignda-no-truth-'));
  let models: LatentModels | undefined;
  beforeAll(async () => {
    const dir = path.join(root, 'models');
    mkdirSync(dir);
    const store = fileModelStore(dir);
    await trainLatentModels(latentSource(latentStates()), store, { preset: 'ci', steps: 3, seed: 1 });
    models = await store.loadAll();
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** Every analysis of a run by `method:case` (physical units), overwriting the test-period truth when asked. */
  const runLatent = async (
    hideTruth: boolean,
  ): Promise<{ analyses: Map<string, Float32Array>; hidden: number }> => {
    if (models === undefined) throw new Error('no models');
    const states = latentStates();
    const analyses = new Map<string, Float32Array>();
    let hidden = 0;
    await evaluateLatent(latentSource(states), models, {
      cases: 2,
      steps: 4,
      zeta: 1,
      blend: 0.5,
      lengthScaleKm: 500,
      obsFraction: 0.01,
      ensembleMembers: 3,
      trainCases: 8,
      seed: 11,
      onAnalysis: (k, _i, m, f) => analyses.set(`${m}:${k}`, Float32Array.from(f.data)),
      onCasesMade: () => {
        if (!hideTruth) return;
        // Every test-period truth state, overwritten in place where the source keeps it.
        for (let i = ltest[0]; i < ltest[1]; i++) (states[i] as Float32Array).fill(Number.NaN);
        hidden = ltest[1] - ltest[0];
      },
    });
    return { analyses, hidden };
  };

  it('gives every row (latent modes, 3D-Var, LETKF, hybrid, the VAE floor) the same analyses as with the truth', async () => {
    const ref = await runLatent(false);
    const got = await runLatent(true);
    expect(got.hidden).toBe(ltest[1] - ltest[0]);
    expect([...got.analyses.keys()]).toEqual([...ref.analyses.keys()]);
    const rows = [...new Set([...ref.analyses.keys()].map((k) => k.split(':')[0]))];
    expect(rows).toEqual([
      'background',
      'background-bc',
      'vae',
      'obsfree',
      'repaint',
      'dps',
      '3dvar',
      'letkf',
      'hybrid',
    ]);
    for (const [key, a] of ref.analyses) {
      expect(a.every(Number.isFinite), key).toBe(true);
      expect(got.analyses.get(key), key).toEqual(a);
    }
  }, 240_000);
});

/**
 * The aligned rows of the latent evaluation: their statistics on hand-made cases (gains, Holm over the grid,
 * calibration, the paper's trends), the check of what may stand beside a reference, and the evaluation itself: a
 * "model" that is the reference under another name gets the reference's analyses to the bit (same background
 * latents, observations and sampler seeds), so every gain is exactly zero.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { AppError } from '@alignda/errors';
import { fileModelStore } from '@alignda/nn';
import type { LatentModels } from '@alignda/nn';
import { createRng } from '@alignda/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { alignmentGains, alignmentTrends, calibration, checkAligned } from './evaluate-aligned.js';
import type { GainInput } from './evaluate-aligned.js';
import { evaluateLatent } from './evaluate-latent.js';
import type { EvalMethodId } from './evaluate-latent-options.js';
import type { EvalCase, MethodScores } from './evaluate.js';
import { memoryDataset } from './internal/testing.js';
import { trainLatentModels } from './train/train.js';

const MODES = ['obsfree', 'repaint', 'dps'] as const;

/** Scores with the given MSE (forecast MSE twice it, Geo-Score 1 - MSE), the rest fixed. */
const scores = (mse: number, extra: Partial<MethodScores> = {}): MethodScores => ({
  mse,
  mae: mse,
  wrmse: [mse],
  forecastMse: 2 * mse,
  geoScore: 1 - mse,
  geoDeviation: 0.3,
  seconds: 1,
  ...extra,
});

/**
 * `n` cases: the reference's rows with MSE around 0.1, each aligned model's rows the reference's times `factor`
 * (per model and mode) plus noise of std `noise` (relative).
 */
function experiment(
  factors: Record<string, Partial<Record<(typeof MODES)[number], number>>>,
  n = 24,
  noise = 0.02,
): GainInput {
  const rng = createRng(5);
  const methods: EvalMethodId[] = [...MODES];
  for (const [model, byMode] of Object.entries(factors))
    for (const mode of MODES) if (byMode[mode] !== undefined) methods.push(`${mode}@${model}`);
  const cases: EvalCase[] = Array.from({ length: n }, (_, k) => {
    const s: Record<string, MethodScores> = {};
    for (const mode of MODES) {
      const ref = 0.1 * (1 + 0.3 * Math.sin(k));
      s[mode] = scores(ref);
      for (const [model, byMode] of Object.entries(factors)) {
        const f = byMode[mode];
        if (f !== undefined) s[`${mode}@${model}`] = scores(ref * f * (1 + noise * rng.normal()));
      }
    }
    return { stateIndex: k, time: `t${k}`, observations: 10, truthGeoDeviation: 0.3, scores: s };
  });
  return { methods, cases };
}

describe('alignmentGains', () => {
  it('gives an aligned model 10 % better on every case a gain of about +0.1 in every mode and metric, intervals above zero', () => {
    const res = experiment({ M: { obsfree: 0.9, repaint: 0.9, dps: 0.9 } });
    const gains = alignmentGains(res, { resamples: 1000 });
    expect(Object.keys(gains)).toEqual(['M']);
    expect(Object.keys(gains.M ?? {})).toEqual([...MODES]);
    for (const mode of MODES) {
      const g = gains.M?.[mode];
      expect(g?.mse?.gain).toBeCloseTo(0.1, 1);
      expect(g?.forecastMse?.gain).toBeCloseTo(0.1, 1);
      expect(g?.mse?.ci95[0]).toBeGreaterThan(0);
      expect(g?.mse?.p).toBeLessThan(1e-4);
      // Geo-Score is higher-is-better: 1 - 0.09 over 1 - 0.1 is a gain of about +1.1 %.
      expect(g?.geoScore?.gain).toBeGreaterThan(0.005);
      expect(g?.geoScore?.gain).toBeLessThan(0.02);
      // No members: no single-member MSE and no CRPS.
      expect(g?.memberMse).toBeUndefined();
      expect(g?.crps).toBeUndefined();
    }
  });

  it('gives a model that is the reference with noise intervals that straddle zero, and Holm-adjusts over the whole grid', () => {
    const res = experiment({ P: { obsfree: 1, repaint: 1, dps: 1 } }, 24, 0.05);
    const gains = alignmentGains(res, { resamples: 1000 });
    const all = Object.values(gains.P ?? {}).flatMap((ms) => Object.values(ms));
    expect(all.length).toBe(9);
    const sortedP = [...all].sort((a, b) => a.p - b.p);
    for (const [k, g] of sortedP.entries()) {
      expect(g.pHolm).toBeGreaterThanOrEqual(g.p);
      // Holm's first step multiplies the smallest p by the number of tests in the grid.
      if (k === 0) expect(g.pHolm).toBeCloseTo(Math.min(1, 9 * g.p), 10);
    }
    const straddling = all.filter((g) => g.ci95[0] <= 0 && g.ci95[1] >= 0).length;
    expect(straddling).toBeGreaterThanOrEqual(7);
  });

  it('leaves out a metric that is not finite on every case (Geo-Score of a dataset without z, u, v)', () => {
    const res = experiment({ M: { dps: 0.9 } });
    const cases = res.cases.map((c) => ({
      ...c,
      scores: Object.fromEntries(
        Object.entries(c.scores).map(([id, s]) => [id, { ...s, geoScore: Number.NaN }]),
      ),
    }));
    const gains = alignmentGains({ methods: res.methods, cases }, { resamples: 200 });
    expect(gains.M?.dps?.geoScore).toBeUndefined();
    expect(gains.M?.dps?.mse).toBeDefined();
  });
});

describe('calibration', () => {
  it('gives sqrt((M + 1) / M) spread / RMSE and sums the rank histograms over cases', () => {
    const res: GainInput = {
      methods: ['dps'],
      cases: [0.04, 0.09].map((m, k) => ({
        stateIndex: k,
        time: `t${k}`,
        observations: 1,
        truthGeoDeviation: 0.3,
        scores: { dps: scores(m, { spread: 0.2, crps: 0.1 * (k + 1), rankCounts: [k, 1, 2] }) },
      })),
    };
    const cal = calibration(res, 2);
    // RMS spread 0.2, RMSE sqrt(0.065): sqrt(3/2) x 0.2 / sqrt(0.065).
    expect(cal.dps?.spreadSkill).toBeCloseTo((Math.sqrt(1.5) * 0.2) / Math.sqrt(0.065), 12);
    expect(cal.dps?.crps).toBeCloseTo(0.15, 12);
    expect(cal.dps?.rankHistogram).toEqual([1, 2, 4]);
    expect(calibration(res, 1)).toEqual({});
  });
});

describe('alignmentTrends', () => {
  it('holds trend 1 and the ordering ObsFree > Repaint > DPS when -M is better everywhere, more so with weaker guidance', () => {
    const res = experiment({ M: { obsfree: 0.85, repaint: 0.9, dps: 0.95 } }, 30, 0.01);
    const trends = alignmentTrends(alignmentGains(res, { resamples: 500 }), res, MODES);
    expect(trends.map((t) => t.verdict)).toEqual(['held', 'held', 'not tested', 'not tested', 'not tested']);
    expect(trends[2]?.detail).toMatch(/noise/);
    expect(trends[3]?.detail).toMatch(/model P/);
  });

  it('does not hold them when -M is worse in one mode or the ordering is reversed', () => {
    const res = experiment({ M: { obsfree: 0.95, repaint: 0.9, dps: 1.1 } }, 30, 0.01);
    const trends = alignmentTrends(alignmentGains(res, { resamples: 500 }), res, MODES);
    expect(trends[0]?.verdict).toBe('not held');
    expect(trends[0]?.detail).toMatch(/weakest: dps/);
    expect(trends[1]?.verdict).toBe('not held');
  });

  it('holds -P on Geo-Score only when it raises it most and is neutral elsewhere; -4 against -M pair by pair', () => {
    // -P: the reference's scores but a Geo-Score 5 % higher; -M and -4: 10 % and 20 % better MSE.
    const res = experiment(
      { P: { obsfree: 1, repaint: 1, dps: 1 }, M: { dps: 0.9 }, 4: { dps: 0.8 } },
      30,
      0.01,
    );
    const refOf = (c: EvalCase, id: string): MethodScores => c.scores[id.split('@')[0] ?? ''] ?? scores(0);
    const cases = res.cases.map((c) => ({
      ...c,
      scores: Object.fromEntries(
        Object.entries(c.scores).map(([id, s]) => [
          id,
          id.endsWith('@P') ? { ...refOf(c, id), geoScore: refOf(c, id).geoScore * 1.05 } : s,
        ]),
      ),
    }));
    const input = { methods: res.methods, cases };
    const trends = alignmentTrends(alignmentGains(input, { resamples: 500 }), input, ['dps']);
    expect(trends[3]?.verdict, trends[3]?.detail).toBe('held');
    expect(trends[4]?.verdict).toBe('held');
    expect(trends[4]?.detail).toMatch(/dps \+1\d\.\d %/);
  });
});

describe('checkAligned', () => {
  const reference = {
    config: {
      latentShape: [2, 4, 8],
      widths: [8, 16],
      timeDim: 16,
      heads: 2,
      groups: 2,
      concatBackground: true,
      preconditioned: true,
      batch: 4,
      seed: 0,
    },
    params: {},
    norm: { channels: [], mean: [0, 0], std: [1, 1] },
    steps: 10,
  } as const;
  const code = (f: () => void): string | undefined => {
    try {
      f();
    } catch (err) {
      return err instanceof AppError ? err.code : 'not an AppError';
    }
    return undefined;
  };

  it('accepts copies of the reference in any batch size and refuses bad names, repeats and other models', () => {
    expect(
      code(() => checkAligned(reference, [{ name: 'M', score: { ...reference, steps: 3 } }])),
    ).toBeUndefined();
    const batch8 = { ...reference, config: { ...reference.config, batch: 8 } };
    expect(code(() => checkAligned(reference, [{ name: 'P', score: batch8 }]))).toBeUndefined();
    expect(code(() => checkAligned(reference, [{ name: 'ref', score: reference }]))).toBe('INVALID_ARGUMENT');
    expect(code(() => checkAligned(reference, [{ name: 'a b', score: reference }]))).toBe('INVALID_ARGUMENT');
    expect(
      code(() =>
        checkAligned(reference, [
          { name: 'M', score: reference },
          { name: 'M', score: reference },
        ]),
      ),
    ).toBe('INVALID_ARGUMENT');
    const wider = { ...reference, config: { ...reference.config, widths: [16, 32] as const } };
    expect(code(() => checkAligned(reference, [{ name: 'M', score: wider }]))).toBe('FAILED_PRECONDITION');
    const otherNorm = { ...reference, norm: { ...reference.norm, std: [1, 2] } };
    expect(code(() => checkAligned(reference, [{ name: 'M', score: otherNorm }]))).toBe(
      'FAILED_PRECONDITION',
    );
  });
});

describe('evaluateLatent with an aligned model', () => {
  // The no-truth test's one-variable dataset: 80 six-hourly states, train 40, alignment 16, test 24 (2 cases).
  const count = 80;
  const source = () =>
    memoryDataset(
      (() => {
        const rng = createRng(3);
        return Array.from({ length: count }, (_, t) => {
          const [a, b] = [rng.normal(), rng.normal()];
          return Float32Array.from({ length: 32 * 64 }, (_, g) => {
            const [i, k] = [Math.floor(g / 64), g % 64];
            return (
              280 - 0.5 * i + 3 * a * Math.sin((2 * Math.PI * k) / 64 + t / 4) + 2 * b * Math.cos(i / 10)
            );
          });
        });
      })(),
      { train: [0, 40], alignment: [40, 56], test: [56, count] },
    );
  const root = mkdtempSync(path.join(tmpdir(), 'alignda-aligned-'));
  let models: LatentModels | undefined;
  beforeAll(async () => {
    const dir = path.join(root, 'models');
    mkdirSync(dir);
    const store = fileModelStore(dir);
    await trainLatentModels(source(), store, { preset: 'ci', steps: 3, seed: 1 });
    models = await store.loadAll();
  }, 60_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('gives the reference under another name the same analyses in every mode: gains of exactly 0, p = 1', async () => {
    if (models === undefined) throw new Error('no models');
    const analyses = new Map<string, Float32Array>();
    const res = await evaluateLatent(source(), models, {
      cases: 2,
      steps: 4,
      members: 2,
      samplerSeeds: 2,
      zeta: 1,
      blend: 0.5,
      lengthScaleKm: 500,
      ensembleMembers: 0,
      trainCases: 8,
      seed: 11,
      aligned: [{ name: 'M', score: models.score }],
      onAnalysis: (k, _i, m, f) => analyses.set(`${m}:${k}`, Float32Array.from(f.data)),
    });
    expect(
      res.methods.filter((m) => m.includes('dps') || m.includes('obsfree') || m.includes('repaint')),
    ).toEqual(['obsfree', 'obsfree@M', 'repaint', 'repaint@M', 'dps', 'dps@M']);
    expect(res.aligned).toEqual(['M']);
    for (const mode of MODES)
      for (const k of [0, 1])
        expect(analyses.get(`${mode}@M:${k}`), `${mode}:${k}`).toEqual(analyses.get(`${mode}:${k}`));
    for (const mode of MODES) {
      const g = res.gains.M?.[mode];
      expect(Object.keys(g ?? {}).sort()).toEqual(['crps', 'forecastMse', 'memberMse', 'mse']);
      for (const v of Object.values(g ?? {})) {
        expect(v.gain === 0).toBe(true);
        expect(v.p).toBe(1);
      }
      // Two members: calibration for every latent row, the aligned one the reference's.
      expect(res.calibration[`${mode}@M`]).toEqual(res.calibration[mode]);
      expect(res.calibration[mode]?.rankHistogram.length).toBe(3);
    }
    expect(res.protocol.tuning['@M']).toMatch(/reference's DPS zeta/);
    expect(res.trends.map((t) => t.verdict)).toEqual([
      'not held',
      'not held',
      'not tested',
      'not tested',
      'not tested',
    ]);
  }, 120_000);
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { releaseSessions } from '@alignda/graph';
import { createRng } from '@alignda/tensor';
import { afterAll, describe, expect, it } from 'vitest';

import { DPO_OUTPUTS, buildScoreDpoForward, buildScoreDpoTraining } from './dpo.js';
import {
  expectLossGradientMatchesFd,
  perturbedParams,
  randn,
  randomInputs,
  run,
} from './internal/testing.js';
import type { Arrays } from './internal/testing.js';
import { SCORE_DEFAULTS, buildScoreEps } from './score.js';
import type { ScoreConfig } from './score.js';
import { trainDpo } from './train/dpo.js';
import type { PreferencePairs } from './train/dpo.js';
import { TrainError } from './train/train-error.js';

afterAll(async () => {
  await releaseSessions();
});

/** Tiny score net on a [2, 4, 8] latent. */
const TINY: ScoreConfig = {
  ...SCORE_DEFAULTS,
  latentShape: [2, 4, 8],
  widths: [4, 8],
  timeDim: 8,
  heads: 2,
  groups: 2,
  batch: 4,
};
const SIZE = 2 * 4 * 8;
/** Entry i of an array (NaN when absent, so a missing value fails the comparison). */
const at = (a: ArrayLike<number> | undefined, i: number): number => a?.[i] ?? Number.NaN;
/** A named array of a map (empty when absent). */
const get = (o: Readonly<Record<string, Float32Array>>, k: string): Float32Array => o[k] ?? new Float32Array();
const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

/** Per-sample mean squared error of the reference eps graph on the DPO feeds. */
async function referenceErrors(params: Arrays, feeds: Arrays, n: number): Promise<Float32Array> {
  const g = buildScoreEps({ ...TINY, batch: n });
  const out = await run(g, { z_t: get(feeds, 'z_t'), t: get(feeds, 't'), z_b: get(feeds, 'z_b'), ...params });
  const eps = get(out, 'eps');
  const err = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < SIZE; j++) s += (at(eps, r * SIZE + j) - at(get(feeds, 'eps'), r * SIZE + j)) ** 2;
    err[r] = s / SIZE;
  }
  return err;
}

function dpoFeeds(g: ReturnType<typeof buildScoreDpoForward>, seed: number, beta: number): Arrays {
  const n = g.inputs.find((v) => v.name === 't')?.shape[0] as number;
  const t = Float32Array.from({ length: n }, (_, i) => 0.1 + (0.8 * ((i * 7 + seed) % n)) / n);
  return randomInputs(g, seed, {
    t,
    ref_err: Float32Array.from(randn(seed + 99, n), (v) => 1 + 0.1 * v),
    beta: Float32Array.of(beta),
  });
}

describe('Diffusion-DPO loss of the score network', () => {
  it('is softplus(-m) with m = -(beta/2)((e_w - e_l) - (r_w - r_l)) on the per-sample errors, pairs k and P + k', async () => {
    const g = buildScoreDpoForward(TINY, 2);
    const params = perturbedParams(g, 3, 0.05);
    const feeds = dpoFeeds(g, 5, 40);
    const out = await run(g, { ...feeds, ...params });
    const e = get(out, DPO_OUTPUTS.error);
    const r = get(feeds, 'ref_err');
    const m = [0, 1].map((k) => -20 * (at(e, k) - at(e, 2 + k) - (at(r, k) - at(r, 2 + k))));
    m.forEach((v, k) => expect(at(get(out, DPO_OUTPUTS.margin), k)).toBeCloseTo(v, 4));
    expect(at(get(out, 'loss'), 0)).toBeCloseTo((softplus(-at(m, 0)) + softplus(-at(m, 1))) / 2, 5);
    // The per-sample error is the reference eps graph's, for the same parameters.
    const own = await referenceErrors(params, feeds, 4);
    for (let i = 0; i < 4; i++) expect(at(e, i)).toBeCloseTo(at(own, i), 5);
  });

  it('equals log 2 with beta -> 0, and for any beta when the trainable copy is the reference', async () => {
    const g = buildScoreDpoForward(TINY, 2);
    const params = perturbedParams(g, 4, 0.05);
    const tiny = await run(g, { ...dpoFeeds(g, 6, 1e-7), ...params });
    expect(at(get(tiny, 'loss'), 0)).toBeCloseTo(Math.LN2, 6);
    const feeds = dpoFeeds(g, 7, 5000);
    feeds.ref_err = await referenceErrors(params, feeds, 4);
    const same = await run(g, { ...feeds, ...params });
    expect(at(get(same, 'loss'), 0)).toBeCloseTo(Math.LN2, 3); // float32 errors times beta/2 = 2500
    for (const v of get(same, DPO_OUTPUTS.margin)) expect(Math.abs(v)).toBeLessThan(1e-3);
    // A random reference error table moves the loss off log 2: the property above is not vacuous.
    const other = await run(g, { ...dpoFeeds(g, 7, 5000), ...params });
    expect(Math.abs(at(get(other, 'loss'), 0) - Math.LN2)).toBeGreaterThan(0.1);
  });

  it('its gradient matches central finite differences along random directions', async () => {
    const tg = buildScoreDpoTraining(TINY, 2);
    const feeds = { ...dpoFeeds(tg.forward, 8, 20), ...perturbedParams(tg.forward, 9, 0.05) };
    await expectLossGradientMatchesFd(tg, feeds, [1, 2]);
  });

  it('one small gradient step on pairs whose winners are already preferred lowers the loss', async () => {
    const tg = buildScoreDpoTraining(TINY, 2);
    const params = perturbedParams(tg.forward, 10, 0.05);
    const feeds = dpoFeeds(tg.forward, 11, 30);
    const own = await referenceErrors(params, feeds, 4);
    // Reference errors that make the current copy prefer each winner: r_w - r_l = e_w - e_l + 0.02 > e_w - e_l.
    feeds.ref_err = Float32Array.from(own, (v, i) => (i < 2 ? v + 0.02 : v));
    const out = await run(tg.graph, { ...feeds, ...params });
    for (const m of get(out, DPO_OUTPUTS.margin)) expect(m).toBeGreaterThan(0);
    const next: Arrays = {};
    tg.params.forEach((p, i) => {
      const gr = get(out, tg.gradOutputs[i] ?? '');
      next[p] = Float32Array.from(get(params, p), (v, j) => v - 1e-3 * at(gr, j));
    });
    const after = await run(tg.forward, { ...feeds, ...next });
    expect(at(get(after, 'loss'), 0)).toBeLessThan(at(get(out, 'loss'), 0));
  });

  it('rejects a non-positive pair count', () => {
    expect(() => buildScoreDpoForward(TINY, 0)).toThrow(/pairs per batch must be a positive integer/);
  });
});

/** Pairs whose winners sit near +0.5 and losers near -0.5 in channel 0, under one of two backgrounds. */
function pairsOf(seed: number, count: number): PreferencePairs {
  const rng = createRng(seed);
  const winners = rng.fillNormal(new Float32Array(count * SIZE), 0, 0.3);
  const losers = rng.fillNormal(new Float32Array(count * SIZE), 0, 0.3);
  const backgrounds = rng.fillNormal(new Float32Array(count * SIZE), 0, 0.3);
  for (let k = 0; k < count; k++)
    for (let j = 0; j < SIZE / 2; j++) {
      winners[k * SIZE + j] = at(winners, k * SIZE + j) + 0.5;
      losers[k * SIZE + j] = at(losers, k * SIZE + j) - 0.5;
    }
  return { count, winners, losers, backgrounds };
}

describe('trainDpo', () => {
  const reference = {
    config: TINY,
    params: perturbedParams(buildScoreEps(TINY), 12, 0.05),
    norm: { channels: [], mean: [0, 0], std: [1, 1] },
    steps: 1,
  };
  const config = { steps: 40, pairsPerStep: 4, peakLr: 3e-3, warmupSteps: 2, beta: 200 };

  it('starts at log 2 on held-out pairs and learns to prefer their winners', async () => {
    const res = await trainDpo({ reference, train: pairsOf(1, 32), heldOut: pairsOf(2, 8), config });
    const { before, after } = res.heldOut ?? expect.unreachable('no held-out metrics');
    expect(before.loss).toBeCloseTo(Math.LN2, 4);
    expect(before.margin).toBeCloseTo(0, 3);
    expect(after.loss).toBeLessThan(before.loss - 0.02);
    expect(after.accuracy).toBeGreaterThan(0.5);
    expect(after.margin).toBeGreaterThan(0);
  }, 60_000);

  it('stopped and resumed, gives the parameters of an uninterrupted run; another beta is refused on resume', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dpo-'));
    try {
      const short = { ...config, steps: 8 };
      const train = pairsOf(3, 16);
      const whole = await trainDpo({ reference, train, config: short });
      const file = path.join(dir, 'score-aligned.safetensors');
      const ac = new AbortController();
      const first = await trainDpo({
        reference,
        train,
        config: short,
        checkpointPath: file,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.step === 3) ac.abort();
        },
      });
      expect(first.completed).toBe(false);
      const resumed = await trainDpo({ reference, train, config: short, checkpointPath: file, resume: true });
      expect(resumed.resumedFrom).toBe(3);
      for (const [name, v] of Object.entries(whole.params))
        expect(Array.from(resumed.params[name] as Float32Array)).toEqual(Array.from(v as Float32Array));
      await expect(
        trainDpo({ reference, train, config: { ...short, beta: 1 }, checkpointPath: file, resume: true }),
      ).rejects.toThrow(TrainError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('rejects pairs that do not fit the reference latent, naming the array', async () => {
    const bad = { ...pairsOf(4, 2), losers: new Float32Array(3) };
    await expect(trainDpo({ reference, train: bad, config })).rejects.toThrow(
      /training losers hold 3 values/,
    );
  });
});

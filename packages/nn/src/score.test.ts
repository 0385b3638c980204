import { createSession, exportInference, releaseSessions } from '@alignda/graph';
import type { Feed, SplitVjp, TensorData } from '@alignda/graph';
import { createRng } from '@alignda/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import {
  directionalCheck,
  expectLossGradientMatchesFd,
  headTail,
  perturbedParams,
  randn,
  randomInputs,
  run,
  smoothFields,
  trainAdamW,
} from './internal/testing.js';
import type { Arrays } from './internal/testing.js';
import { pickParams } from './model.js';
import {
  DPS_GRAD_OUTPUT,
  SCORE_DEFAULTS,
  SCORE_PRESETS,
  buildDpsHelper,
  buildDpsSplit,
  buildScoreEps,
  buildScoreTraining,
} from './score.js';
import type { ScoreConfig } from './score.js';
import { VAE_DEFAULTS, VAE_PRESETS, buildVaeDecode, vaeInitialParams } from './vae.js';
import type { VaeConfig } from './vae.js';

afterAll(async () => {
  await releaseSessions();
});

/** Tiny score net on a [2, 4, 8] latent. */
const TINY: ScoreConfig = {
  ...SCORE_DEFAULTS,
  latentShape: [2, 4, 8],
  widths: [8, 16],
  timeDim: 16,
  heads: 2,
  groups: 4,
  batch: 8,
};

// METHOD.md section 3: VP cosine schedule, eta = 1e-3.
const ETA = 1e-3;
const mu = (t: number): number => Math.cos(Math.acos(Math.sqrt(ETA)) * t) ** 2;
const sigma = (t: number): number => Math.sqrt(1 - mu(t) ** 2 + ETA ** 2);

describe('latent score network', () => {
  it('predicts noise of the latent shape and holds a cross-attention block from z_t tokens to z_b tokens', () => {
    const g = buildScoreEps({ ...SCORE_PRESETS.ci, batch: 2 });
    expect(g.inputs.map((v) => [v.name, v.shape])).toEqual([
      ['z_t', [2, 8, 8, 16]],
      ['t', [2]],
      ['z_b', [2, 8, 8, 16]],
    ]);
    expect(g.outputs.map((v) => [v.name, v.shape])).toEqual([['eps', [2, 8, 8, 16]]]);
    const names = new Map(g.params.map((p) => [p.name, p.shape]));
    expect(names.get('score.l1.cross.attn.k.w')).toEqual([16, 16]);
  });

  it('without the concatenated background, z_b reaches the output only through the cross-attention context', async () => {
    const cfg: ScoreConfig = { ...TINY, concatBackground: false, batch: 2 };
    const g = buildScoreEps(cfg);
    const params = perturbedParams(g, 5, 0.1);
    const feeds = randomInputs(g, 50);
    const eps = async (p: Arrays): Promise<Float32Array> =>
      (await run(g, { ...feeds, ...p })).eps as Float32Array;
    const a = await eps(params);
    const b = (await run(g, { ...feeds, ...params, z_b: randn(77, feeds.z_b?.length ?? 0) }))
      .eps as Float32Array;
    const diff = (x: Float32Array, y: Float32Array): number =>
      x.reduce((m, v, i) => Math.max(m, Math.abs(v - (y[i] as number))), 0);
    expect(diff(a, b)).toBeGreaterThan(1e-3);
    // Zeroing the cross-attention's output projection cuts that path: z_b no longer matters.
    const cut = {
      ...params,
      'score.l1.cross.attn.o.w': new Float32Array(16 * 16),
      'score.l1.cross.attn.o.b': new Float32Array(16),
    };
    const c = await eps(cut);
    const d = (await run(g, { ...feeds, ...cut, z_b: randn(77, feeds.z_b?.length ?? 0) }))
      .eps as Float32Array;
    expect(diff(c, d)).toBe(0);
  });

  it('the denoising loss gradient matches central finite differences along random directions', async () => {
    const tg = buildScoreTraining({ ...TINY, widths: [4, 8], timeDim: 8, groups: 2, batch: 2 });
    const feeds = { ...randomInputs(tg.forward, 20), ...perturbedParams(tg.forward, 21, 0.05) };
    await expectLossGradientMatchesFd(tg, feeds, [1, 2]);
  });

  it('preconditioned, the untrained network is the optimal linear noise estimate sigma(t) z_t / (mu^2 + sigma^2)', async () => {
    const g = buildScoreEps({ ...TINY, batch: 3 });
    const feeds = randomInputs(g, 31);
    const t = Float32Array.of(0.02, 0.5, 0.98);
    const zt = feeds.z_t as Float32Array;
    const eps = (await run(g, { ...feeds, t, ...g.initialParams() })).eps as Float32Array;
    const per = zt.length / 3;
    let worst = 0;
    for (let i = 0; i < zt.length; i++) {
      const ti = t[Math.floor(i / per)] as number;
      const want = (sigma(ti) * (zt[i] as number)) / (mu(ti) ** 2 + sigma(ti) ** 2);
      worst = Math.max(worst, Math.abs((eps[i] as number) - want));
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it.each<[boolean, string]>([
    [false, 'halves the loss from ~1 (zero head: eps = 0); seeded: first 5 steps ~0.98, last 5 ~0.34'],
    [true, 'more than halves the loss from the linear estimate; seeded: first 5 steps ~0.43, last 5 ~0.17'],
  ])('AdamW (lr 3e-3, 60 steps), preconditioned %s, %s', async (preconditioned) => {
    // z: smooth latents, z_b = z + 0.1 noise, t ~ U(0, 1), z_t = mu(t) z + sigma(t) eps.
    const shape = [8, 2, 4, 8] as const;
    const per = 2 * 4 * 8;
    const data = (k: number): Arrays => {
      const z = smoothFields(k % 4, shape);
      const nb = randn(500 + k, z.length, 0.1);
      const rng = createRng(2000 + k);
      const t = Float32Array.from({ length: 8 }, () => rng.uniform());
      const eps = randn(3000 + k, z.length);
      const zt = z.map((v, i) => {
        const ti = t[Math.floor(i / per)] as number;
        return mu(ti) * v + sigma(ti) * (eps[i] as number);
      });
      return { z_t: zt, t, z_b: z.map((v, i) => v + (nb[i] as number)), eps };
    };
    const { losses } = await trainAdamW(buildScoreTraining({ ...TINY, preconditioned }), data, 60, 3e-3);
    const { head, tail } = headTail(losses, 5);
    if (preconditioned) {
      expect(head).toBeLessThan(0.6);
      expect(tail).toBeLessThan(head / 2);
    } else {
      expect(head).toBeGreaterThan(0.8);
      expect(tail).toBeLessThan(head / 2);
    }
  });
});

describe('DPS helper', () => {
  const score: ScoreConfig = { ...TINY, widths: [4, 8], timeDim: 8, groups: 2, batch: 2 };
  const vae: VaeConfig = {
    ...VAE_DEFAULTS,
    channels: 2,
    height: 16,
    width: 32,
    latentChannels: 2,
    widths: [4, 4, 4],
    groups: 2,
    batch: 2,
  };
  const g = buildDpsHelper(score, vae);
  const params = perturbedParams(g, 31, 0.05);
  const feeds: Arrays = {
    ...randomInputs(g, 30),
    t: Float32Array.of(0.3, 0.7),
    sigma: Float32Array.of(sigma(0.3), sigma(0.7)),
    mu: Float32Array.of(mu(0.3), mu(0.7)),
    ...params,
  };

  it('decodes the Tweedie estimate (z_t - sigma eps) / mu with the separate eps and decode graphs', async () => {
    const out = await run(g, feeds);
    const epsG = buildScoreEps(score);
    const eps = (
      await run(epsG, { z_t: feeds.z_t, t: feeds.t, z_b: feeds.z_b, ...pickParams(epsG, params) } as Arrays)
    ).eps as Float32Array;
    const zt = feeds.z_t as Float32Array;
    const per = zt.length / 2;
    const z0 = zt.map((v, i) => {
      const n = Math.floor(i / per);
      return (v - (feeds.sigma?.[n] ?? NaN) * (eps[i] as number)) / (feeds.mu?.[n] ?? NaN);
    });
    const dec = buildVaeDecode(vae);
    const x0 = (await run(dec, { z: z0, ...pickParams(dec, params) })).x as Float32Array;
    const x0g = out.x0 as Float32Array;
    expect(x0g.reduce((m, v, i) => Math.max(m, Math.abs(v - (x0[i] as number))), 0)).toBeLessThan(1e-4);
    expect(Object.keys(params).every((k) => k.startsWith('score.') || k.startsWith('dec.'))).toBe(true);
    expect(Object.keys(vaeInitialParams(vae)).filter((k) => k.startsWith('dec.')).length).toBe(
      g.params.filter((p) => p.name.startsWith('dec.')).length,
    );
  });

  it('its VJP with respect to z_t matches central finite differences of <cotangent, x0(z_t)>', async () => {
    // Through the denoiser (attention, time embedding, GroupNorm) and the decoder; observed relative error ~1e-4.
    const cot = feeds.cotangent as Float32Array;
    const f = (o: Arrays): number =>
      (o.x0 as Float32Array).reduce((s, v, i) => s + v * (cot[i] as number), 0);
    for (const seed of [1, 2]) {
      const { ad, fd } = await directionalCheck(g, feeds, ['z_t'], [DPS_GRAD_OUTPUT], f, 3e-2, seed);
      expect(Math.abs(ad)).toBeGreaterThan(1e-2);
      expect(Math.abs(ad - fd)).toBeLessThanOrEqual(1e-5 + 2e-3 * Math.abs(ad));
    }
  });

  it('with a latent norm it decodes the unstandardised Tweedie estimate, and its VJP matches finite differences', async () => {
    const norm = { mean: [0.4, -0.3], std: [0.5, 2] };
    const gn = buildDpsHelper(score, vae, norm);
    const out = await run(gn, feeds);
    const epsG = buildScoreEps(score);
    const eps = (
      await run(epsG, { z_t: feeds.z_t, t: feeds.t, z_b: feeds.z_b, ...pickParams(epsG, params) } as Arrays)
    ).eps as Float32Array;
    const zt = feeds.z_t as Float32Array;
    const per = zt.length / 2;
    const z0 = zt.map((v, i) => {
      const n = Math.floor(i / per);
      return (v - (feeds.sigma?.[n] ?? NaN) * (eps[i] as number)) / (feeds.mu?.[n] ?? NaN);
    });
    const decN = buildVaeDecode(vae, norm);
    const x0 = (await run(decN, { z: z0, ...pickParams(decN, params) })).x as Float32Array;
    const diff = (a: Float32Array, b: Float32Array): number =>
      a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
    expect(diff(out.x0 as Float32Array, x0)).toBeLessThan(1e-4);
    expect(diff(out.x0 as Float32Array, (await run(g, feeds)).x0 as Float32Array)).toBeGreaterThan(1e-2);
    const cot = feeds.cotangent as Float32Array;
    const f = (o: Arrays): number =>
      (o.x0 as Float32Array).reduce((s, v, i) => s + v * (cot[i] as number), 0);
    for (const seed of [3, 4]) {
      const { ad, fd } = await directionalCheck(gn, feeds, ['z_t'], [DPS_GRAD_OUTPUT], f, 3e-2, seed);
      expect(Math.abs(ad)).toBeGreaterThan(1e-2);
      expect(Math.abs(ad - fd)).toBeLessThanOrEqual(1e-5 + 2e-3 * Math.abs(ad));
    }
  });

  it('exported with frozen weights (graphOptimizationLevel all) it gives the same x0 and VJP', async () => {
    const live = await run(g, feeds);
    const frozen = await createSession(exportInference(g, params));
    const data = Object.fromEntries(
      ['z_t', 't', 'z_b', 'sigma', 'mu', 'cotangent'].map((k) => [k, feeds[k] as Float32Array]),
    );
    const out = await frozen.run(data);
    for (const k of ['x0', DPS_GRAD_OUTPUT]) {
      const a = (out[k] as TensorData).data as Float32Array;
      const b = live[k] as Float32Array;
      const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(scale).toBeGreaterThan(1e-2);
      expect(a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0)).toBeLessThan(
        1e-5 * Math.max(1, scale),
      );
    }
  });
});

/**
 * The split DPS graphs frozen as the product freezes them (`createLatentSessions`): the forward on the helper's
 * inputs, then the backward fed the cotangent, the forward inputs it reads and the forward's residual outputs.
 */
async function runSplit(
  split: SplitVjp,
  params: Arrays,
  feeds: Arrays,
): Promise<{
  eps: Float32Array;
  x0: Float32Array;
  grad: Float32Array;
  forward: (z: Float32Array) => Promise<Arrays>;
}> {
  const fwd = await createSession(exportInference(split.forward, pickParams(split.forward, params)));
  const bwd = await createSession(exportInference(split.backward, pickParams(split.backward, params)));
  const inputs = Object.fromEntries(split.forward.inputs.map((v) => [v.name, feeds[v.name] as Float32Array]));
  const out = await fwd.run(inputs);
  const bFeeds: Record<string, Feed> = {};
  for (const v of bwd.inputs) {
    const f = v.name === 'cotangent' ? feeds.cotangent : (inputs[v.name] ?? out[v.name]?.data);
    if (f === undefined) throw new Error(`no feed for '${v.name}'`);
    bFeeds[v.name] = f;
  }
  const grad = (await bwd.run(bFeeds, [DPS_GRAD_OUTPUT]))[DPS_GRAD_OUTPUT]?.data as Float32Array;
  const forward = async (z: Float32Array): Promise<Arrays> => {
    const o = await fwd.run({ ...inputs, z_t: z }, ['x0']);
    return { x0: o.x0?.data as Float32Array };
  };
  return { eps: out.eps?.data as Float32Array, x0: out.x0?.data as Float32Array, grad, forward };
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
};
const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('DPS helper split into forward and backward (one forward per DPS evaluation)', () => {
  it("gives the one-call helper's eps, x0 and VJP on ci-sized random weights", async () => {
    const score = { ...SCORE_PRESETS.ci, batch: 2 };
    const vae = { ...VAE_PRESETS.ci, batch: 2 };
    const norm = {
      mean: [0.1, -0.2, 0.3, 0, 0.05, -0.1, 0.2, 0.4],
      std: [0.8, 1.2, 0.5, 1, 2, 0.9, 1.1, 0.7],
    };
    const helper = buildDpsHelper(score, vae, norm);
    const split = buildDpsSplit(score, vae, norm);
    // Only the helper's own residuals cross: the forward's nodes are the helper's forward nodes.
    expect(split.forward.nodes.every((n) => !n.name.startsWith('grad/'))).toBe(true);
    expect(split.backward.outputs.map((v) => v.name)).toEqual([DPS_GRAD_OUTPUT]);
    const params = perturbedParams(helper, 41, 0.05);
    const t = [0.35, 0.8];
    const feeds: Arrays = {
      ...randomInputs(helper, 42),
      t: Float32Array.from(t),
      sigma: Float32Array.from(t, sigma),
      mu: Float32Array.from(t, mu),
    };
    const old = await (await createSession(exportInference(helper, params))).run(feeds);
    const got = await runSplit(split, params, feeds);
    const cases: [string, Float32Array, string, number][] = [
      ['eps', got.eps, 'eps', 1e-6],
      ['x0', got.x0, 'x0', 1e-6],
      ['grad', got.grad, DPS_GRAD_OUTPUT, 1e-5],
    ];
    for (const [what, a, name, tol] of cases) {
      const b = (old[name] as TensorData).data as Float32Array;
      const scale = maxAbs(b);
      expect(scale, what).toBeGreaterThan(1e-2);
      expect(maxAbsDiff(a, b), what).toBeLessThanOrEqual(tol * scale);
    }
    // ... and today's other evaluations of the same point: the eps graph and the decoder of the Tweedie estimate.
    const epsG = buildScoreEps(score);
    const epsSession = await createSession(exportInference(epsG, pickParams(epsG, params)));
    const eps = (
      await epsSession.run({
        z_t: feeds.z_t as Float32Array,
        t: feeds.t as Float32Array,
        z_b: feeds.z_b as Float32Array,
      })
    ).eps?.data as Float32Array;
    expect(maxAbsDiff(got.eps, eps)).toBeLessThanOrEqual(1e-5 * maxAbs(eps));
    const per = eps.length / 2;
    const z0 = (feeds.z_t as Float32Array).map((v, i) => {
      const n = Math.floor(i / per);
      return (v - sigma(t[n] as number) * (got.eps[i] as number)) / mu(t[n] as number);
    });
    const dec = buildVaeDecode(vae, norm);
    const x0 = (await (await createSession(exportInference(dec, pickParams(dec, params)))).run({ z: z0 })).x
      ?.data as Float32Array;
    expect(maxAbsDiff(got.x0, x0)).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(x0)));
  });

  it('its VJP matches central finite differences of <cotangent, x0(z_t)> on a tiny config', async () => {
    const score: ScoreConfig = { ...TINY, widths: [4, 8], timeDim: 8, groups: 2, batch: 2 };
    const vae: VaeConfig = {
      ...VAE_DEFAULTS,
      channels: 2,
      height: 16,
      width: 32,
      latentChannels: 2,
      widths: [4, 4, 4],
      groups: 2,
      batch: 2,
    };
    const split = buildDpsSplit(score, vae, { mean: [0.4, -0.3], std: [0.5, 2] });
    const params = perturbedParams(buildDpsHelper(score, vae), 51, 0.05);
    const feeds: Arrays = {
      ...randomInputs(split.forward, 50),
      cotangent: randn(52, 2 * 2 * 16 * 32),
      t: Float32Array.of(0.3, 0.7),
      sigma: Float32Array.of(sigma(0.3), sigma(0.7)),
      mu: Float32Array.of(mu(0.3), mu(0.7)),
    };
    const got = await runSplit(split, params, feeds);
    const cot = feeds.cotangent as Float32Array;
    const f = (x: Float32Array): number => x.reduce((s, v, i) => s + v * (cot[i] as number), 0);
    const zt = feeds.z_t as Float32Array;
    for (const seed of [5, 6]) {
      const dir = randn(seed, zt.length);
      const k = 1 / Math.sqrt(dir.reduce((s, v) => s + v * v, 0));
      const h = 3e-2;
      const at = async (sign: number): Promise<number> =>
        f((await got.forward(zt.map((v, i) => v + sign * h * k * (dir[i] as number)))).x0 as Float32Array);
      const fd = ((await at(1)) - (await at(-1))) / (2 * h);
      const ad = got.grad.reduce((s, v, i) => s + v * k * (dir[i] as number), 0);
      expect(Math.abs(ad)).toBeGreaterThan(1e-2);
      expect(Math.abs(ad - fd)).toBeLessThanOrEqual(1e-5 + 2e-3 * Math.abs(ad));
    }
  });
});

import { exportInference, createSession, releaseSessions } from '@alignda/graph';
import type { TensorData } from '@alignda/graph';
import { afterAll, describe, expect, it } from 'vitest';
import {
  expectLossGradientMatchesFd,
  headTail,
  perturbedParams,
  randn,
  randomInputs,
  run,
  smoothFields,
  trainAdamW,
} from './internal/testing.js';
import {
  VAE_DEFAULTS,
  VAE_PRESETS,
  buildVaeDecode,
  buildVaeEncode,
  buildVaeForward,
  buildVaeTraining,
  vaeInitialParams,
} from './vae.js';
import type { VaeConfig } from './vae.js';
import { pickParams } from './model.js';

afterAll(async () => {
  await releaseSessions();
});

/** Tiny VAE: 2 x 16 x 32 fields -> 2 x 4 x 8 latents. */
const TINY: VaeConfig = {
  ...VAE_DEFAULTS,
  channels: 2,
  height: 16,
  width: 32,
  latentChannels: 2,
  widths: [8, 8, 8],
  groups: 4,
  batch: 4,
};

const maxDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

describe('convolutional VAE', () => {
  it('maps a 7 x 32 x 64 field to an [8, 8, 16] latent and back, with encode/decode sharing the training parameters', () => {
    const cfg = { ...VAE_PRESETS.ci, batch: 2 };
    const enc = buildVaeEncode(cfg);
    const dec = buildVaeDecode(cfg);
    expect(enc.outputs.map((v) => [v.name, v.shape])).toEqual([['z', [2, 8, 8, 16]]]);
    expect(dec.outputs.map((v) => [v.name, v.shape])).toEqual([['x', [2, 7, 32, 64]]]);
    const init = vaeInitialParams(cfg);
    for (const p of [...enc.params, ...dec.params]) {
      expect(p.name).toMatch(/^(enc|dec)\./);
      // Name-derived seeds: the inference graphs start from the training graph's values.
      expect(Array.from(p.init)).toEqual(Array.from(init[p.name] ?? []));
    }
    expect(enc.params.length + dec.params.length).toBe(Object.keys(init).length);
  });

  it('encode then decode equals the training reconstruction with zero noise, also as frozen exports', async () => {
    const fwd = buildVaeForward(TINY);
    const params = perturbedParams(fwd, 3, 0.05);
    const x = smoothFields(1, [4, 2, 16, 32]);
    const train = await run(fwd, { x, noise: new Float32Array(4 * 2 * 4 * 8), ...params });
    const enc = buildVaeEncode(TINY);
    const dec = buildVaeDecode(TINY);
    const z = (await run(enc, { x, ...pickParams(enc, params) })).z as Float32Array;
    const xhat = (await run(dec, { z, ...pickParams(dec, params) })).x as Float32Array;
    expect(maxDiff(xhat, train.xhat as Float32Array)).toBeLessThan(1e-5);
    const frozen = await createSession(exportInference(buildVaeDecode(TINY), params));
    const xf = ((await frozen.run({ z })).x as TensorData).data as Float32Array;
    expect(maxDiff(xf, xhat)).toBeLessThan(1e-5);
    // The reconstruction depends on the parameters (the comparison is not between two constants).
    const other = (await run(dec, { z, ...pickParams(dec, perturbedParams(fwd, 4, 0.05)) }))
      .x as Float32Array;
    expect(maxDiff(other, xhat)).toBeGreaterThan(1e-2);
  });

  it('reparameterises z = mean + exp(logvar / 2) noise and reports the KL of N(mean, exp(logvar)) from N(0, 1)', async () => {
    const fwd = buildVaeForward(TINY);
    const params = perturbedParams(fwd, 5, 0.05);
    const x = smoothFields(2, [4, 2, 16, 32]);
    const noise = randn(9, 4 * 2 * 4 * 8);
    const out = await run(fwd, { x, noise, ...params });
    const [m, lv] = [out.mean as Float32Array, out.logvar as Float32Array];
    let kl = 0;
    m.forEach((v, i) => (kl += 0.5 * (v * v + Math.exp(lv[i] as number) - 1 - (lv[i] as number))));
    kl /= m.length;
    expect(Math.abs((out.kl?.[0] ?? NaN) - kl)).toBeLessThan(1e-5 * Math.max(1, kl));
    expect(kl).toBeGreaterThan(1e-3);
    expect(Math.abs((out.loss?.[0] ?? NaN) - (out.recon?.[0] ?? NaN) - TINY.klWeight * kl)).toBeLessThan(
      1e-6,
    );
    const z = m.map((v, i) => v + Math.exp(0.5 * (lv[i] as number)) * (noise[i] as number));
    const dec = buildVaeDecode(TINY);
    const xhat = (await run(dec, { z, ...pickParams(dec, params) })).x as Float32Array;
    expect(maxDiff(xhat, out.xhat as Float32Array)).toBeLessThan(1e-4);
  });

  it('the loss gradient matches central finite differences along random directions in parameter space', async () => {
    // float32 through onnxruntime, h = 3e-2 on a unit direction: observed relative error ~1e-4.
    const cfg: VaeConfig = { ...TINY, height: 8, width: 16, widths: [4, 4, 4], groups: 2, batch: 2 };
    const tg = buildVaeTraining(cfg);
    const feeds = { ...randomInputs(tg.forward, 10), ...perturbedParams(tg.forward, 11, 0.05) };
    await expectLossGradientMatchesFd(tg, feeds, [1, 2, 3]);
  });

  it('AdamW (lr 3e-3, 60 steps) halves the loss on smooth periodic fields', async () => {
    // Seeded and deterministic: mean of the first 5 losses ~0.57, of the last 5 ~0.18.
    const data = (k: number) => ({
      x: smoothFields(k % 4, [4, 2, 16, 32]),
      noise: randn(1000 + k, 4 * 2 * 4 * 8),
    });
    const { losses } = await trainAdamW(buildVaeTraining(TINY), data, 60, 3e-3);
    const { head, tail } = headTail(losses, 5);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(tail).toBeLessThan(head / 2);
  });
});

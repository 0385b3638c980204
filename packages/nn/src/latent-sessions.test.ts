import { AppError } from '@alignda/errors';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { dps, griddedObservations, mu, sample, sigma, tweedie } from '@alignda/da';
import { releaseSessions } from '@alignda/graph';
import type { ParamMap } from '@alignda/graph';
import { createRng, normalise } from '@alignda/tensor';
import type { NormStats, Tensor } from '@alignda/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  EMULATOR_PRESETS,
  buildEmulatorStep,
  buildEmulatorTraining,
  emulatorInitialParams,
} from './emulator.js';
import { perturbedParams, run } from './internal/testing.js';
import { createLatentSessions, latentPorts } from './latent-sessions.js';
import type { LatentPortName } from './latent-sessions.js';
import { MODEL_FILES, loadLatentModels, loadTrainedModel } from './model-store.js';
import type { LatentModels } from './model-store.js';
import { pickParams } from './model.js';
import {
  DPS_GRAD_OUTPUT,
  SCORE_PRESETS,
  buildScoreEps,
  buildScoreTraining,
  scoreInitialParams,
} from './score.js';
import { emulatorBatches, scoreBatches, vaeBatches } from './train/data.js';
import { emulatorForecasts, encodeStates, fitLatentNorm } from './train/pipeline.js';
import { TrainError } from './train/train-error.js';
import { trainModel } from './train/train-model.js';
import type { TrainModelOptions } from './train/train-model.js';
import { VAE_PRESETS, buildVaeTraining, vaeInitialParams } from './vae.js';

const vae = VAE_PRESETS.ci;
const emu = EMULATOR_PRESETS.ci;
const score = SCORE_PRESETS.ci;
const STATE = [7, 32, 64] as const;
const LATENT = [8, 8, 16] as const;
const SIZE = 7 * 32 * 64;
const ZSIZE = 8 * 8 * 16;

/** The states' normalisation (only stored and compared here). */
const norm: NormStats = {
  channels: ['u', 'v', 'w', 'q', 'T', 'p', 'z'],
  mean: [1, -2, 0.5, 3, 280, 1000, 5500],
  std: [5, 4, 0.1, 2, 10, 8, 90],
};
const train = { steps: 2, warmupSteps: 1, peakLr: 1e-2, seed: 3 };

let root: string;
let good: string;
let states: Tensor<Float32Array>;
let latentNorm: NormStats;
let scoreEma: ParamMap;
let vaeParams: ParamMap;
/** The score network's batches (standardised latents of `states`), set in beforeAll. */
let scoreBatchesOf: () => TrainModelOptions['nextBatch'];

function normalState(seed: number, T: number): Tensor<Float32Array> {
  return { data: createRng(seed).fillNormal(new Float32Array(T * SIZE)), shape: [T, ...STATE] };
}

function emulatorRun(dir: string, extra: Partial<TrainModelOptions> = {}): TrainModelOptions {
  return {
    graph: buildEmulatorTraining(emu),
    params: emulatorInitialParams(emu),
    modelConfig: emu,
    config: train,
    norm,
    nextBatch: emulatorBatches(emu, states),
    checkpointPath: join(dir, MODEL_FILES.emulator),
    ...extra,
  };
}

function scoreRun(dir: string, extra: Partial<TrainModelOptions> = {}): TrainModelOptions {
  return {
    graph: buildScoreTraining(score),
    params: scoreInitialParams(score),
    modelConfig: score,
    config: { ...train, emaDecay: 0.9 },
    norm: latentNorm,
    nextBatch: scoreBatchesOf(),
    checkpointPath: join(dir, MODEL_FILES.score),
    ...extra,
  };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'alignda-latent-da-'));
  good = join(root, 'good');
  await mkdir(good);
  states = normalState(1, 6);
  const v = await trainModel({
    graph: buildVaeTraining(vae),
    params: vaeInitialParams(vae),
    modelConfig: vae,
    config: train,
    norm,
    nextBatch: vaeBatches(vae, states),
    checkpointPath: join(good, MODEL_FILES.vae),
  });
  vaeParams = v.params;
  await trainModel(emulatorRun(good));
  // The score network trains on standardised latents of the states, conditioned on noisy copies of them.
  const raw = await encodeStates(vae, vaeParams, states);
  latentNorm = fitLatentNorm(raw);
  const z = normalise(raw, latentNorm);
  const zb: Tensor<Float32Array> = {
    data: z.data.map((x, i) => x + 0.3 * Math.sin(i)),
    shape: z.shape,
  };
  scoreBatchesOf = () => scoreBatches(score, z, zb);
  const s = await trainModel(scoreRun(good));
  scoreEma = s.ema as ParamMap;
}, 120_000);

afterAll(async () => {
  await releaseSessions();
  await rm(root, { recursive: true, force: true });
});

/** A folder with copies of `good`'s files named in `from`. */
async function folder(name: string, from: readonly (keyof typeof MODEL_FILES)[]): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  for (const k of from) await copyFile(join(good, MODEL_FILES[k]), join(dir, MODEL_FILES[k]));
  return dir;
}

describe('loading the trained models of a model folder', () => {
  it('loads the VAE, emulator and score network with their configs, norms and final (EMA) parameters', async () => {
    const m = await loadLatentModels(good);
    expect(m.vae.config).toEqual(vae);
    expect(m.emulator.config).toEqual(emu);
    expect(m.score.config).toEqual(score);
    expect(m.vae.norm).toEqual(norm);
    expect(m.emulator.norm).toEqual(norm);
    expect(m.score.norm).toEqual(latentNorm);
    expect(latentNorm.channels).toEqual(['z0', 'z1', 'z2', 'z3', 'z4', 'z5', 'z6', 'z7']);
    expect([m.vae.steps, m.emulator.steps, m.score.steps]).toEqual([2, 2, 2]);
    expect(m.vae.params).toEqual(vaeParams);
    // The score network kept an EMA: that, not the raw parameters, is what inference uses.
    expect(m.score.params).toEqual(scoreEma);
  });

  it('a missing file is CHECKPOINT_MISSING', async () => {
    const dir = await folder('only-vae', ['vae']);
    await expect(loadLatentModels(dir)).rejects.toMatchObject({
      name: 'TrainError',
      reason: 'CHECKPOINT_MISSING',
      message: expect.stringContaining(MODEL_FILES.emulator) as unknown,
    });
    await expect(loadTrainedModel(join(root, 'nowhere.safetensors'))).rejects.toBeInstanceOf(TrainError);
  });

  it('an unfinished checkpoint is CHECKPOINT_MISMATCH naming it unfinished', async () => {
    const dir = await folder('unfinished', ['vae', 'emulator']);
    // Aborted before the first step: the checkpoint stores step 0 of 2.
    await trainModel(scoreRun(dir, { signal: AbortSignal.abort() }));
    await expect(loadLatentModels(dir)).rejects.toMatchObject({
      reason: 'CHECKPOINT_MISMATCH',
      message: expect.stringMatching(/score\.safetensors is unfinished \(step 0 of 2\)/) as unknown,
    });
  });

  it('a VAE and an emulator trained on differently normalised data are CHECKPOINT_MISMATCH', async () => {
    const dir = await folder('other-norm', ['vae', 'score']);
    await trainModel(emulatorRun(dir, { norm: { ...norm, std: norm.std.map((s) => 2 * s) } }));
    await expect(loadLatentModels(dir)).rejects.toMatchObject({
      reason: 'CHECKPOINT_MISMATCH',
      message: expect.stringContaining('differently normalised') as unknown,
    });
  });

  it('a checkpoint without normalisation statistics is CHECKPOINT_CORRUPT', async () => {
    const dir = join(root, 'no-norm');
    await mkdir(dir);
    const { norm: _drop, ...rest } = emulatorRun(dir);
    await trainModel(rest);
    await expect(loadTrainedModel(join(dir, MODEL_FILES.emulator))).rejects.toMatchObject({
      reason: 'CHECKPOINT_CORRUPT',
    });
  });
});

describe('latent sessions and the ports of packages/da', () => {
  let models: LatentModels;
  beforeAll(async () => {
    models = await loadLatentModels(good);
  });

  it('bind the trained sessions: denoiser, DPS VJP, encoder and forecast agree with direct runs', async () => {
    const s = await createLatentSessions(models, 2, { leadSteps: 2 });
    expect(s.members).toBe(2);
    const rng = createRng(40);
    const zb = rng.fillNormal(new Float32Array(2 * ZSIZE));
    const z = rng.fillNormal(new Float32Array(2 * ZSIZE));
    const calls: LatentPortName[] = [];
    const ports = latentPorts(s, zb, (port, runMs, adapterMs) => {
      expect(runMs).toBeGreaterThanOrEqual(0);
      expect(adapterMs).toBeGreaterThanOrEqual(0);
      calls.push(port);
    });
    const shape = [2, ...LATENT];
    const t = 0.4;

    const eps = await ports.denoiser(z, t, shape);
    const direct = (await s.eps.run({ z_t: z, t: Float32Array.of(t, t), z_b: zb }, ['eps'])).eps?.data;
    expect(eps).toEqual(direct);
    // ... and the unfrozen graph with the loaded (EMA) parameters gives it too; the head moved off zero.
    const g = buildScoreEps({ ...score, batch: 2 });
    const live = (
      await run(g, { z_t: z, t: Float32Array.of(t, t), z_b: zb, ...pickParams(g, models.score.params) })
    ).eps as Float32Array;
    const scale = live.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(scale).toBeGreaterThan(1e-3);
    expect(eps.reduce((m, v, i) => Math.max(m, Math.abs(v - (live[i] as number))), 0)).toBeLessThan(
      1e-5 * Math.max(1, scale),
    );

    const cot = rng.fillNormal(new Float32Array(2 * SIZE));
    const grad = await ports.vjp(z, t, cot, shape);
    const helper = await s.helper.run(
      {
        z_t: z,
        t: Float32Array.of(t, t),
        z_b: zb,
        sigma: Float32Array.of(sigma(t), sigma(t)),
        mu: Float32Array.of(mu(t), mu(t)),
        cotangent: cot,
      },
      [DPS_GRAD_OUTPUT],
    );
    expect(grad).toEqual(helper[DPS_GRAD_OUTPUT]?.data);
    expect(grad).toHaveLength(2 * ZSIZE);

    // The encoder port gives standardised posterior means: those of encodeStates, standardised with the latent norm.
    const x = states.data.slice(0, 2 * SIZE);
    const zx = await ports.encoder(x, [2, ...STATE]);
    const raw = await encodeStates(models.vae.config, models.vae.params, { data: x, shape: [2, ...STATE] });
    const want = normalise(raw, models.score.norm).data;
    expect(zx.reduce((m, v, i) => Math.max(m, Math.abs(v - (want[i] as number))), 0)).toBeLessThan(1e-4);
    expect(await ports.decoder(zx, shape)).toHaveLength(2 * SIZE);

    // The forecast session is the emulator's 2-step rollout.
    const fc = (await s.forecast.run({ x }, ['y'])).y?.data as Float32Array;
    const ref = await emulatorForecasts(
      models.emulator.config,
      models.emulator.params,
      { data: states.data.slice(0, 4 * SIZE), shape: [4, ...STATE] },
      2,
      { batch: 2 },
    );
    expect(fc.reduce((m, v, i) => Math.max(m, Math.abs(v - (ref.data[i] as number))), 0)).toBeLessThan(1e-5);

    expect(calls).toEqual(['eps', 'helper', 'encoder', 'decoder']);
  });

  it("the fused DPS port gives the denoiser's eps, the decoder's x0 of the Tweedie estimate and the helper's VJP from one forward", async () => {
    const s = await createLatentSessions(models, 2, { leadSteps: 2 });
    const rng = createRng(41);
    const zb = rng.fillNormal(new Float32Array(2 * ZSIZE));
    const z = rng.fillNormal(new Float32Array(2 * ZSIZE));
    const cot = rng.fillNormal(new Float32Array(2 * SIZE));
    const calls: LatentPortName[] = [];
    const ports = latentPorts(s, zb, (port) => calls.push(port));
    const shape = [2, ...LATENT];
    const maxDiff = (a: Float32Array, b: Float32Array): number =>
      a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
    const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (const t of [0.9, 0.3]) {
      calls.length = 0;
      const d = await ports.denoiseAndDecode(z, t, shape);
      const eps = await ports.denoiser(z, t, shape);
      const x0 = await ports.decoder(tweedie(z, d.eps, t), shape);
      const grad = await d.vjp(cot);
      const want = await ports.vjp(z, t, cot, shape);
      expect(calls).toEqual(['dpsForward', 'eps', 'decoder', 'dpsBackward', 'helper']);
      expect([d.eps.length, d.x0.length, grad.length]).toEqual([2 * ZSIZE, 2 * SIZE, 2 * ZSIZE]);
      expect(maxAbs(eps)).toBeGreaterThan(1e-2);
      expect(maxDiff(d.eps, eps)).toBeLessThanOrEqual(1e-5 * maxAbs(eps));
      expect(maxDiff(d.x0, x0)).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(x0)));
      expect(maxAbs(want)).toBeGreaterThan(1e-2);
      expect(maxDiff(grad, want)).toBeLessThanOrEqual(1e-5 * maxAbs(want));
      // The residuals stay with the evaluation: its VJP can be taken again, with the same result.
      expect(await d.vjp(cot)).toEqual(grad);
    }
    await expect(
      Promise.resolve(ports.denoiseAndDecode(z.subarray(0, ZSIZE), 0.5, [1, ...LATENT])),
    ).rejects.toThrow(/1 samples; these sessions take exactly 2/);
  });

  it('DPS sampling with the fused port gives the analysis of the three-port path', async () => {
    const s = await createLatentSessions(models, 2, { leadSteps: 2 });
    const zb = createRng(43).fillNormal(new Float32Array(2 * ZSIZE));
    const ports = latentPorts(s, zb);
    const obs = griddedObservations({
      stateShape: [...STATE],
      channel: [0, 3, 6, 2],
      row: [4, 10, 20, 31],
      col: [0, 17, 40, 63],
      value: [0.5, -1, 0.2, 1.5],
      std: 0.1,
    });
    const opts = { zShape: [...LATENT], members: 2, steps: 6, seed: 5 };
    const old = await sample(ports.denoiser, dps({ obs, decoder: ports.decoder, vjp: ports.vjp }), opts);
    const fused = await sample(
      ports.denoiser,
      dps({ obs, decoder: ports.decoder, vjp: ports.vjp, denoiseAndDecode: ports.denoiseAndDecode }),
      opts,
    );
    const scale = old.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const diff = fused.data.reduce((m, v, i) => Math.max(m, Math.abs(v - (old.data[i] as number))), 0);
    expect(scale).toBeGreaterThan(0.1);
    expect(diff).toBeLessThanOrEqual(1e-4 * scale);
  });

  it('an emulator with solar forcing gives a forecast session that takes the start hour', async () => {
    expect((await createLatentSessions(models, 1, { leadSteps: 2 })).forecastTakesHour).toBe(false);
    const cfg = { ...models.emulator.config, solarLonDeg: Array.from({ length: 64 }, (_, j) => 5.625 * j) };
    const params = perturbedParams(buildEmulatorStep(cfg), 9, 0.05);
    const s = await createLatentSessions(
      { ...models, emulator: { ...models.emulator, config: cfg, params } },
      2,
      {
        leadSteps: 2,
      },
    );
    expect(s.forecastTakesHour).toBe(true);
    const x = states.data.slice(0, 2 * SIZE);
    const hour = Float32Array.of(6, 12);
    const fc = (await s.forecast.run({ x, hour }, ['y'])).y?.data as Float32Array;
    const ref = await emulatorForecasts(
      cfg,
      params,
      { data: states.data.slice(0, 4 * SIZE), shape: [4, ...STATE] },
      2,
      { batch: 2, hours: [6, 12, 18, 0] },
    );
    expect(fc.reduce((m, v, i) => Math.max(m, Math.abs(v - (ref.data[i] as number))), 0)).toBeLessThan(1e-5);
  });

  it('refuse calls with another member count and bad member counts', async () => {
    const s = await createLatentSessions(models, 2, { leadSteps: 2 });
    const ports = latentPorts(s, new Float32Array(2 * ZSIZE));
    const z3 = new Float32Array(3 * ZSIZE);
    await expect(Promise.resolve(ports.denoiser(z3, 0.5, [3, ...LATENT]))).rejects.toThrow(AppError);
    await expect(Promise.resolve(ports.decoder(z3, [3, ...LATENT]))).rejects.toThrow(
      /3 samples; these sessions take exactly 2/,
    );
    await expect(createLatentSessions(models, 0)).rejects.toThrow(AppError);
    await expect(createLatentSessions(models, 1.5)).rejects.toThrow(AppError);
  });
});

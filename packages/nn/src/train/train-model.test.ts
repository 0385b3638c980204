import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { releaseSessions } from '@alignda/graph';
import type { NormStats, Tensor } from '@alignda/tensor';
import { loadOrGenerateNatureRun } from '@alignda/world';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EMULATOR_PRESETS, buildEmulatorTraining, emulatorInitialParams } from '../emulator.js';
import { VAE_PRESETS, buildVaeTraining, vaeInitialParams } from '../vae.js';
import { emulatorBatches, fitTrainNorm, loadPeriod, vaeBatches } from './data.js';
import { TrainError } from './train-error.js';
import { readTrainCheckpoint, trainModel } from './train-model.js';
import type { TrainModelOptions } from './train-model.js';

// A 73-state nature run (0.05 years after 30 days of spin-up, ~3 s): train = states [0, 51).
let dir: string;
let norm: NormStats;
let train: Tensor<Float32Array>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alignda-train-'));
  const run = loadOrGenerateNatureRun({ seed: 5, years: 0.05, spinUpDays: 30, dir });
  norm = fitTrainNorm(run);
  train = loadPeriod(run, 'train', norm);
}, 60_000);

afterAll(async () => {
  await releaseSessions();
  await rm(dir, { recursive: true, force: true });
});

const vae = VAE_PRESETS.ci;
const emu = EMULATOR_PRESETS.ci;

function emulatorOptions(steps: number, extra: Partial<TrainModelOptions> = {}): TrainModelOptions {
  return {
    graph: buildEmulatorTraining(emu),
    params: emulatorInitialParams(emu),
    modelConfig: emu,
    config: { steps, warmupSteps: 5, peakLr: 3e-3, emaDecay: 0.9, seed: 11 },
    norm,
    nextBatch: emulatorBatches(emu, train),
    ...extra,
  };
}

const mean = (xs: readonly number[]): number => xs.reduce((s, v) => s + v, 0) / xs.length;

describe('trainModel on a QG nature run', () => {
  it('fits normalisation on the train period (per-channel mean 0, std 1 there)', () => {
    const [T, C, H, W] = train.shape as [number, number, number, number];
    for (let c = 0; c < C; c++) {
      let s = 0;
      let ss = 0;
      for (let t = 0; t < T; t++)
        for (let k = 0; k < H * W; k++) {
          const v = train.data[(t * C + c) * H * W + k] as number;
          s += v;
          ss += v * v;
        }
      const n = T * H * W;
      expect(Math.abs(s / n)).toBeLessThan(1e-4);
      expect(Math.abs(ss / n - 1)).toBeLessThan(1e-3);
    }
  });

  it('at least halves the VAE loss in 40 steps (mean of the last 5 steps vs the first 5)', async () => {
    const res = await trainModel({
      graph: buildVaeTraining(vae),
      params: vaeInitialParams(vae),
      modelConfig: vae,
      config: { steps: 40, warmupSteps: 5, peakLr: 5e-3, seed: 1 },
      norm,
      nextBatch: vaeBatches(vae, train),
    });
    expect(res.losses).toHaveLength(40);
    expect(res.completed).toBe(true);
    expect(mean(res.losses.slice(-5))).toBeLessThan(0.5 * mean(res.losses.slice(0, 5)));
  });

  it('resumes from a checkpoint after an abort to exactly the parameters, EMA and losses of an uninterrupted run', async () => {
    const straight = await trainModel(emulatorOptions(30));
    const path = join(dir, 'emu.safetensors');
    const ctl = new AbortController();
    const first = await trainModel(
      emulatorOptions(30, {
        checkpointPath: path,
        checkpointEverySteps: 5,
        signal: ctl.signal,
        onProgress: (step) => {
          if (step === 12) ctl.abort();
        },
      }),
    );
    expect(first.completed).toBe(false);
    expect(first.step).toBe(12);
    expect((await readTrainCheckpoint(path)).meta.step).toBe(12);
    const second = await trainModel(emulatorOptions(30, { checkpointPath: path, resume: true }));
    expect(second.resumedFrom).toBe(12);
    expect(second.completed).toBe(true);
    expect([...first.losses, ...second.losses]).toEqual(straight.losses);
    for (const [name, p] of Object.entries(straight.params)) {
      expect(Buffer.from((second.params[name] as Float32Array).buffer)).toEqual(Buffer.from(p.buffer));
    }
    expect(second.ema).toEqual(straight.ema);
    // The run moved, and the stored normalisation is the one fit on the train period.
    expect(straight.params).not.toEqual(emulatorInitialParams(emu));
    expect((await readTrainCheckpoint(path)).meta.norm).toEqual(norm);
  });

  it('refuses to resume from a missing, corrupted or mismatched checkpoint with a clear error', async () => {
    const path = join(dir, 'bad.safetensors');
    await expect(trainModel(emulatorOptions(3, { checkpointPath: path, resume: true }))).rejects.toThrow(
      new TrainError('CHECKPOINT_MISSING', `no checkpoint at ${path} to resume from`),
    );
    await trainModel(emulatorOptions(3, { checkpointPath: path }));
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 100)); // truncated
    await expect(
      trainModel(emulatorOptions(3, { checkpointPath: path, resume: true })),
    ).rejects.toMatchObject({
      reason: 'CHECKPOINT_CORRUPT',
      message: expect.stringContaining(path) as unknown,
    });
    await writeFile(path, 'not a checkpoint');
    await expect(
      trainModel(emulatorOptions(3, { checkpointPath: path, resume: 'if-exists' })),
    ).rejects.toMatchObject({
      reason: 'CHECKPOINT_CORRUPT',
    });
    await trainModel(emulatorOptions(3, { checkpointPath: path }));
    await expect(
      trainModel(
        emulatorOptions(3, { checkpointPath: path, resume: true, modelConfig: { ...emu, hidden: 16 } }),
      ),
    ).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      reason: 'CHECKPOINT_MISMATCH',
      message: expect.stringContaining('model config') as unknown,
    });
    // Another normalisation (here a climatology of 10,000 values): named, its JSON cut short in the message.
    const climate = { ...norm, meanField: Array.from({ length: 10_000 }, (_, k) => k / 7) };
    const err = await trainModel(
      emulatorOptions(3, { checkpointPath: path, resume: true, norm: climate }),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'CHECKPOINT_MISMATCH' });
    expect((err as Error).message).toMatch(
      /another normalisation \(data\) .*\.\.\. \(\d+ characters\) now\)/,
    );
    expect((err as Error).message.length).toBeLessThan(1000);
  });
});

import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { loadConfig } from '@alignda/config';
import { AppError } from '@alignda/errors';
import type { AppErrorCode } from '@alignda/errors';
import type { ParamMap } from '@alignda/graph';
import {
  EMULATOR_PRESETS,
  VAE_PRESETS,
  buildEmulatorTraining,
  buildVaeTraining,
  emulatorBatches,
  emulatorInitialParams,
  evaluateEmulator,
  evaluateVae,
  fitTrainNorm,
  loadPeriod,
  TrainError,
  trainModel,
  vaeBatches,
  vaeInitialParams,
} from '@alignda/nn';
import type { Feeds, TrainConfig, TrainErrorCode, TrainingGraph } from '@alignda/nn';
import { createRng } from '@alignda/tensor';
import type { NormStats, Rng, Tensor } from '@alignda/tensor';
import { loadOrGenerateNatureRun } from '@alignda/world';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';

import { createProgress } from '../progress.js';

/** Per-preset run lengths; model sizes come from the nn presets of the same name. */
const TRAIN_PRESETS = {
  ci: {
    /** 0.5 simulated years: ~510 train states, generated in well under a minute. */
    years: 0.5,
    /**
     * ~25 ms per VAE step and ~8 ms per emulator step at batch 4: under a minute of training in all. 3000 emulator
     * steps fit one step better but rolled out worse at 48 h (0.44 vs 0.38 of persistence's MSE).
     */
    vae: { steps: 1500, peakLr: 3e-3 },
    emulator: { steps: 1000, peakLr: 3e-3 },
  },
  small: {
    /** One simulated year: ~1020 train states (the QG world has no seasons, so a year is plenty). */
    years: 1,
    /** ~0.4 s per VAE step and ~0.25 s per emulator step at batch 16: under an hour on one core. */
    vae: { steps: 5000, peakLr: 1e-3 },
    emulator: { steps: 3000, peakLr: 1e-3 },
  },
} as const;

type Preset = keyof typeof TRAIN_PRESETS;
type ModelName = 'vae' | 'emulator';

interface TrainOptions {
  world: string;
  preset: Preset;
  seed: number;
  years?: number;
  model: ModelName | 'all';
  steps?: number;
  out?: string;
}

function intArg(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

function positiveArg(v: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/** How each training failure reads at the CLI's edge (one line `error <code>: <message>`). */
const APP_CODE: Record<TrainErrorCode, AppErrorCode> = {
  CHECKPOINT_MISSING: 'NOT_FOUND',
  CHECKPOINT_CORRUPT: 'FAILED_PRECONDITION',
  CHECKPOINT_MISMATCH: 'FAILED_PRECONDITION',
  NON_FINITE_LOSS: 'INTERNAL',
};

const fmt = (x: number): string => (Math.abs(x) >= 0.01 ? x.toFixed(4) : x.toExponential(3));

/** Trains one model (resuming from its checkpoint when there is one) and returns its final parameters. */
async function trainOne(
  name: ModelName,
  graph: TrainingGraph,
  init: ParamMap,
  modelConfig: unknown,
  config: Partial<TrainConfig>,
  norm: NormStats,
  nextBatch: (step: number, rng: Rng) => Feeds,
  evalBatch: Feeds,
  checkpointPath: string,
): Promise<ParamMap | undefined> {
  const progress = createProgress();
  const ctl = new AbortController();
  const onSigint = (): void => ctl.abort();
  process.once('SIGINT', onSigint);
  const t0 = performance.now();
  const recent: number[] = [];
  try {
    const res = await trainModel({
      graph,
      params: init,
      modelConfig,
      config,
      norm,
      nextBatch,
      evalBatch,
      checkpointPath,
      resume: 'if-exists',
      signal: ctl.signal,
      onProgress: (step, loss) => {
        recent.push(loss);
        if (recent.length > 50) recent.shift();
        progress.update(`train ${name}`, step / (config.steps ?? 1));
      },
    });
    progress.stop();
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    const from = res.resumedFrom > 0 ? ` (resumed at step ${res.resumedFrom})` : '';
    if (!res.completed) {
      console.log(
        `${name}: interrupted at step ${res.step}, checkpoint ${checkpointPath}; re-run to continue`,
      );
      process.exitCode = 130; // 128 + SIGINT, as a shell reports an interrupted command
      return undefined;
    }
    if (res.losses.length === 0) {
      console.log(`${name}: already trained (${res.step} steps), ${checkpointPath}`);
    } else {
      const mean = recent.reduce((s, v) => s + v, 0) / recent.length;
      const ev = res.evalLosses.at(-1);
      console.log(
        `${name}: ${res.step} steps${from} in ${secs} s; train loss (last ${recent.length}) ${fmt(mean)}` +
          `${ev === undefined ? '' : `, alignment-period batch loss ${fmt(ev[1])}`}; ${checkpointPath}`,
      );
    }
    return res.ema ?? res.params;
  } catch (err) {
    if (err instanceof TrainError)
      throw new AppError(APP_CODE[err.code], `${name}: ${err.message}`, { cause: err });
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
    progress.stop();
  }
}

/**
 * Registers `alignda train`: trains the VAE and/or the forecast emulator of a preset on a QG nature run's train
 * period, with a progress bar and resumable checkpoints under `--out`, then prints held-out skill on the test period.
 */
export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train the VAE and the forecast emulator on a nature run (resumes from the last checkpoint)')
    .addOption(new Option('--world <world>', 'synthetic world').choices(['qg']).default('qg'))
    .addOption(
      new Option('--preset <preset>', 'model and run size').choices(Object.keys(TRAIN_PRESETS)).default('ci'),
    )
    .option('--seed <n>', 'nature-run seed', intArg('--seed', 0), 1)
    .option(
      '--years <y>',
      'simulated years of the nature run (default: 0.5 for ci, 1 for small)',
      positiveArg,
    )
    .addOption(
      new Option('--model <model>', 'which model').choices(['vae', 'emulator', 'all']).default('all'),
    )
    .option('--steps <n>', "optimiser steps per model (default: the preset's)", intArg('--steps', 1))
    .option('--out <dir>', 'checkpoint folder (default: <ALIGNDA_HOME>/models/qg-<preset>)')
    .action(async (opts: TrainOptions) => {
      const config = loadConfig();
      const preset = TRAIN_PRESETS[opts.preset];
      const years = opts.years ?? preset.years;
      const out = path.resolve(opts.out ?? path.join(config.homeDir, 'models', `qg-${opts.preset}`));
      mkdirSync(out, { recursive: true });
      const progress = createProgress();
      const run = loadOrGenerateNatureRun({
        seed: opts.seed,
        years,
        dir: path.join(config.homeDir, 'worlds'),
        onProgress: (done, total) => progress.update('nature run', done / total),
      });
      progress.stop();
      const norm = fitTrainNorm(run);
      const train = loadPeriod(run, 'train', norm);
      const alignment = loadPeriod(run, 'alignment', norm);
      const test = loadPeriod(run, 'test', norm);
      const count = (t: Tensor<Float32Array>): number => t.shape[0] as number;
      console.log(
        `world qg seed ${opts.seed}, ${years} y: ${run.count} states (train ${count(train)}, alignment ${count(alignment)}, test ${count(test)}); out ${out}`,
      );
      const want = (m: ModelName): boolean => opts.model === 'all' || opts.model === m;
      const lines: string[] = [];

      if (want('vae')) {
        const cfg = VAE_PRESETS[opts.preset];
        const steps = opts.steps ?? preset.vae.steps;
        const batches = vaeBatches(cfg, train);
        const params = await trainOne(
          'vae',
          buildVaeTraining(cfg),
          vaeInitialParams(cfg),
          cfg,
          { steps, peakLr: preset.vae.peakLr, seed: opts.seed },
          norm,
          batches,
          vaeBatches(cfg, alignment)(0, createRng(-1)),
          path.join(out, 'vae.safetensors'),
        );
        if (params === undefined) return;
        const s = await evaluateVae(cfg, params, test);
        lines.push(
          `VAE reconstruction MSE on ${s.count} test states (normalised): ${fmt(s.mse)} vs variance ${fmt(s.variance)} (${((100 * s.mse) / s.variance).toFixed(2)} %)`,
        );
      }
      if (want('emulator')) {
        const cfg = EMULATOR_PRESETS[opts.preset];
        const steps = opts.steps ?? preset.emulator.steps;
        const params = await trainOne(
          'emulator',
          buildEmulatorTraining(cfg),
          emulatorInitialParams(cfg),
          cfg,
          { steps, peakLr: preset.emulator.peakLr, seed: opts.seed },
          norm,
          emulatorBatches(cfg, train),
          emulatorBatches(cfg, alignment)(0, createRng(-1)),
          path.join(out, 'emulator.safetensors'),
        );
        if (params === undefined) return;
        const s = await evaluateEmulator(cfg, params, test, { leadSteps: 8, stride: 4 });
        lines.push(
          `emulator 48 h (8-step rollout) MSE on ${s.cases} test cases (normalised): ${fmt(s.mse)} vs persistence ${fmt(s.persistence)} (ratio ${(s.mse / s.persistence).toFixed(3)})`,
        );
      }
      for (const l of lines) console.log(l);
    });
}

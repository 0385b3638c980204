import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';

import { loadConfig } from '@alignda/config';
import { AppError } from '@alignda/errors';
import type { AppErrorCode } from '@alignda/errors';
import type { ParamMap } from '@alignda/graph';
import {
  EMULATOR_PRESETS,
  MODEL_FILES,
  SCORE_PRESETS,
  VAE_PRESETS,
  buildEmulatorTraining,
  buildScoreTraining,
  buildVaeTraining,
  emulatorBatches,
  emulatorForecasts,
  emulatorInitialParams,
  encodeStates,
  evaluateEmulator,
  evaluateVae,
  fitLatentNorm,
  fitTrainNorm,
  loadPeriod,
  loadTrainedModel,
  periodHours,
  scoreBatches,
  scoreInitialParams,
  TrainError,
  trainModel,
  vaeBatches,
  vaeInitialParams,
  vaeLatentShape,
} from '@alignda/nn';
import type {
  EmulatorConfig,
  Feeds,
  ScoreConfig,
  TrainConfig,
  TrainErrorCode,
  TrainingGraph,
  VaeConfig,
} from '@alignda/nn';
import { createRng, normalise } from '@alignda/tensor';
import type { NormStats, Rng, Tensor } from '@alignda/tensor';
import type { Command } from 'commander';
import { intArg, positiveArg } from '../args.js';
import { Option } from 'commander';

import { openSource } from '../experiments/sources.js';
import type { DaSource } from '../experiments/sources.js';
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
    score: { steps: 2000, peakLr: 3e-3 },
  },
  small: {
    /** One simulated year: ~1020 train states (the QG world has no seasons, so a year is plenty). */
    years: 1,
    /** ~0.4 s per VAE step and ~0.25 s per emulator step at batch 16: under an hour on one core. */
    vae: { steps: 5000, peakLr: 1e-3 },
    emulator: { steps: 3000, peakLr: 1e-3 },
    score: { steps: 4000, peakLr: 1e-3 },
  },
  full: {
    /** Four simulated years (~4100 train states): the larger nets overfit one year. Sized for a GPU worker. */
    years: 4,
    vae: { steps: 20000, peakLr: 5e-4 },
    emulator: { steps: 12000, peakLr: 5e-4 },
    score: { steps: 20000, peakLr: 5e-4 },
  },
} as const;

/** Background lead time in 6-hourly steps (48 h, METHOD.md section 1). */
export const BACKGROUND_LEAD_STEPS = 8;

/** EMA decay of the score network's weights (the sampler uses the average, as ADM and EDM do). */
const SCORE_EMA_DECAY = 0.999;

export type Preset = keyof typeof TRAIN_PRESETS;
export const PRESETS = Object.keys(TRAIN_PRESETS) as Preset[];
type ModelName = 'vae' | 'emulator' | 'score';

/** Options of `alignda train`. */
export interface TrainOptions {
  world?: string;
  dataset?: string;
  preset: Preset;
  seed: number;
  years?: number;
  model: ModelName | 'all';
  steps?: number;
  out?: string;
  /** Processes for `--model all`: 2 trains the emulator in a child process beside the VAE. @defaultValue 1 */
  jobs?: number;
}

/**
 * Trains the emulator in a child `alignda train --model emulator` process (same options and folder) so it runs on
 * another core beside the VAE; its report lines are relayed with a prefix. Resolves when it exits successfully.
 */
function trainEmulatorInChild(opts: TrainOptions, out: string): Promise<void> {
  const script = process.argv[1];
  if (script === undefined) return Promise.reject(new Error('train: cannot locate the alignda entry point'));
  const args = [
    ...process.execArgv,
    script,
    'train',
    '--model',
    'emulator',
    '--preset',
    opts.preset,
    '--seed',
    String(opts.seed),
    '--out',
    out,
    ...(opts.dataset !== undefined ? ['--dataset', opts.dataset] : ['--world', opts.world ?? 'qg']),
    ...(opts.years !== undefined ? ['--years', String(opts.years)] : []),
    ...(opts.steps !== undefined ? ['--steps', String(opts.steps)] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    let pending = '';
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) if (l.trim() !== '') console.log(`[emulator process] ${l}`);
    });
    child.stderr.on('data', (chunk: string) => {
      err = (err + chunk).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (pending.trim() !== '') console.log(`[emulator process] ${pending}`);
      if (code === 0) resolve();
      else {
        const last =
          err
            .trim()
            .split('\n')
            .filter((l) => l.startsWith('alignda:'))
            .at(-1) ?? err.trim().split('\n').at(-1);
        reject(new AppError('INTERNAL', `the emulator training process exited with ${code}: ${last ?? ''}`));
      }
    });
  });
}

/** The model folder of a source and preset: `<home>/models/<source>-<preset>`. */
export function modelDir(homeDir: string, source: string, preset: string): string {
  return path.join(homeDir, 'models', `${source}-${preset}`);
}

/**
 * A preset's model configurations fitted to a source's state shape (a one-variable field gets 4 latent channels).
 * `solarLonDeg` (the grid's longitudes, given for real datasets) turns on the emulator's solar forcing; the
 * synthetic world has no diurnal cycle and passes none, so its configs stay the presets' own.
 */
export function presetConfigs(
  preset: Preset,
  shape: readonly [number, number, number],
  solarLonDeg?: readonly number[],
): { vae: VaeConfig; emulator: EmulatorConfig; score: ScoreConfig } {
  const [channels, height, width] = shape;
  const base = VAE_PRESETS[preset];
  const vae: VaeConfig =
    channels === base.channels && height === base.height && width === base.width
      ? base
      : { ...base, channels, height, width, latentChannels: channels < 4 ? 4 : base.latentChannels };
  const emuBase = EMULATOR_PRESETS[preset];
  const sameShape = channels === emuBase.channels && height === emuBase.height && width === emuBase.width;
  const emulator: EmulatorConfig =
    solarLonDeg !== undefined
      ? { ...emuBase, channels, height, width, solarLonDeg: Array.from(solarLonDeg) }
      : sameShape
        ? emuBase
        : { ...emuBase, channels, height, width };
  const latentShape = vaeLatentShape(vae);
  const scoreBase = SCORE_PRESETS[preset];
  const score: ScoreConfig =
    latentShape.join() === scoreBase.latentShape.join() ? scoreBase : { ...scoreBase, latentShape };
  return { vae, emulator, score };
}

/**
 * The score network's training pairs from a period: truth latents E(x_t) and background latents E(x_b,t), x_b,t
 * the emulator's 48 h forecast from x_(t-48h), for every t of the period with its start 48 h inside it. `hours`:
 * UTC hour of each state (an emulator with solar forcing needs them).
 */
async function latentPairs(
  vae: { config: VaeConfig; params: ParamMap },
  emulator: { config: EmulatorConfig; params: ParamMap },
  states: Tensor<Float32Array>,
  hours: ArrayLike<number> | undefined,
  progress: (stage: string, f: number) => void,
  label: string,
): Promise<{ z: Tensor<Float32Array>; zb: Tensor<Float32Array> }> {
  const T = states.shape[0] as number;
  const size = states.data.length / T;
  const bg = await emulatorForecasts(emulator.config, emulator.params, states, BACKGROUND_LEAD_STEPS, {
    onProgress: (f) => progress(`backgrounds (${label})`, f),
    ...(hours === undefined ? {} : { hours }),
  });
  const truth = { data: states.data.subarray(BACKGROUND_LEAD_STEPS * size), shape: bg.shape };
  const z = await encodeStates(vae.config, vae.params, truth, {
    onProgress: (f) => progress(`encode truth (${label})`, f),
  });
  const zb = await encodeStates(vae.config, vae.params, bg, {
    onProgress: (f) => progress(`encode backgrounds (${label})`, f),
  });
  return { z, zb };
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
  evalName: string,
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
          `${ev === undefined ? '' : `, ${evalName}-period batch loss ${fmt(ev[1])}`}; ${checkpointPath}`,
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

/** Adds `--world` / `--dataset` to a command (exactly one source; the world defaults to qg). */
export function addSourceOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--world <world>', 'synthetic world (default: qg, unless --dataset)').choices(['qg']),
    )
    .option('--dataset <name>', 'a registered real dataset instead of the synthetic world, e.g. ncep-air')
    .option('--seed <n>', 'nature-run seed (synthetic world)', intArg('--seed', 0), 1)
    .option(
      '--years <y>',
      'simulated years of the nature run (default: 0.5 for ci, 1 for small, 4 for full)',
      positiveArg,
    );
}

/** Resolves the source options into a source choice (`--world qg` by default). */
export function sourceChoice(
  opts: { world?: string; dataset?: string; seed: number; years?: number },
  preset: Preset,
  onProgress: (stage: string, fraction: number) => void,
): { world?: string; dataset?: string; seed: number; years: number; onProgress: typeof onProgress } {
  if (opts.world !== undefined && opts.dataset !== undefined)
    throw new AppError('INVALID_ARGUMENT', 'give either --world or --dataset, not both');
  const years = opts.years ?? TRAIN_PRESETS[preset].years;
  return opts.dataset !== undefined
    ? { dataset: opts.dataset, seed: opts.seed, years, onProgress }
    : { world: opts.world ?? 'qg', seed: opts.seed, years, onProgress };
}

/**
 * Registers `alignda train`: trains the VAE, the forecast emulator and the background-conditioned score network
 * of a preset on a source's train period, with progress bars and resumable checkpoints under `--out`, and prints
 * held-out skill. The score network learns from (E(truth), E(48 h emulator background)) pairs, so it needs the
 * other two (trained in the same run or found in the folder).
 */
export function registerTrainCommand(program: Command): void {
  const cmd = program
    .command('train')
    .description(
      'train the VAE, the forecast emulator and the score network (resumes from the last checkpoint)',
    );
  addSourceOptions(cmd)
    .addOption(new Option('--preset <preset>', 'model and run size').choices(PRESETS).default('ci'))
    .addOption(
      new Option('--model <model>', 'which model')
        .choices(['vae', 'emulator', 'score', 'all'])
        .default('all'),
    )
    .option('--steps <n>', "optimiser steps per model (default: the preset's)", intArg('--steps', 1))
    .option('--out <dir>', 'checkpoint folder (default: <ALIGNDA_HOME>/models/<source>-<preset>)')
    .option(
      '--jobs <n>',
      'processes for --model all: 2 trains the emulator beside the VAE (default: 2 on a multi-core machine)',
      intArg('--jobs', 1),
      Math.min(2, availableParallelism()),
    )
    .action(async (opts: TrainOptions) => {
      await runTrain(opts);
    });
}

/** The body of `alignda train` (also run by the demo). */
export async function runTrain(opts: TrainOptions): Promise<void> {
  const config = loadConfig();
  const preset = TRAIN_PRESETS[opts.preset];
  const progress = createProgress();
  const src: DaSource = await openSource(
    config,
    sourceChoice(opts, opts.preset, (stage, f) => progress.update(stage, f)),
  );
  progress.stop();
  const out = path.resolve(opts.out ?? modelDir(config.homeDir, src.name, opts.preset));
  mkdirSync(out, { recursive: true });
  const norm = fitTrainNorm(src);
  const train = loadPeriod(src, 'train', norm);
  const held = loadPeriod(src, src.periods.alignment !== undefined ? 'alignment' : 'test', norm);
  const heldName = src.periods.alignment !== undefined ? 'alignment' : 'test';
  const test = loadPeriod(src, 'test', norm);
  // UTC hour of each state of the stacks (entry k: state periodStart + k); undefined for the QG world.
  const hours = {
    train: periodHours(src, 'train'),
    held: periodHours(src, heldName),
    test: periodHours(src, 'test'),
  };
  const count = (t: Tensor<Float32Array>): number => t.shape[0] as number;
  console.log(
    `${src.title}: ${src.count} states (train ${count(train)}, ${heldName === 'alignment' ? `alignment ${count(held)}, ` : ''}test ${count(test)}); out ${out}`,
  );
  // Every period must hold at least one (state 48 h earlier, state) pair, or the score step fails after the others.
  for (const [name, t] of [
    ['train', train],
    [heldName, held],
    ['test', test],
  ] as const) {
    if (count(t) <= BACKGROUND_LEAD_STEPS)
      throw new AppError(
        'INVALID_ARGUMENT',
        `the ${name} period holds ${count(t)} states; 48 h backgrounds need at least ${BACKGROUND_LEAD_STEPS + 1}: use more --years`,
      );
  }
  const cfgs = presetConfigs(
    opts.preset,
    src.shape,
    src.kind === 'dataset' ? Array.from(src.grid.lonDeg) : undefined,
  );
  const want = (m: ModelName): boolean => opts.model === 'all' || opts.model === m;
  const lines: string[] = [];
  const stepsOf = (m: ModelName): number => opts.steps ?? preset[m].steps;
  const file = (m: ModelName): string => path.join(out, MODEL_FILES[m]);

  let vaeParams: ParamMap | undefined;
  let emuParams: ParamMap | undefined;
  // With two processes the emulator trains in a child beside the VAE; the score step then reads its checkpoint.
  const emulatorChild =
    opts.model === 'all' && (opts.jobs ?? 1) >= 2 ? trainEmulatorInChild(opts, out) : undefined;
  emulatorChild?.catch(() => undefined); // awaited below; a failure must not go unhandled while the VAE trains
  if (want('vae')) {
    const cfg = cfgs.vae;
    vaeParams = await trainOne(
      'vae',
      buildVaeTraining(cfg),
      vaeInitialParams(cfg),
      cfg,
      { steps: stepsOf('vae'), peakLr: preset.vae.peakLr, seed: opts.seed },
      norm,
      vaeBatches(cfg, train),
      vaeBatches(cfg, held)(0, createRng(-1)),
      heldName,
      file('vae'),
    );
    if (vaeParams === undefined) return;
    const s = await evaluateVae(
      cfg,
      vaeParams,
      test,
      src.validMask === undefined ? {} : { mask: src.validMask },
    );
    lines.push(
      `VAE reconstruction MSE on ${s.count} test states (normalised${src.validMask === undefined ? '' : ', valid cells'}): ${fmt(s.mse)} vs variance ${fmt(s.variance)} (${((100 * s.mse) / s.variance).toFixed(2)} %)`,
    );
  }
  if (emulatorChild !== undefined) await emulatorChild;
  else if (want('emulator')) {
    const cfg = cfgs.emulator;
    emuParams = await trainOne(
      'emulator',
      buildEmulatorTraining(cfg),
      emulatorInitialParams(cfg),
      cfg,
      { steps: stepsOf('emulator'), peakLr: preset.emulator.peakLr, seed: opts.seed },
      norm,
      emulatorBatches(cfg, train, hours.train),
      emulatorBatches(cfg, held, hours.held)(0, createRng(-1)),
      heldName,
      file('emulator'),
    );
    if (emuParams === undefined) return;
    const s = await evaluateEmulator(cfg, emuParams, test, {
      leadSteps: BACKGROUND_LEAD_STEPS,
      // Every start hour on real data (the diurnal cycle), every 4th (daily) start on the synthetic world.
      stride: src.kind === 'dataset' ? 1 : 4,
      ...(hours.test === undefined ? {} : { hours: hours.test }),
      ...(src.validMask === undefined ? {} : { mask: src.validMask }),
    });
    lines.push(
      `emulator 48 h (8-step rollout) MSE on ${s.cases} test cases (normalised${src.validMask === undefined ? '' : ', valid cells'}): ${fmt(s.mse)} vs persistence ${fmt(s.persistence)} (ratio ${(s.mse / s.persistence).toFixed(3)})`,
    );
  }
  if (want('score')) {
    const load = async <C>(m: 'vae' | 'emulator', cfg: C, have: ParamMap | undefined) => {
      if (have !== undefined) return { config: cfg, params: have };
      const t = await loadTrainedModel<C>(file(m)).catch((err: unknown) => {
        if (err instanceof TrainError) {
          throw new AppError(
            APP_CODE[err.code],
            `score: needs a trained ${m} (${err.message}); run \`alignda train --model ${m}\` with the same options first`,
            { cause: err },
          );
        }
        throw err;
      });
      if (JSON.stringify(t.config) !== JSON.stringify(cfg) || JSON.stringify(t.norm) !== JSON.stringify(norm))
        throw new AppError(
          'FAILED_PRECONDITION',
          `score: ${file(m)} was trained with another configuration or data; retrain it with --model ${m}`,
        );
      return { config: t.config, params: t.params };
    };
    const vae = await load('vae', cfgs.vae, vaeParams);
    const emulator = await load('emulator', cfgs.emulator, emuParams);
    const stage = (name: string, f: number): void => progress.update(name, f);
    const pairs = await latentPairs(vae, emulator, train, hours.train, stage, 'train');
    const heldPairs = await latentPairs(vae, emulator, held, hours.held, stage, heldName);
    progress.stop();
    const latentNorm = fitLatentNorm(pairs.z);
    const cfg = cfgs.score;
    const batches = scoreBatches(cfg, normalise(pairs.z, latentNorm), normalise(pairs.zb, latentNorm));
    const heldBatches = scoreBatches(
      cfg,
      normalise(heldPairs.z, latentNorm),
      normalise(heldPairs.zb, latentNorm),
    );
    const params = await trainOne(
      'score',
      buildScoreTraining(cfg),
      scoreInitialParams(cfg),
      cfg,
      {
        steps: stepsOf('score'),
        peakLr: preset.score.peakLr,
        seed: opts.seed,
        emaDecay: SCORE_EMA_DECAY,
      },
      latentNorm,
      batches,
      heldBatches(0, createRng(-1)),
      heldName,
      file('score'),
    );
    if (params === undefined) return;
    lines.push(
      `score network: ${count(pairs.z)} (truth, 48 h background) latent pairs; latent std ${latentNorm.std.map((v) => v.toFixed(2)).join(' ')}`,
    );
  }
  for (const l of lines) console.log(l);
}

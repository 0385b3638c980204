/**
 * The train use case (METHOD.md section 2): the VAE, the forecast emulator and the background-conditioned score
 * network of a preset, on a source's train period, with resumable checkpoints in a model store. The score network
 * learns from (E(truth), E(48 h emulator background)) pairs, so it needs the other two (trained in the same run or
 * found in the store). Held-out losses and skill are on the alignment (validation) period; training never reads the
 * test period (METHOD.md section 7: training logs no test-period loss).
 */
import { AppError, toAppError } from '@alignda/errors';
import type { ParamMap } from '@alignda/graph';
import {
  TrainError,
  buildEmulatorTraining,
  buildScoreTraining,
  buildVaeTraining,
  emulatorBatches,
  emulatorInitialParams,
  evaluateEmulator,
  evaluateVae,
  fitLatentNorm,
  fitTrainNorm,
  loadPeriod,
  periodHours,
  scoreBatches,
  scoreInitialParams,
  trainModel,
  vaeBatches,
  vaeInitialParams,
} from '@alignda/nn';
import type { EmulatorConfig, Feeds, TrainConfig, TrainingGraph, VaeConfig } from '@alignda/nn';
import { createRng, normalise } from '@alignda/tensor';
import type { NormStats, Rng, Tensor } from '@alignda/tensor';
import { sourceStepHours } from '@alignda/world';
import type { DaSource } from '@alignda/world';

import type { ModelStore, TrainElsewhere } from '../ports.js';
import { emulatorBackgrounds, latentPairs, modelBackgrounds } from './latent-pairs.js';
import { BACKGROUND_LEAD_STEPS, SCORE_EMA_DECAY, TRAIN_PRESETS, presetConfigs } from './presets.js';
import type { ModelName, Preset } from './presets.js';

/** Options of {@link trainLatentModels}. */
export interface TrainOptions {
  readonly preset: Preset;
  /** Which model, or all three in order. @defaultValue 'all' */
  readonly model?: ModelName | 'all';
  /** Optimiser steps per model. @defaultValue the preset's */
  readonly steps?: number;
  /** Seed of initial parameters and batches. */
  readonly seed: number;
  /**
   * The backgrounds the score network learns from: 48 h forecasts of the physical model (only a synthetic world
   * has one) or of the trained emulator. @defaultValue 'model' on a synthetic world, 'emulator' on a dataset
   */
  readonly background?: 'model' | 'emulator';
  /** Stops training at the next step; the checkpoint is kept and the next run resumes from it. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (stage: string, fraction: number) => void;
  /** Called when a model finishes (or is found finished, or is interrupted). */
  readonly onModel?: (report: ModelReport) => void;
}

/** How one model's training went. */
export interface ModelReport {
  readonly model: ModelName;
  /** Finished (now or earlier); false when interrupted. */
  readonly completed: boolean;
  readonly step: number;
  /** The step training resumed at (0: from scratch). */
  readonly resumedFrom: number;
  /** Steps taken in this run (0: already trained). */
  readonly stepsRun: number;
  readonly seconds: number;
  /** Mean training loss of the last (up to) 50 steps of this run; NaN when none ran. */
  readonly trainLoss: number;
  readonly recentSteps: number;
  /** Loss on the held-out period's fixed batch at the last evaluation, when one ran. */
  readonly heldOutLoss?: number;
  /** The period of that batch: always the alignment (validation) period, never the test period. */
  readonly heldOutPeriod: 'alignment';
  readonly checkpoint: string;
}

/** Held-out skill of the trained models, on the alignment (validation) period: never on the test period. */
export interface TrainSkill {
  /** VAE reconstruction MSE (normalised) on the alignment-period states, and their variance. */
  readonly vae?: { readonly count: number; readonly mse: number; readonly variance: number };
  /** The emulator's 48 h MSE (normalised) on alignment-period cases, and persistence's. */
  readonly emulator?: { readonly cases: number; readonly mse: number; readonly persistence: number };
  /** The score network's training pairs and the latent standardisation's std per channel. */
  readonly score?: { readonly pairs: number; readonly latentStd: readonly number[] };
}

/** Result of {@link trainLatentModels}. */
export interface TrainOutcome {
  /** States per period (the test period's only counted: training never reads it). */
  readonly periods: { readonly train: number; readonly heldOut: number; readonly test: number };
  /** The period of held-out losses and skill: always the alignment (validation) period. */
  readonly heldOutPeriod: 'alignment';
  /** False when a model was interrupted (the rest did not run). */
  readonly completed: boolean;
  readonly skill: TrainSkill;
  /** Skill is over valid cells only (the source has a mask). */
  readonly masked: boolean;
  /** The backgrounds the score network learned from. */
  readonly background: 'model' | 'emulator';
}

/**
 * Trains the models of `opts.model` into `store`, resuming each from its checkpoint.
 * @param elsewhere - with `model: 'all'`, trains the emulator there beside the VAE (the score step then reads it)
 * @throws AppError `INVALID_ARGUMENT` when the source has no alignment (validation) period or a period is too short
 *   for 48 h backgrounds (before anything trains);
 *   the store's errors, with the model's name, when a model the score network needs is missing or does not fit
 */
export async function trainLatentModels(
  src: DaSource,
  store: ModelStore,
  opts: TrainOptions,
  elsewhere?: TrainElsewhere,
): Promise<TrainOutcome> {
  const preset = TRAIN_PRESETS[opts.preset];
  const model = opts.model ?? 'all';
  const backgroundKind = opts.background ?? (src.kind === 'world' ? 'model' : 'emulator');
  if (backgroundKind === 'model' && src.kind !== 'world')
    throw new AppError(
      'INVALID_ARGUMENT',
      `${src.name} has no dynamical model for backgrounds: train on emulator backgrounds (background 'emulator')`,
    );
  const progress = opts.onProgress ?? (() => undefined);
  // Held-out losses and skill need a validation period: the test period is for the evaluation alone.
  if (src.periods.alignment === undefined)
    throw new AppError(
      'INVALID_ARGUMENT',
      `${src.name} has no alignment (validation) period: held-out losses would fall on the test period; declare one in its descriptor's periods`,
    );
  const norm = fitTrainNorm(src);
  const heldName = 'alignment';
  const train = loadPeriod(src, 'train', norm);
  const held = loadPeriod(src, heldName, norm);
  // UTC hour of each state of the stacks (entry k: state periodStart + k); undefined for the QG world.
  const hours = {
    train: periodHours(src, 'train'),
    held: periodHours(src, heldName),
  };
  const count = (t: Tensor<Float32Array>): number => t.shape[0] as number;
  const [testLo, testHi] = src.periods.test;
  const periods = { train: count(train), heldOut: count(held), test: testHi - testLo };
  // Every period must hold at least one (state 48 h earlier, state) pair, or the score step (or, for the test
  // period, the evaluation) fails after the others.
  for (const [name, n] of [
    ['train', periods.train],
    [heldName, periods.heldOut],
    ['test', periods.test],
  ] as const) {
    if (n <= BACKGROUND_LEAD_STEPS)
      throw new AppError(
        'INVALID_ARGUMENT',
        `the ${name} period holds ${n} states; ${BACKGROUND_LEAD_STEPS * sourceStepHours(src)} h (${BACKGROUND_LEAD_STEPS}-step) backgrounds need at least ${BACKGROUND_LEAD_STEPS + 1}: use more --years`,
      );
  }
  const cfgs = presetConfigs(
    opts.preset,
    src.shape,
    src.kind === 'dataset' ? Array.from(src.grid.lonDeg) : undefined,
  );
  const want = (m: ModelName): boolean => model === 'all' || model === m;
  const stepsOf = (m: ModelName): number => opts.steps ?? preset[m].steps;
  const maskOpt = src.validMask === undefined ? {} : { mask: src.validMask };
  const skill: { -readonly [K in keyof TrainSkill]: TrainSkill[K] } = {};
  const outcome = (completed: boolean): TrainOutcome => ({
    periods,
    heldOutPeriod: heldName,
    completed,
    skill,
    masked: src.validMask !== undefined,
    background: backgroundKind,
  });
  const one = (
    name: ModelName,
    graph: TrainingGraph,
    init: ParamMap,
    modelConfig: unknown,
    config: Partial<TrainConfig>,
    stats: NormStats,
    nextBatch: (step: number, rng: Rng) => Feeds,
    evalBatch: Feeds,
  ): Promise<ParamMap | undefined> =>
    trainOne({
      name,
      graph,
      init,
      modelConfig,
      config,
      norm: stats,
      nextBatch,
      evalBatch,
      heldName,
      store,
      opts,
    });

  let vaeParams: ParamMap | undefined;
  let emuParams: ParamMap | undefined;
  const beside = model === 'all' && elsewhere !== undefined ? elsewhere('emulator') : undefined;
  beside?.catch(() => undefined); // awaited below; a failure must not go unhandled while the VAE trains
  if (want('vae')) {
    const cfg = cfgs.vae;
    vaeParams = await one(
      'vae',
      buildVaeTraining(cfg),
      vaeInitialParams(cfg),
      cfg,
      { steps: stepsOf('vae'), peakLr: preset.vae.peakLr, seed: opts.seed },
      norm,
      vaeBatches(cfg, train),
      vaeBatches(cfg, held)(0, createRng(-1)),
    );
    if (vaeParams === undefined) return outcome(false);
    const s = await evaluateVae(cfg, vaeParams, held, maskOpt);
    skill.vae = { count: s.count, mse: s.mse, variance: s.variance };
  }
  if (beside !== undefined) await beside;
  else if (want('emulator')) {
    const cfg = cfgs.emulator;
    emuParams = await one(
      'emulator',
      buildEmulatorTraining(cfg),
      emulatorInitialParams(cfg),
      cfg,
      { steps: stepsOf('emulator'), peakLr: preset.emulator.peakLr, seed: opts.seed },
      norm,
      emulatorBatches(cfg, train, hours.train),
      emulatorBatches(cfg, held, hours.held)(0, createRng(-1)),
    );
    if (emuParams === undefined) return outcome(false);
    const s = await evaluateEmulator(cfg, emuParams, held, {
      leadSteps: BACKGROUND_LEAD_STEPS,
      // Every start hour on real data (the diurnal cycle), every 4th (daily) start on the synthetic world.
      stride: src.kind === 'dataset' ? 1 : 4,
      ...(hours.held === undefined ? {} : { hours: hours.held }),
      ...maskOpt,
    });
    skill.emulator = { cases: s.cases, mse: s.mse, persistence: s.persistence };
  }
  if (want('score')) {
    // A score network of another background kind in the store must not be resumed or taken as trained.
    const recorded = await store.readManifest?.();
    if (recorded !== undefined && recorded.background !== backgroundKind)
      throw new AppError(
        'FAILED_PRECONDITION',
        `${store.location} holds a score network trained on ${recorded.background} backgrounds; train ${backgroundKind} backgrounds into another folder`,
      );
    const vae = await trainedOrStored(store, 'vae', cfgs.vae, vaeParams, norm);
    const emulator = await trainedOrStored(store, 'emulator', cfgs.emulator, emuParams, norm);
    const maker = (period: 'train' | 'alignment') =>
      backgroundKind === 'model'
        ? modelBackgrounds(src, norm, (src.periods[period] as readonly [number, number])[0])
        : emulatorBackgrounds(emulator);
    const pairs = await latentPairs(vae, maker('train'), train, hours.train, progress, 'train');
    const heldPairs = await latentPairs(vae, maker(heldName), held, hours.held, progress, heldName);
    const latentNorm = fitLatentNorm(pairs.z);
    const cfg = cfgs.score;
    const params = await one(
      'score',
      buildScoreTraining(cfg),
      scoreInitialParams(cfg),
      cfg,
      { steps: stepsOf('score'), peakLr: preset.score.peakLr, seed: opts.seed, emaDecay: SCORE_EMA_DECAY },
      latentNorm,
      scoreBatches(cfg, normalise(pairs.z, latentNorm), normalise(pairs.zb, latentNorm)),
      scoreBatches(
        cfg,
        normalise(heldPairs.z, latentNorm),
        normalise(heldPairs.zb, latentNorm),
      )(0, createRng(-1)),
    );
    if (params === undefined) return outcome(false);
    skill.score = { pairs: count(pairs.z), latentStd: Array.from(latentNorm.std) };
    await store.writeManifest?.({
      source: src.name,
      preset: opts.preset,
      background: backgroundKind,
      leadHours: BACKGROUND_LEAD_STEPS * sourceStepHours(src),
    });
  }
  return outcome(true);
}

/** A model trained in this run, or the finished one of the store (checked to have the expected config and data). */
async function trainedOrStored<C extends VaeConfig | EmulatorConfig>(
  store: ModelStore,
  m: 'vae' | 'emulator',
  cfg: C,
  have: ParamMap | undefined,
  norm: NormStats,
): Promise<{ config: C; params: ParamMap }> {
  if (have !== undefined) return { config: cfg, params: have };
  const t = await store.load<C>(m).catch((err: unknown) => {
    if (err instanceof TrainError) {
      const e = toAppError(err);
      throw new AppError(
        e.code,
        `score: needs a trained ${m} (${err.message}); run \`alignda train --model ${m}\` with the same options first`,
        { cause: err },
      );
    }
    throw err;
  });
  if (JSON.stringify(t.config) !== JSON.stringify(cfg) || JSON.stringify(t.norm) !== JSON.stringify(norm))
    throw new AppError(
      'FAILED_PRECONDITION',
      `score: ${store.checkpointPath(m)} was trained with another configuration or data; retrain it with --model ${m}`,
    );
  return { config: t.config, params: t.params };
}

interface TrainOneInput {
  readonly name: ModelName;
  readonly graph: TrainingGraph;
  readonly init: ParamMap;
  readonly modelConfig: unknown;
  readonly config: Partial<TrainConfig>;
  readonly norm: NormStats;
  readonly nextBatch: (step: number, rng: Rng) => Feeds;
  readonly evalBatch: Feeds;
  readonly heldName: 'alignment';
  readonly store: ModelStore;
  readonly opts: TrainOptions;
}

/** Trains one model (resuming from its checkpoint when there is one); its final parameters, undefined if stopped. */
async function trainOne(x: TrainOneInput): Promise<ParamMap | undefined> {
  const checkpoint = x.store.checkpointPath(x.name);
  const t0 = performance.now();
  const recent: number[] = [];
  try {
    const res = await trainModel({
      graph: x.graph,
      params: x.init,
      modelConfig: x.modelConfig,
      config: x.config,
      norm: x.norm,
      nextBatch: x.nextBatch,
      evalBatch: x.evalBatch,
      checkpointPath: checkpoint,
      resume: 'if-exists',
      ...(x.opts.signal === undefined ? {} : { signal: x.opts.signal }),
      onProgress: (step, loss) => {
        recent.push(loss);
        if (recent.length > 50) recent.shift();
        x.opts.onProgress?.(`train ${x.name}`, step / (x.config.steps ?? 1));
      },
    });
    const ev = res.evalLosses.at(-1);
    x.opts.onModel?.({
      model: x.name,
      completed: res.completed,
      step: res.step,
      resumedFrom: res.resumedFrom,
      stepsRun: res.losses.length,
      seconds: (performance.now() - t0) / 1000,
      trainLoss: recent.length === 0 ? Number.NaN : recent.reduce((s, v) => s + v, 0) / recent.length,
      recentSteps: recent.length,
      ...(ev === undefined ? {} : { heldOutLoss: ev[1] }),
      heldOutPeriod: x.heldName,
      checkpoint,
    });
    if (!res.completed) return undefined;
    return res.ema ?? res.params;
  } catch (err) {
    if (err instanceof TrainError) {
      const e = toAppError(err);
      throw new AppError(e.code, `${x.name}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

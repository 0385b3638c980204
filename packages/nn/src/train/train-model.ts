/**
 * The generic training loop over `@alignda/graph` sessions: parameters fed as graph inputs, AdamW (decoupled weight
 * decay on `*.w` only), global-norm clipping, warm-up + cosine learning rate, optional EMA, and checkpoints
 * (parameters + optimizer + EMA + step + configs + normalisation statistics) that resume bit-exactly.
 */
import { readFile } from 'node:fs/promises';

import {
  AdamW,
  Ema,
  SafetensorsError,
  assertSameLayout,
  clipGradNorm,
  cloneParams,
  createSession,
  decodeCheckpoint,
  saveCheckpoint,
  warmupCosineSchedule,
} from '@alignda/graph';
import { AppError } from '@alignda/errors';
import type { Checkpoint, Feed, ParamMap, ReadonlyParamMap, TensorData } from '@alignda/graph';
import { createRng } from '@alignda/tensor';
import type { NormStats, Rng } from '@alignda/tensor';

import type { TrainingGraph } from '../model.js';
import { TrainError } from './train-error.js';

/** Hyper-parameters of {@link trainModel}; stored in the checkpoint and compared on resume. */
export interface TrainConfig {
  /** Total optimiser steps of the run (the cosine decay ends here). @defaultValue 1000 — a `ci`-sized run */
  readonly steps: number;
  /** Peak learning rate. @defaultValue 2e-3 — small conv nets with GroupNorm train stably here under AdamW */
  readonly peakLr: number;
  /** Linear warm-up steps. @defaultValue 50 — lets Adam's second moments settle before full-size steps */
  readonly warmupSteps: number;
  /** Floor of the cosine decay, as a fraction of `peakLr`. @defaultValue 0.1 — nanoGPT / Chinchilla */
  readonly minLrFraction: number;
  /** AdamW decoupled weight decay on `*.w` (not biases or norm gains). @defaultValue 1e-4 — light: the nets are small and data plentiful */
  readonly weightDecay: number;
  /** Global gradient-norm clip. @defaultValue 1 — guards the first steps of a fresh VAE, rarely active later */
  readonly clipNorm: number;
  /** EMA decay of the parameters, 0 for none. @defaultValue 0 — the VAE and emulator are evaluated on raw weights; the score net wants ~0.999 */
  readonly emaDecay: number;
  /** Seed of the per-step batch RNG (step k draws from a generator seeded by (seed, k), so resuming is exact). @defaultValue 0 */
  readonly seed: number;
}

/** Defaults (see each field's reason). */
export const TRAIN_DEFAULTS: TrainConfig = Object.freeze({
  steps: 1000,
  peakLr: 2e-3,
  warmupSteps: 50,
  minLrFraction: 0.1,
  weightDecay: 1e-4,
  clipNorm: 1,
  emaDecay: 0,
  seed: 0,
});

/** The graph inputs of one step other than the parameters, e.g. `{ x, noise }`. */
export type Feeds = Record<string, Feed>;

/** What {@link trainModel} reports after every step. */
export interface StepInfo {
  /** Global norm of the gradients before clipping. */
  readonly gradNorm: number;
  /** Loss of `evalBatch` at the current parameters, on steps where it was evaluated. */
  readonly evalLoss?: number;
  /** The step's `fetch` outputs (computed with the loss, before the update). */
  readonly outputs?: Readonly<Record<string, Float32Array>>;
  /** The `fetch` outputs of the held-out batches, concatenated over them, on steps where they were evaluated. */
  readonly evalOutputs?: Readonly<Record<string, Float32Array>>;
}

/** Options of {@link trainModel}. */
export interface TrainModelOptions {
  /** Training graph (from `buildVaeTraining` etc.): data inputs, parameters, `loss`, `grad/<param>` outputs. */
  readonly graph: TrainingGraph;
  /** Initial parameters (copied, never modified); ignored when a checkpoint is resumed. */
  readonly params: ReadonlyParamMap;
  /** Model configuration, any JSON value: stored in the checkpoint, must match on resume. */
  readonly modelConfig: unknown;
  /** Training hyper-parameters. @defaultValue {@link TRAIN_DEFAULTS} */
  readonly config?: Partial<TrainConfig>;
  /** Normalisation statistics of the data, stored with the checkpoint (must match on resume). */
  readonly norm?: NormStats;
  /**
   * Run-level settings beyond the model and training configs (e.g. a DPO run's beta and preference set): stored in
   * the checkpoint and compared on resume. @defaultValue none
   */
  readonly run?: unknown;
  /** The data inputs of step `step` (0-based); draw randomness only from `rng` (and from nothing else). */
  nextBatch(step: number, rng: Rng): Feeds | Promise<Feeds>;
  /**
   * Fixed held-out batches, evaluated every `evalEverySteps` steps and at the end; their losses are averaged (one
   * batch or several of the graph's fixed batch size).
   */
  readonly evalBatch?: Feeds | readonly Feeds[];
  /** Extra graph outputs fetched each step and on the held-out batches, reported through `onProgress`. */
  readonly fetch?: readonly string[];
  /** @defaultValue 100 */
  readonly evalEverySteps?: number;
  /** Checkpoint file (`*.safetensors`); none: nothing is saved. */
  readonly checkpointPath?: string;
  /** Steps between checkpoints (one is always written at the end or on abort). @defaultValue 200 */
  readonly checkpointEverySteps?: number;
  /**
   * `true`: continue from `checkpointPath`, which must exist; `'if-exists'`: continue when it exists, else start
   * fresh; `false`: start fresh (overwriting it). @defaultValue false
   */
  readonly resume?: boolean | 'if-exists';
  /** Aborting stops after the current step, writes a checkpoint and returns with `completed: false`. */
  readonly signal?: AbortSignal;
  /** Called after each step with the number of steps done, the step's loss (before its update) and its rate. */
  onProgress?(step: number, loss: number, lr: number, info: StepInfo): void;
}

/** What {@link trainModel} returns. */
export interface TrainResult {
  /** Final parameters. */
  readonly params: ParamMap;
  /** EMA of the parameters when `emaDecay > 0`. */
  readonly ema?: ParamMap;
  /** Steps done in total (including those before a resume). */
  readonly step: number;
  /** The step the run resumed from (0 for a fresh run). */
  readonly resumedFrom: number;
  /** Whether `step` reached `config.steps` (false after an abort). */
  readonly completed: boolean;
  /** Loss of every step run by this call. */
  readonly losses: readonly number[];
  /** `[step, loss]` of every `evalBatch` evaluation of this call. */
  readonly evalLosses: readonly (readonly [number, number])[];
}

/** What a training checkpoint stores in its `config` metadata entry. */
export interface TrainCheckpointMeta {
  readonly format: typeof TRAIN_CHECKPOINT_FORMAT;
  readonly model: unknown;
  readonly train: TrainConfig;
  readonly norm: NormStats | null;
  readonly step: number;
  /** {@link TrainModelOptions.run}, when given. */
  readonly run?: unknown;
}

/** The `format` of {@link TrainCheckpointMeta}; bump on an incompatible change. */
export const TRAIN_CHECKPOINT_FORMAT = 'alignda-train/1';

/** Weight decay applies to convolution and linear weights only (biases and GroupNorm gains are not shrunk). */
export const decaysWeight = (name: string): boolean => name.endsWith('.w');

/** Seed of step `step`'s batch RNG: a multiplicative mix of (seed, step), expanded by the RNG's SplitMix64. */
export function stepSeed(seed: number, step: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(step + 1, 0xc2b2ae35)) | 0;
}

/** Resolves a partial config against {@link TRAIN_DEFAULTS} and checks it. */
export function resolveTrainConfig(config: Partial<TrainConfig> = {}): TrainConfig {
  const c: TrainConfig = { ...TRAIN_DEFAULTS, ...config };
  if (!Number.isInteger(c.steps) || c.steps < 1)
    throw new AppError('INVALID_ARGUMENT', `train: steps must be an integer >= 1, got ${c.steps}`);
  if (!(c.emaDecay >= 0 && c.emaDecay < 1))
    throw new AppError('INVALID_ARGUMENT', `train: emaDecay must be in [0, 1), got ${c.emaDecay}`);
  if (!(c.clipNorm > 0))
    throw new AppError('INVALID_ARGUMENT', `train: clipNorm must be > 0, got ${c.clipNorm}`);
  return Object.freeze(c);
}

/**
 * Reads a training checkpoint and checks its metadata.
 * @throws TrainError `CHECKPOINT_MISSING` (no file), `CHECKPOINT_CORRUPT` (unreadable or not a training checkpoint)
 */
export async function readTrainCheckpoint(
  path: string,
): Promise<{ ckpt: Checkpoint; meta: TrainCheckpointMeta }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new TrainError('CHECKPOINT_MISSING', `no checkpoint at ${path} to resume from`);
    throw err;
  }
  let ckpt: Checkpoint;
  try {
    ckpt = decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    if (!(err instanceof SafetensorsError)) throw err;
    throw new TrainError(
      'CHECKPOINT_CORRUPT',
      `checkpoint ${path} is unreadable (${err.message.replace(/^safetensors: /, '')}); delete it to start over`,
    );
  }
  const meta = ckpt.config as Partial<TrainCheckpointMeta> | null;
  if (meta?.format !== TRAIN_CHECKPOINT_FORMAT || typeof meta.step !== 'number' || meta.train === undefined) {
    throw new TrainError(
      'CHECKPOINT_CORRUPT',
      `${path} is not a training checkpoint (${TRAIN_CHECKPOINT_FORMAT})`,
    );
  }
  return { ckpt, meta: meta as TrainCheckpointMeta };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** JSON of a value for a message, cut to 240 characters (a normalisation's climatology has thousands of numbers). */
function brief(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length <= 240 ? s : `${s.slice(0, 240)}... (${s.length} characters)`;
}

/**
 * Trains `graph` from `params` (or from a checkpoint) for `config.steps` AdamW steps and returns the parameters.
 * Deterministic: the same options give bit-identical parameters, and stopping (abort) then resuming gives exactly
 * the parameters of an uninterrupted run (the batch RNG of step k depends only on (seed, k); optimizer and EMA
 * state are checkpointed).
 * @throws TrainError for a missing/corrupt/mismatched checkpoint on resume or a non-finite loss
 */
export async function trainModel(options: TrainModelOptions): Promise<TrainResult> {
  const { graph, checkpointPath, signal } = options;
  const cfg = resolveTrainConfig(options.config);
  const evalEvery = options.evalEverySteps ?? 100;
  const ckptEvery = options.checkpointEverySteps ?? 200;
  const norm = options.norm ?? null;
  const shapes = Object.fromEntries(graph.forward.params.map((p) => [p.name, p.shape]));

  let params = cloneParams(options.params);
  assertSameLayout(shapesAsParams(shapes), params, 'trainModel params');
  const opt = new AdamW(params, { lr: cfg.peakLr, weightDecay: cfg.weightDecay, decay: decaysWeight });
  const ema = cfg.emaDecay > 0 ? new Ema(params, { decay: cfg.emaDecay }) : undefined;
  let start = 0;

  const resume = options.resume ?? false;
  if (resume !== false) {
    if (checkpointPath === undefined)
      throw new AppError('INVALID_ARGUMENT', 'trainModel: resume needs a checkpointPath');
    const found = await readTrainCheckpoint(checkpointPath).catch((err: unknown) => {
      if (resume === 'if-exists' && err instanceof TrainError && err.reason === 'CHECKPOINT_MISSING')
        return undefined;
      throw err;
    });
    if (found !== undefined) {
      const { ckpt, meta } = found;
      const mismatch = (what: string, a: unknown, b: unknown): TrainError =>
        new TrainError(
          'CHECKPOINT_MISMATCH',
          `checkpoint ${checkpointPath} was written with another ${what} (${brief(a)} vs ${brief(b)} now); delete it or use another output folder`,
        );
      if (!sameJson(meta.model, options.modelConfig))
        throw mismatch('model config', meta.model, options.modelConfig);
      const { steps: _a, ...was } = meta.train;
      const { steps: _b, ...now } = cfg;
      if (!sameJson(was, now)) throw mismatch('training config', was, now);
      if (meta.train.steps !== cfg.steps) throw mismatch('step count', meta.train.steps, cfg.steps);
      if (!sameJson(meta.norm, norm)) throw mismatch('normalisation (data)', meta.norm, norm);
      if (!sameJson(meta.run, options.run)) throw mismatch('run settings', meta.run, options.run);
      try {
        assertSameLayout(params, ckpt.params, 'checkpoint params');
        if (ckpt.optimizer === undefined) throw new TrainError('CHECKPOINT_CORRUPT', 'no optimizer state');
        opt.loadState(ckpt.optimizer.state);
        if (ema !== undefined) {
          if (ckpt.ema === undefined) throw new TrainError('CHECKPOINT_CORRUPT', 'no EMA state');
          ema.loadState(ckpt.ema.state);
        }
      } catch (err) {
        throw new TrainError(
          'CHECKPOINT_CORRUPT',
          `checkpoint ${checkpointPath}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      if (meta.step !== opt.stepCount)
        throw new TrainError(
          'CHECKPOINT_CORRUPT',
          `checkpoint ${checkpointPath}: step ${meta.step} != optimizer step ${opt.stepCount}`,
        );
      params = cloneParams(ckpt.params);
      start = meta.step;
    }
  }

  const save = async (step: number): Promise<void> => {
    if (checkpointPath === undefined) return;
    const meta: TrainCheckpointMeta = {
      format: TRAIN_CHECKPOINT_FORMAT,
      model: options.modelConfig,
      train: cfg,
      norm,
      step,
      ...(options.run === undefined ? {} : { run: options.run }),
    };
    await saveCheckpoint(checkpointPath, {
      config: meta,
      params,
      shapes,
      optimizer: { config: opt.config, state: opt.state() },
      ...(ema === undefined ? {} : { ema: { decay: ema.decay, warmup: ema.warmup, state: ema.state() } }),
    });
  };

  const session = await createSession(graph.graph);
  const evalBatches: readonly Feeds[] =
    options.evalBatch === undefined
      ? []
      : Array.isArray(options.evalBatch)
        ? (options.evalBatch as readonly Feeds[])
        : [options.evalBatch as Feeds];
  const evalSession = evalBatches.length === 0 ? undefined : await createSession(graph.forward);
  const extra = options.fetch ?? [];
  const fetches = ['loss', ...graph.gradOutputs, ...extra];
  const lr = warmupCosineSchedule({
    peakLr: cfg.peakLr,
    warmupSteps: Math.min(cfg.warmupSteps, cfg.steps),
    totalSteps: cfg.steps,
    minLr: cfg.minLrFraction * cfg.peakLr,
  });
  const losses: number[] = [];
  const evalLosses: [number, number][] = [];
  const evaluate = async (
    step: number,
  ): Promise<{ loss: number; outputs: Record<string, Float32Array> } | undefined> => {
    if (evalSession === undefined) return undefined;
    let sum = 0;
    const parts: Record<string, Float32Array[]> = Object.fromEntries(extra.map((n) => [n, []]));
    for (const batch of evalBatches) {
      const out = await evalSession.run({ ...batch, ...params }, ['loss', ...extra]);
      sum += scalar(out.loss);
      for (const n of extra) parts[n]?.push(Float32Array.from((out[n] as TensorData).data as Float32Array));
    }
    const loss = sum / evalBatches.length;
    evalLosses.push([step, loss]);
    return { loss, outputs: Object.fromEntries(extra.map((n) => [n, concat(parts[n] ?? [])])) };
  };

  let step = start;
  while (step < cfg.steps && signal?.aborted !== true) {
    const feeds = await options.nextBatch(step, createRng(stepSeed(cfg.seed, step)));
    const out = await session.run({ ...feeds, ...params }, fetches);
    const loss = scalar(out.loss);
    if (!Number.isFinite(loss)) {
      throw new TrainError('NON_FINITE_LOSS', `loss is ${loss} at step ${step}; lower the learning rate`);
    }
    const grads: ParamMap = {};
    graph.params.forEach(
      (p, i) => (grads[p] = (out[graph.gradOutputs[i] as string] as TensorData).data as Float32Array),
    );
    const gradNorm = clipGradNorm(grads, cfg.clipNorm);
    const rate = lr(step);
    opt.step(params, grads, rate);
    ema?.update(params);
    losses.push(loss);
    step += 1;
    const outputs = Object.fromEntries(
      extra.map((n) => [n, Float32Array.from((out[n] as TensorData).data as Float32Array)]),
    );
    const held = step % evalEvery === 0 || step === cfg.steps ? await evaluate(step) : undefined;
    options.onProgress?.(step, loss, rate, {
      gradNorm,
      ...(extra.length > 0 ? { outputs } : {}),
      ...(held === undefined
        ? {}
        : { evalLoss: held.loss, ...(extra.length > 0 ? { evalOutputs: held.outputs } : {}) }),
    });
    if (step % ckptEvery === 0 && step < cfg.steps) await save(step);
  }
  if (step > start || resume === false) await save(step);
  return {
    params,
    ...(ema === undefined ? {} : { ema: cloneParams(ema.shadow) }),
    step,
    resumedFrom: start,
    completed: step >= cfg.steps,
    losses,
    evalLosses,
  };
}

function scalar(t: TensorData | undefined): number {
  const v = t?.data[0];
  return v === undefined ? Number.NaN : Number(v);
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function shapesAsParams(shapes: Record<string, readonly number[]>): ParamMap {
  return Object.fromEntries(
    Object.entries(shapes).map(([n, s]) => [n, new Float32Array(s.reduce((a, d) => a * d, 1))]),
  );
}

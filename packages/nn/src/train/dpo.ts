/**
 * Diffusion-DPO fine-tuning of a trained score network on preference pairs (METHOD.md section 6): a trainable copy
 * initialised from the reference, the reference frozen (its denoising errors computed each step by its own eps
 * session), the same `t` and `eps` for both members of a pair, AdamW, and per-step loss, implicit accuracy and
 * reward margin on the training batch and on held-out pairs. Runs through {@link trainModel}, so it checkpoints
 * and resumes exactly like `train`; the checkpoint is a score-network checkpoint (the reference's config and
 * latent standardisation) that the model store loads like any other.
 */
import { createSession, exportInference } from '@alignda/graph';
import type { ParamMap, RuntimeOptions } from '@alignda/graph';
import { mu, sigma } from '@alignda/da';
import { AppError } from '@alignda/errors';
import type { Rng } from '@alignda/tensor';
import { createRng } from '@alignda/tensor';

import { DPO_OUTPUTS, buildScoreDpoTraining } from '../dpo.js';
import { pickParams } from '../model.js';
import type { TrainedModel } from '../model-store.js';
import { buildScoreEps } from '../score.js';
import type { ScoreConfig } from '../score.js';
import type { Feeds } from './train-model.js';
import { trainModel } from './train-model.js';

/** Preference pairs in the score network's (standardised) latent space, row k of each array being pair k. */
export interface PreferencePairs {
  /** Number of pairs. */
  readonly count: number;
  /** Preferred samples `[count, Cz, h, w]`. */
  readonly winners: Float32Array;
  /** Dispreferred samples of the same conditions `[count, Cz, h, w]`. */
  readonly losers: Float32Array;
  /** The condition (background latent) of each pair `[count, Cz, h, w]`. */
  readonly backgrounds: Float32Array;
}

/** Hyper-parameters of a DPO run; stored in the checkpoint and compared on resume. */
export interface DpoConfig {
  /**
   * KL strength beta of the per-sample errors (means over the latent). @defaultValue 2000 — the paper's 8000 is
   * for its scale; sweep it on held-out pairs (`alignda align --beta`)
   */
  readonly beta: number;
  /** Pairs per optimiser step (the graph's batch is twice this). @defaultValue 8 */
  readonly pairsPerStep: number;
  /** Optimiser steps. @defaultValue 300 */
  readonly steps: number;
  /** Peak learning rate. @defaultValue 1e-5 — DPO moves a trained net a little; Wallace et al. use 1e-8 x batch 2048 */
  readonly peakLr: number;
  /** Linear warm-up steps. @defaultValue 20 */
  readonly warmupSteps: number;
  /** AdamW decoupled weight decay on `*.w`. @defaultValue 0 — the reference term already anchors the weights */
  readonly weightDecay: number;
  /** Seed of the per-step pair, time and noise draws. @defaultValue 0 */
  readonly seed: number;
}

export const DPO_DEFAULTS: DpoConfig = Object.freeze({
  beta: 2000,
  pairsPerStep: 8,
  steps: 300,
  peakLr: 1e-5,
  warmupSteps: 20,
  weightDecay: 0,
  seed: 0,
});

/** Mean DPO diagnostics over a set of pairs. */
export interface DpoMetrics {
  readonly loss: number;
  /** Fraction of pairs with a positive implicit reward margin. */
  readonly accuracy: number;
  /** Mean implicit reward margin. */
  readonly margin: number;
}

/** What {@link trainDpo} reports after each step. */
export interface DpoProgress {
  readonly step: number;
  readonly steps: number;
  readonly train: DpoMetrics;
  /** On steps where the held-out pairs were evaluated. */
  readonly heldOut?: DpoMetrics;
}

export interface TrainDpoOptions {
  /** The frozen reference score network (also the trainable copy's start). */
  readonly reference: TrainedModel<ScoreConfig>;
  readonly train: PreferencePairs;
  /** Held-out pairs (never trained on), evaluated every `evalEverySteps` steps and at the end. */
  readonly heldOut?: PreferencePairs;
  readonly config?: Partial<DpoConfig>;
  /** Identity of the data, e.g. the preference set's content hash: stored in the checkpoint, compared on resume. */
  readonly data?: unknown;
  /** @defaultValue 50 */
  readonly evalEverySteps?: number;
  readonly checkpointPath?: string;
  /** Steps between checkpoints (and one at the end): a killed run resumes from the last. @defaultValue 200 (trainModel's) */
  readonly checkpointEverySteps?: number;
  readonly resume?: boolean | 'if-exists';
  readonly signal?: AbortSignal;
  readonly runtime?: RuntimeOptions;
  onProgress?(p: DpoProgress): void;
}

export interface TrainDpoResult {
  /** The aligned score network's parameters. */
  readonly params: ParamMap;
  readonly step: number;
  readonly resumedFrom: number;
  readonly completed: boolean;
  /** Held-out metrics at the start (the reference: loss log 2, margin 0) and at the end. */
  readonly heldOut?: { readonly before: DpoMetrics; readonly after: DpoMetrics };
}

/** Resolves a partial DPO config and checks it. */
export function resolveDpoConfig(config: Partial<DpoConfig> = {}): DpoConfig {
  const c: DpoConfig = { ...DPO_DEFAULTS, ...config };
  if (!(c.beta > 0 && Number.isFinite(c.beta)))
    throw new AppError('INVALID_ARGUMENT', `dpo: beta must be a positive number, got ${c.beta}`);
  if (!Number.isInteger(c.pairsPerStep) || c.pairsPerStep < 1)
    throw new AppError(
      'INVALID_ARGUMENT',
      `dpo: pairsPerStep must be a positive integer, got ${c.pairsPerStep}`,
    );
  if (!(c.peakLr > 0)) throw new AppError('INVALID_ARGUMENT', `dpo: peakLr must be > 0, got ${c.peakLr}`);
  return Object.freeze(c);
}

/**
 * Fine-tunes `reference` by Diffusion-DPO on `train` pairs.
 * @throws AppError INVALID_ARGUMENT when the pairs do not fit the reference's latent shape or are empty;
 *   TrainError for a mismatched checkpoint on resume (another reference config, beta or preference set)
 */
export async function trainDpo(options: TrainDpoOptions): Promise<TrainDpoResult> {
  const cfg = resolveDpoConfig(options.config);
  const score = options.reference.config;
  const size = score.latentShape.reduce((a, d) => a * d, 1);
  checkPairs(options.train, size, 'training');
  if (options.heldOut !== undefined) checkPairs(options.heldOut, size, 'held-out');
  const P = cfg.pairsPerStep;
  const graph = buildScoreDpoTraining(score, P);
  const refGraph = buildScoreEps({ ...score, batch: 2 * P });
  const refSession = await createSession(
    exportInference(refGraph, pickParams(refGraph, options.reference.params)),
    options.runtime,
  );
  const beta = Float32Array.of(cfg.beta);

  /** The feeds of P pairs picked by `pick`, with each pair's t and eps from `rng`. */
  const feedsOf = async (pairs: PreferencePairs, pick: (k: number) => number, rng: Rng): Promise<Feeds> => {
    const n = 2 * P;
    const zt = new Float32Array(n * size);
    const zb = new Float32Array(n * size);
    const eps = new Float32Array(n * size);
    const t = new Float32Array(n);
    for (let k = 0; k < P; k++) {
      const i = pick(k);
      const tk = Math.fround(rng.uniform());
      const m = mu(tk);
      const s = sigma(tk);
      const e = rng.fillNormal(new Float32Array(size));
      for (const [row, src] of [
        [k, pairs.winners],
        [P + k, pairs.losers],
      ] as const) {
        t[row] = tk;
        eps.set(e, row * size);
        zb.set(pairs.backgrounds.subarray(i * size, (i + 1) * size), row * size);
        for (let j = 0; j < size; j++)
          zt[row * size + j] = m * (src[i * size + j] as number) + s * (e[j] as number);
      }
    }
    const out = await refSession.run({ z_t: zt, t, z_b: zb }, ['eps']);
    const refEps = out.eps?.data as Float32Array;
    const refErr = new Float32Array(n);
    for (let r = 0; r < n; r++) {
      let acc = 0;
      for (let j = 0; j < size; j++) {
        const d = (refEps[r * size + j] as number) - (eps[r * size + j] as number);
        acc += d * d;
      }
      refErr[r] = acc / size;
    }
    return { z_t: zt, t, z_b: zb, eps, ref_err: refErr, beta };
  };

  // Held-out batches: every held-out pair once (the last batch wraps around), with fixed t and eps.
  let evalBatch: Feeds[] | undefined;
  let heldOutCount = 0;
  if (options.heldOut !== undefined) {
    const h = options.heldOut;
    const rng = createRng(cfg.seed ^ 0x5eed);
    evalBatch = [];
    for (let start = 0; start < h.count; start += P)
      evalBatch.push(await feedsOf(h, (k) => (start + k) % h.count, rng));
    heldOutCount = h.count;
  }
  const metricsOf = (loss: number, margins: Float32Array | undefined, count: number): DpoMetrics => {
    const m =
      margins === undefined ? new Float32Array() : margins.subarray(0, count === 0 ? margins.length : count);
    const n = Math.max(1, m.length);
    let pos = 0;
    let sum = 0;
    for (const v of m) {
      if (v > 0) pos += 1;
      sum += v;
    }
    return { loss, accuracy: pos / n, margin: sum / n };
  };
  // Evaluation batches are laid out in order, so the first `heldOutCount` margins are the held-out pairs'.
  const heldOutMargins = (o: Record<string, Float32Array> | undefined): Float32Array | undefined =>
    o?.[DPO_OUTPUTS.margin];

  let before: DpoMetrics | undefined;
  let after: DpoMetrics | undefined;
  const train = options.train;
  const result = await trainModel({
    graph,
    params: options.reference.params,
    modelConfig: score,
    norm: options.reference.norm,
    run: { kind: 'dpo', dpo: cfg, data: options.data ?? null },
    config: {
      steps: cfg.steps,
      peakLr: cfg.peakLr,
      warmupSteps: cfg.warmupSteps,
      weightDecay: cfg.weightDecay,
      minLrFraction: 0.1,
      clipNorm: 1,
      emaDecay: 0,
      seed: cfg.seed,
    },
    nextBatch: (_step, rng) => feedsOf(train, () => rng.int(train.count), rng),
    ...(evalBatch === undefined ? {} : { evalBatch }),
    fetch: [DPO_OUTPUTS.margin],
    evalEverySteps: options.evalEverySteps ?? 50,
    ...(options.checkpointPath === undefined ? {} : { checkpointPath: options.checkpointPath }),
    ...(options.checkpointEverySteps === undefined
      ? {}
      : { checkpointEverySteps: options.checkpointEverySteps }),
    ...(options.resume === undefined ? {} : { resume: options.resume }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onProgress: (step, loss, _lr, info) => {
      const heldOut =
        info.evalLoss === undefined
          ? undefined
          : metricsOf(info.evalLoss, heldOutMargins(info.evalOutputs), heldOutCount);
      if (heldOut !== undefined) after = heldOut;
      options.onProgress?.({
        step,
        steps: cfg.steps,
        train: metricsOf(loss, info.outputs?.[DPO_OUTPUTS.margin], 0),
        ...(heldOut === undefined ? {} : { heldOut }),
      });
    },
  });
  if (evalBatch !== undefined) {
    before = await heldOutMetricsOf(options.reference.params);
    after ??= await heldOutMetricsOf(result.params);
  }
  async function heldOutMetricsOf(params: ParamMap): Promise<DpoMetrics> {
    const session = await createSession(graph.forward, options.runtime);
    let loss = 0;
    const margins: Float32Array[] = [];
    for (const batch of evalBatch ?? []) {
      const out = await session.run({ ...batch, ...params }, ['loss', DPO_OUTPUTS.margin]);
      loss += Number(out.loss?.data[0]);
      margins.push(Float32Array.from(out[DPO_OUTPUTS.margin]?.data as Float32Array));
    }
    const all = new Float32Array(margins.reduce((n, m) => n + m.length, 0));
    margins.reduce((o, m) => (all.set(m, o), o + m.length), 0);
    return metricsOf(loss / Math.max(1, margins.length), all, heldOutCount);
  }
  return {
    params: result.params,
    step: result.step,
    resumedFrom: result.resumedFrom,
    completed: result.completed,
    ...(before === undefined || after === undefined ? {} : { heldOut: { before, after } }),
  };
}

function checkPairs(p: PreferencePairs, size: number, what: string): void {
  if (!Number.isInteger(p.count) || p.count < 1)
    throw new AppError('INVALID_ARGUMENT', `dpo: no ${what} pairs`);
  for (const [name, a] of [
    ['winners', p.winners],
    ['losers', p.losers],
    ['backgrounds', p.backgrounds],
  ] as const)
    if (a.length !== p.count * size)
      throw new AppError(
        'INVALID_ARGUMENT',
        `dpo: ${what} ${name} hold ${a.length} values, expected ${p.count} pairs x ${size} (the reference's latent)`,
      );
}

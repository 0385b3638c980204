/**
 * The model store: trained models as files. A model folder holds the `vae`, `emulator` and `score` training
 * checkpoints (safetensors with parameters, optimiser and EMA state, configs and normalisation); this module reads
 * them into {@link LatentModels} values (tensors in memory) and checks that they belong together. Sessions and ports
 * (latent-sessions.ts) take those values and never touch files, so a worker can hold them in memory and a service
 * can load them from a registry.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { ParamMap } from '@alignda/graph';
import type { NormStats } from '@alignda/tensor';

import type { EmulatorConfig } from './emulator.js';
import { hashFile } from './file-hash.js';
import type { ScoreConfig } from './score.js';
import { TrainError } from './train/train-error.js';
import { readTrainCheckpoint } from './train/train-model.js';
import type { VaeConfig } from './vae.js';

/** One trained model: its configuration, final (EMA when kept) parameters and the normalisation it was trained with. */
export interface TrainedModel<C> {
  readonly config: C;
  readonly params: ParamMap;
  /** States' normalisation (VAE, emulator) or the latent standardisation (score). */
  readonly norm: NormStats;
  /** Optimiser steps it was trained for. */
  readonly steps: number;
}

/** The three models of a latent DA system, trained on one dataset. */
export interface LatentModels {
  readonly vae: TrainedModel<VaeConfig>;
  readonly emulator: TrainedModel<EmulatorConfig>;
  readonly score: TrainedModel<ScoreConfig>;
}

/** File names inside a model folder. */
export const MODEL_FILES = Object.freeze({
  vae: 'vae.safetensors',
  emulator: 'emulator.safetensors',
  score: 'score.safetensors',
});

/**
 * Reads one finished training checkpoint.
 * @throws TrainError `CHECKPOINT_MISSING` / `CHECKPOINT_CORRUPT`, or `CHECKPOINT_MISMATCH` when it is unfinished
 */
export async function loadTrainedModel<C>(file: string): Promise<TrainedModel<C>> {
  const { ckpt, meta } = await readTrainCheckpoint(file);
  if (meta.step < meta.train.steps)
    throw new TrainError(
      'CHECKPOINT_MISMATCH',
      `${file} is unfinished (step ${meta.step} of ${meta.train.steps}); run \`alignda train\` again to complete it`,
    );
  if (meta.norm === null)
    throw new TrainError('CHECKPOINT_CORRUPT', `${file} stores no normalisation statistics`);
  return {
    config: meta.model as C,
    params: ckpt.ema?.state.shadow ?? ckpt.params,
    norm: meta.norm,
    steps: meta.step,
  };
}

/**
 * Loads the VAE, the emulator and the score network of a model folder and checks that they belong together (same
 * state normalisation and shapes).
 */
export async function loadLatentModels(dir: string): Promise<LatentModels> {
  const vae = await loadTrainedModel<VaeConfig>(path.join(dir, MODEL_FILES.vae));
  const emulator = await loadTrainedModel<EmulatorConfig>(path.join(dir, MODEL_FILES.emulator));
  const score = await loadTrainedModel<ScoreConfig>(path.join(dir, MODEL_FILES.score));
  if (JSON.stringify(vae.norm) !== JSON.stringify(emulator.norm))
    throw new TrainError(
      'CHECKPOINT_MISMATCH',
      `${dir}: the VAE and the emulator were trained on differently normalised data; retrain one of them`,
    );
  const v = vae.config;
  if (
    v.channels !== emulator.config.channels ||
    v.height !== emulator.config.height ||
    v.width !== emulator.config.width
  )
    throw new TrainError(
      'CHECKPOINT_MISMATCH',
      `${dir}: the VAE and the emulator have different state shapes`,
    );
  if (score.config.latentShape.join() !== [v.latentChannels, v.height / 4, v.width / 4].join())
    throw new TrainError(
      'CHECKPOINT_MISMATCH',
      `${dir}: the score network does not fit the VAE's latent; retrain it`,
    );
  return { vae, emulator, score };
}

/** What a model set was trained for, stored beside its checkpoints (`models.json`). */
export interface ModelManifest {
  /** The source the models were trained on (`qg` or a dataset's name). */
  readonly source: string;
  readonly preset: string;
  /** The kind of backgrounds the score network learned from: `model` (physical) or `emulator`. */
  readonly background: string;
  /** Lead of those backgrounds, hours. */
  readonly leadHours: number;
  /**
   * SHA-256 (hex) of the autoencoder (`vae.safetensors`) whose latents the score network was trained on: the score
   * model pins it, and a sampler refuses latents of another (written by the file store when it writes the manifest).
   * Absent in folders from before pinning.
   */
  readonly autoencoderSha256?: string;
}

/** The manifest's file name inside a model folder. */
export const MODEL_MANIFEST_FILE = 'models.json';

/** A model folder as a store of one model set: `<dir>/{vae,emulator,score}.safetensors` and `models.json`. */
export interface FileModelStore {
  /** The folder. */
  readonly location: string;
  /** `<dir>/<model>.safetensors`. */
  checkpointPath(model: keyof typeof MODEL_FILES): string;
  /** {@link loadTrainedModel} of one model of the folder. */
  load<C>(model: keyof typeof MODEL_FILES): Promise<TrainedModel<C>>;
  /** {@link loadLatentModels} of the folder. */
  loadAll(): Promise<LatentModels>;
  /** The folder's manifest; undefined for a folder trained before manifests existed. */
  readManifest(): Promise<ModelManifest | undefined>;
  /** Writes the manifest, with the SHA-256 of the folder's autoencoder when it has one (the score model's pin). */
  writeManifest(manifest: ModelManifest): Promise<void>;
  /** SHA-256 (hex) of the folder's `vae.safetensors`. */
  autoencoderSha256(): Promise<string>;
}

/** The model store of a folder (created by training when missing). */
export function fileModelStore(dir: string): FileModelStore {
  return {
    location: dir,
    checkpointPath: (model) => path.join(dir, MODEL_FILES[model]),
    load: (model) => loadTrainedModel(path.join(dir, MODEL_FILES[model])),
    loadAll: () => loadLatentModels(dir),
    readManifest: async () => {
      const file = path.join(dir, MODEL_MANIFEST_FILE);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        return undefined;
      }
      try {
        return JSON.parse(text) as ModelManifest;
      } catch (err) {
        throw new TrainError('CHECKPOINT_CORRUPT', `${file} is not valid JSON`, { cause: err });
      }
    },
    writeManifest: async (manifest) => {
      const vae = path.join(dir, MODEL_FILES.vae);
      const pin = existsSync(vae) ? { autoencoderSha256: (await hashFile(vae)).sha256 } : {};
      await writeFile(
        path.join(dir, MODEL_MANIFEST_FILE),
        JSON.stringify({ ...manifest, ...pin }, null, 1) + '\n',
      );
    },
    autoencoderSha256: async () => (await hashFile(path.join(dir, MODEL_FILES.vae))).sha256,
  };
}

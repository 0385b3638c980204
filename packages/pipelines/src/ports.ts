/**
 * The ports through which the use cases reach what lives outside memory: trained models (files today, a registry
 * tomorrow) and processes beside this one. Adapters implement them: the CLI with a model folder and a child process,
 * a worker with its own store, a test with in-memory values.
 */
import type { LatentModels, ModelManifest, TrainedModel } from '@alignda/nn';

import type { ModelName } from './train/presets.js';

/** Where the models of one model set (e.g. `qg-ci`) are kept. */
export interface ModelStore {
  /** Where the store keeps the set, for messages (a folder, a registry URL). */
  readonly location: string;
  /**
   * The training checkpoint of `model`, which training reads to resume and writes as it goes (packages/nn's
   * training loop keeps checkpoints as safetensors files).
   */
  checkpointPath(model: ModelName): string;
  /**
   * One finished model.
   * @throws TrainError `CHECKPOINT_MISSING`, `CHECKPOINT_CORRUPT`, or `CHECKPOINT_MISMATCH` when it is unfinished
   */
  load<C>(model: ModelName): Promise<TrainedModel<C>>;
  /**
   * The three models, checked to belong together.
   * @throws TrainError as {@link ModelStore.load}, or `CHECKPOINT_MISMATCH` when they do not fit each other
   */
  loadAll(): Promise<LatentModels>;
  /** Records what the set was trained for (the backgrounds of the score network), when the store can. */
  writeManifest?(manifest: ModelManifest): Promise<void>;
  /** What the set was trained for; undefined when the store has no record (a set from before manifests). */
  readManifest?(): Promise<ModelManifest | undefined>;
}

/**
 * Trains the emulator somewhere else (another process, another worker) while this one trains the VAE: it runs the
 * same train use case with `model: 'emulator'` and the same options and store, and resolves when that finishes.
 */
export type TrainElsewhere = (model: 'emulator') => Promise<void>;

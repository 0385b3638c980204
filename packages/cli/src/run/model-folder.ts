/**
 * Opens a model folder for a command that needs trained models (eval, align): a missing or unreadable set becomes
 * one error line naming the `alignda train` command to run.
 */
import { AppError, toAppError } from '@alignda/errors';
import path from 'node:path';

import { TrainError, fileModelStore, loadTrainedModel } from '@alignda/nn';
import type { LatentModels, ScoreConfig } from '@alignda/nn';
import type { AlignedScore, BackgroundKind } from '@alignda/pipelines';

/**
 * Loads the models of `dir` and the background kind its score network was trained on (a folder from before
 * manifests holds one of emulator backgrounds, all there was).
 * @param what - what is missing, for the message ("trained models", "trained reference")
 * @param train - the `alignda train` command that makes the folder
 */
export async function loadModelFolder(
  dir: string,
  what: string,
  train: string,
): Promise<{ models: LatentModels; background: BackgroundKind }> {
  const store = fileModelStore(dir);
  const models = await store.loadAll().catch((err: unknown) => {
    if (!(err instanceof TrainError)) throw err;
    const why =
      err.reason === 'CHECKPOINT_MISSING'
        ? `no ${what} in ${dir} (${err.message.replace(/ to resume from$/, '')})`
        : err.message;
    throw new AppError(toAppError(err).code, `${why}; train them first: ${train}`, { cause: err });
  });
  const manifest = await store.readManifest();
  return { models, background: (manifest?.background ?? 'emulator') as BackgroundKind };
}

/**
 * Loads the aligned score networks `sets` of the model folder `dir` (`score-aligned-<set>.safetensors`, written by
 * `alignda align`): a missing or unfinished one becomes one error line naming the `align` command to run.
 * @param align - the `alignda align` command without its `--set`
 */
export async function loadAlignedScores(
  dir: string,
  sets: readonly string[],
  align: string,
): Promise<(AlignedScore & { readonly file: string })[]> {
  const out: (AlignedScore & { readonly file: string })[] = [];
  for (const set of sets) {
    const file = path.join(dir, `score-aligned-${set}.safetensors`);
    const score = await loadTrainedModel<ScoreConfig>(file).catch((err: unknown) => {
      if (!(err instanceof TrainError)) throw err;
      const why =
        err.reason === 'CHECKPOINT_MISSING' ? `no aligned model ${set} in ${dir} (${file})` : err.message;
      throw new AppError(toAppError(err).code, `${why}; align it first: ${align} --set ${set}`, {
        cause: err,
      });
    });
    out.push({ name: set, score, file });
  }
  return out;
}

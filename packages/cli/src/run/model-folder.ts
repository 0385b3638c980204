/**
 * Opens a model folder for a command that needs trained models (eval, align): a missing or unreadable set becomes
 * one error line naming the `alignda train` command to run.
 */
import { AppError, toAppError } from '@alignda/errors';
import { TrainError, fileModelStore } from '@alignda/nn';
import type { LatentModels } from '@alignda/nn';
import type { BackgroundKind } from '@alignda/pipelines';

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

/**
 * What an alignment stage runs on, opened once per process and kept: a model folder's models and manifest, and the
 * source they were trained on (the synthetic world's training nature run, as `alignda train` opens it with its
 * default seed 1, or a registered dataset).
 */
import type { Config } from '@alignda/config';
import { AppError } from '@alignda/errors';
import { fileModelStore } from '@alignda/nn';
import { TRAIN_PRESETS } from '@alignda/pipelines';
import type { Preset } from '@alignda/pipelines';
import { WORLDS, openSource } from '@alignda/world';

import type { AlignmentInputs } from '../stages.js';

/** The nature-run seed `alignda train` trains on by default. */
const TRAIN_SEED = 1;

/** The inputs of a model folder, cached by folder; a failure is not kept (the next stage tries again). */
export function alignmentInputs(config: Config): (modelDir: string) => Promise<AlignmentInputs> {
  const cache = new Map<string, Promise<AlignmentInputs>>();
  return (dir) => {
    let opened = cache.get(dir);
    if (opened === undefined) {
      opened = (async () => {
        const store = fileModelStore(dir);
        const models = await store.loadAll().catch((err: unknown) => {
          throw new AppError(
            'FAILED_PRECONDITION',
            `the reference model folder ${dir} cannot be loaded: ${(err as Error).message}`,
          );
        });
        const manifest = await store.readManifest();
        if (manifest === undefined)
          throw new AppError(
            'FAILED_PRECONDITION',
            `${dir} has no models.json: retrain it with \`alignda train\``,
          );
        const preset = (manifest.preset in TRAIN_PRESETS ? manifest.preset : 'ci') as Preset;
        const years = TRAIN_PRESETS[preset].years;
        const world = (WORLDS as readonly string[]).includes(manifest.source);
        const source = await openSource(
          config,
          world
            ? { world: manifest.source, seed: TRAIN_SEED, years }
            : { dataset: manifest.source, seed: TRAIN_SEED, years },
        );
        return { models, manifest, source };
      })();
      opened.catch(() => cache.delete(dir));
      cache.set(dir, opened);
    }
    return opened;
  };
}

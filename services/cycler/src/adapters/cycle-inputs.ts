/**
 * What a cycle step runs on, opened once per process and kept: the training and scored nature runs (generated into
 * the shared cache the first time, as `alignda cycle` does, with the same lengths so that both open the same runs),
 * the latent models of the cycle's preset and forecast when a method or the emulator needs them, and each cycle's
 * state folder `<ALIGNDA_HOME>/cycles/<id>/state/`.
 */
import path from 'node:path';

import type { Config } from '@alignda/config';
import { AppError } from '@alignda/errors';
import { fileModelStore } from '@alignda/nn';
import {
  LATENT_CYCLE_METHODS,
  TRAIN_PRESETS,
  cycleOptionsOf,
  cycleSourceYears,
  cycleStoreOn,
  modelSetName,
} from '@alignda/pipelines';
import type { CycleRequest, CycleStore } from '@alignda/pipelines';
import { openSource, snapshotDir } from '@alignda/world';
import type { DaSource } from '@alignda/world';

import type { CycleInputs } from '../step.js';

/** The folder of cycle `id`'s state. */
function cycleDir(homeDir: string, id: string): string {
  return path.join(homeDir, 'cycles', id);
}

/** The Zarr store of reanalysis `id` (the gateway serves it from there). */
export function reanalysisStoreDir(homeDir: string, id: string): string {
  return path.join(homeDir, 'reanalyses', id, 'analysis.zarr');
}

/** The state store of cycle `id`. */
export function cycleStore(homeDir: string, id: string): CycleStore {
  return cycleStoreOn(snapshotDir(cycleDir(homeDir, id)));
}

/**
 * The inputs of a cycle's settings, cached by what decides them.
 * @param modelsRoot - where model sets live (`<ALIGNDA_HOME>/models`, as `alignda train` writes them)
 */
export function cycleInputs(
  config: Config,
  modelsRoot: string,
): (s: CycleRequest, modelFolder?: string) => Promise<CycleInputs> {
  const sources = new Map<string, Promise<DaSource>>();
  const source = (world: string, seed: number, years: number): Promise<DaSource> => {
    const key = `${world}/${seed}/${years}`;
    let opened = sources.get(key);
    if (opened === undefined) {
      opened = openSource(config, { world, seed, years });
      // A failure is not kept: the next step tries again.
      opened.catch(() => sources.delete(key));
      sources.set(key, opened);
    }
    return opened;
  };
  const modelSets = new Map<string, Promise<Pick<CycleInputs, 'models' | 'priorBackground'>>>();
  return async (s, modelFolder) => {
    const [training, scored] = await Promise.all([
      source(s.world, s.trainSeed, TRAIN_PRESETS[s.preset].years),
      source(s.world, s.seed, s.sourceYears ?? cycleSourceYears(cycleOptionsOf(s))),
    ]);
    const latent = s.methods.some((m) => (LATENT_CYCLE_METHODS as readonly string[]).includes(m));
    if (!latent && s.forecast !== 'emulator') return { source: scored, training };
    const dir = modelFolder ?? path.join(modelsRoot, modelSetName(s.world, s.preset, s.forecast));
    let set = modelSets.get(dir);
    if (set === undefined) {
      const store = fileModelStore(dir);
      set = (async () => {
        const models = await store.loadAll().catch((err: unknown) => {
          throw new AppError(
            'FAILED_PRECONDITION',
            `the cycle's methods need the ${s.preset} models for ${s.forecast} backgrounds in ${dir}: train them with \`alignda train --preset ${s.preset}\` (${(err as Error).message})`,
          );
        });
        return { models, priorBackground: (await store.readManifest())?.background ?? 'emulator' };
      })();
      set.catch(() => modelSets.delete(dir));
      modelSets.set(dir, set);
    }
    return { source: scored, training, ...(await set) };
  };
}

/**
 * `alignda align` as a CLI run: loads the reference model folder (failing with the `alignda train` command to run
 * when it is missing), opens the source, and runs packages/pipelines `alignModels` with progress bars, then prints
 * the preference set and the held-out DPO metrics before and after, and records the preference set, the aligned
 * model version and the alignment run in the registry (a registry that cannot be reached is a warning).
 */
import path from 'node:path';

import { loadConfig } from '@alignda/config';
import { AppError } from '@alignda/errors';
import { alignModels, defaultBackground } from '@alignda/pipelines';
import type { BackgroundKind, PreferenceSetName, Preset } from '@alignda/pipelines';
import { openSource } from '@alignda/world';

import { folderAlignmentStore } from '../adapters/alignment-store.js';
import { recordAlignment } from '../adapters/record-alignment.js';
import { createProgress } from '../progress.js';
import { sourceChoice } from '../source-options.js';
import type { SourceFlags } from '../source-options.js';
import { loadModelFolder } from './model-folder.js';
import { modelDir } from './train-run.js';

/** Options of `alignda align`. */
export interface AlignRunOptions extends SourceFlags {
  preset: Preset;
  set: PreferenceSetName;
  background?: BackgroundKind;
  /** Reference model folder. @defaultValue `<home>/models/<source>-<preset>-<background>` */
  modelDir?: string;
  candidates: number;
  conditions: number;
  steps: number;
  beta?: number;
  dpoSteps?: number;
  pairsPerStep?: number;
  lr?: number;
  pairSeed: number;
}

const f4 = (x: number): string => x.toFixed(4);

/** Runs `alignda align`. */
export async function runAlign(opts: AlignRunOptions): Promise<void> {
  const config = loadConfig();
  const progress = createProgress();
  const choice = sourceChoice(opts, opts.preset, (s, f) => progress.update(s, f));
  const name = choice.dataset ?? choice.world ?? 'qg';
  const background =
    opts.background ?? defaultBackground({ kind: choice.dataset !== undefined ? 'dataset' : 'world' });
  const dir = path.resolve(opts.modelDir ?? modelDir(config.homeDir, name, opts.preset, background));
  const how = choice.dataset !== undefined ? `--dataset ${name}` : `--world ${name}`;
  const { models, background: modelBackground } = await loadModelFolder(
    dir,
    'trained reference',
    `alignda train ${how} --preset ${opts.preset} --background ${background}`,
  );
  if (modelBackground !== background)
    throw new AppError(
      'FAILED_PRECONDITION',
      `${dir} holds a score network of ${modelBackground} backgrounds, not ${background}`,
    );
  const src = await openSource(config, choice);
  progress.stop();
  console.log(
    `${src.title}; reference ${dir} (score ${models.score.steps} steps); set ${opts.set}: ${opts.conditions} alignment-period conditions x ${opts.candidates} ObsFree candidates (${opts.steps} steps)`,
  );
  const t0 = performance.now();
  const startedAt = new Date();
  const res = await alignModels(src, models, folderAlignmentStore(dir), {
    set: opts.set,
    background,
    candidates: opts.candidates,
    conditions: opts.conditions,
    steps: opts.steps,
    seed: opts.pairSeed,
    dpo: {
      ...(opts.beta === undefined ? {} : { beta: opts.beta }),
      ...(opts.dpoSteps === undefined ? {} : { steps: opts.dpoSteps }),
      ...(opts.pairsPerStep === undefined ? {} : { pairsPerStep: opts.pairsPerStep }),
      ...(opts.lr === undefined ? {} : { peakLr: opts.lr }),
    },
    onProgress: (stage, fraction) => progress.update(stage, fraction),
  });
  progress.stop();
  const m = res.preferences.meta;
  console.log(
    `preference set ${m.set} (${m.rewards.join(', ')}): ${m.trainPairs} training pairs from ${m.trainConditions.length} conditions, ${m.heldOutPairs} held-out pairs from ${m.heldOutConditions.length}; mean-rank fallback ${m.fallbacks}x; ${res.preferences.reused ? 'reused' : 'written'} ${res.preferences.file} (sha256 ${res.preferences.hash.slice(0, 12)}...)`,
  );
  for (const [r, v] of Object.entries(m.rewardMeans))
    console.log(`  ${r.padEnd(9)} winners ${f4(v.winners)}  losers ${f4(v.losers)}`);
  console.log(
    `DPO: beta ${res.dpo.beta}, ${res.dpo.steps} steps x ${res.dpo.pairsPerStep} pairs, lr ${res.dpo.peakLr}${res.resumedFrom > 0 ? `, resumed from step ${res.resumedFrom}` : ''}`,
  );
  if (res.heldOut !== undefined) {
    const { before, after } = res.heldOut;
    console.log('held-out pairs     loss    accuracy  margin');
    console.log(`  reference      ${f4(before.loss)}  ${f4(before.accuracy)}    ${f4(before.margin)}`);
    console.log(`  aligned        ${f4(after.loss)}  ${f4(after.accuracy)}    ${f4(after.margin)}`);
  }
  console.log(
    `${res.completed ? 'aligned' : 'interrupted; re-run to continue'}: ${res.checkpoint} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
  );
  try {
    const ids = await recordAlignment(config, {
      dir,
      score: models.score,
      result: res,
      periodFirst: src.timeOf(m.periodRange[0]),
      periodLast: src.timeOf(m.periodRange[1] - 1),
      startedAt,
      finishedAt: new Date(),
    });
    console.log(
      ids.aligned === undefined
        ? `registry: alignment run ${ids.run} (paused, base ${ids.reference}), preference set ${ids.preferenceSet}`
        : `registry: model version ${ids.aligned} (parent ${ids.reference}), preference set ${ids.preferenceSet}`,
    );
  } catch (err) {
    // The preference set and the checkpoint are on disk already; a registry that cannot be reached must not lose them.
    console.error(
      `alignda: warning: the alignment was not recorded in the registry: ${(err as Error).message}`,
    );
  }
}

import { BACKGROUND_KINDS, PREFERENCE_SET_NAMES, PRESETS } from '@alignda/pipelines';
import { Option } from 'commander';
import type { Command } from 'commander';

import { intArg, numArg } from '../args.js';
import { runAlign } from '../run/align-run.js';
import type { AlignRunOptions } from '../run/align-run.js';
import { addSourceOptions } from '../source-options.js';

/**
 * Registers `alignda align`: builds a preference set from the reference model set's ObsFree candidates on the
 * alignment period and fine-tunes its score network by Diffusion-DPO into `score-aligned-<set>.safetensors`
 * (packages/pipelines `alignModels`). Resumable: the set is reused and DPO continues from its checkpoint.
 */
export function registerAlignCommand(program: Command): void {
  const cmd = program
    .command('align')
    .description('align the score prior to preferences by Diffusion-DPO (resumes from the last checkpoint)');
  addSourceOptions(cmd)
    .addOption(new Option('--preset <preset>', 'model and run size').choices(PRESETS).default('ci'))
    .addOption(
      new Option('--set <set>', 'preference set: P (Geo-Score), M (multiple rewards), 4 (M plus R_hydro)')
        .choices(PREFERENCE_SET_NAMES)
        .default('M'),
    )
    .addOption(
      new Option('--background <kind>', 'backgrounds of the reference (default: as eval)').choices(
        BACKGROUND_KINDS,
      ),
    )
    .option(
      '--model-dir <dir>',
      'reference model folder (default: <ALIGNDA_HOME>/models/<source>-<preset>-<background>)',
    )
    .option('--candidates <n>', 'ObsFree candidates per condition', intArg('--candidates', 2, 1024), 32)
    .option(
      '--conditions <n>',
      'alignment-period conditions (a quarter held out)',
      intArg('--conditions', 2),
      24,
    )
    .option('--steps <n>', 'sampler steps of the candidates', intArg('--steps', 1), 64)
    .option('--beta <b>', 'DPO KL strength beta', numArg('--beta', 0, Infinity, true))
    .option('--dpo-steps <n>', 'DPO optimiser steps', intArg('--dpo-steps', 1))
    .option('--pairs-per-step <n>', 'preference pairs per DPO step', intArg('--pairs-per-step', 1))
    .option('--lr <rate>', 'DPO peak learning rate', numArg('--lr', 0, Infinity, true))
    .option('--pair-seed <n>', 'seed of conditions, candidates and pairing', intArg('--pair-seed', 0), 11)
    .action(async (opts: AlignRunOptions) => {
      await runAlign(opts);
    });
}

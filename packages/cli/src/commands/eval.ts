import {
  BACKGROUND_KINDS,
  DEFAULT_OBS_FRACTION,
  OBS_LAYOUTS,
  PREFERENCE_SET_NAMES,
  PRESETS,
} from '@alignda/pipelines';
import { Option } from 'commander';
import type { Command } from 'commander';

import { intArg, listArg, numArg } from '../args.js';
import { runEval } from '../run/eval-run.js';
import type { EvalRunOptions } from '../run/eval-run.js';
import { addSourceOptions } from '../source-options.js';

/**
 * Registers `alignda eval`: latent DA (ObsFree, Repaint, DPS) against the background and 3D-Var on held-out cases
 * of the synthetic world or a real dataset, with trained models from `alignda train` (packages/pipelines
 * `evaluateLatent`). Prints the table, writes JSON and PNG maps of the first case, and on real data verifies every
 * analysis against the station observations.
 */
export function registerEvalCommand(program: Command): void {
  const cmd = program
    .command('eval')
    .description('evaluate ObsFree, Repaint and DPS against the background and 3D-Var on held-out cases');
  addSourceOptions(cmd)
    .addOption(new Option('--preset <preset>', 'which trained models').choices(PRESETS).default('ci'))
    .option(
      '--model-dir <dir>',
      'model folder (default: <ALIGNDA_HOME>/models/<source>-<preset>-<background>)',
    )
    .option(
      '--models <list>',
      `the score networks to evaluate, comma-separated: ref (the reference, always evaluated) and the aligned ones of \`alignda align --set\` (${PREFERENCE_SET_NAMES.join(', ')}), each in every latent mode on the same cases, with the reference's guidance strengths`,
      listArg('--models', ['ref', ...PREFERENCE_SET_NAMES]),
      ['ref'],
    )
    .addOption(
      new Option(
        '--background <kind>',
        '48 h backgrounds from the physical model or the emulator (default: model on the qg world, emulator on a dataset)',
      ).choices(BACKGROUND_KINDS),
    )
    .addOption(
      new Option('--obs-layout <layout>', 'single values, whole columns, or points off the grid')
        .choices(OBS_LAYOUTS)
        .default('values'),
    )
    .option(
      '--obs-fraction <f>',
      'share observed (of the single values, or of the columns)',
      numArg('--obs-fraction', 0, 1, true),
      DEFAULT_OBS_FRACTION,
    )
    .option(
      '--noise <sigma>',
      'observation noise std, normalised units (0: noise-free)',
      numArg('--noise', 0, 10, false),
      0.02,
    )
    .option(
      '--ensemble-members <n>',
      'ensemble size of the LETKF and hybrid EnVar (0 leaves both out)',
      intArg('--ensemble-members', 0, 256),
      16,
    )
    .option(
      '--seeds <n>',
      'sampler seeds per case for the latent modes (scores averaged within a case)',
      intArg('--seeds', 1, 64),
      1,
    )
    .option('--cases <n>', 'held-out cases (whole days of 4 on real data)', intArg('--cases', 1, 1000), 8)
    .option(
      '--members <n>',
      'ensemble members per latent analysis (their mean is scored)',
      intArg('--members', 1, 64),
      1,
    )
    .option('--steps <n>', 'sampler predictor steps', intArg('--steps', 1, 4096), 64)
    .option('--corrections <n>', 'Langevin corrections per step', intArg('--corrections', 0, 16), 1)
    .option(
      '--zeta <z>',
      'DPS step scale (default: tuned on held-out alignment-period cases)',
      numArg('--zeta', 0, 100, true),
    )
    .option(
      '--blend <w>',
      'Repaint blend weight (default: tuned on held-out alignment-period cases)',
      numArg('--blend', 0, 1, true),
    )
    .option(
      '--length-scale-km <km>',
      "3D-Var's correlation length scale (default: tuned on the same cases)",
      numArg('--length-scale-km', 0, 20000, true),
    )
    .option(
      '--sample-seed <n>',
      'seed of case picks, observations and sampler noise',
      intArg('--sample-seed', 0, 2 ** 31 - 1),
      7,
    )
    .option('--out <dir>', 'output folder (default: <ALIGNDA_HOME>/eval/<source>-<preset>)')
    .action(async (opts: EvalRunOptions) => {
      await runEval(opts);
    });
}

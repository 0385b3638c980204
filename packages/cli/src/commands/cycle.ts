import {
  CYCLE_FORECASTS,
  CYCLE_LATENT_PRIORS,
  CYCLE_METHODS,
  DEFAULT_CYCLE_METHODS,
  DEFAULT_OBS_FRACTION,
  PRESETS,
} from '@alignda/pipelines';
import { Option } from 'commander';
import type { Command } from 'commander';

import { intArg, numArg, positiveArg } from '../args.js';
import { runCycleCommand } from '../run/cycle-run.js';
import type { CycleRunOptions } from '../run/cycle-run.js';

/**
 * Registers `alignda cycle`: cycled assimilation on a QG nature run never trained on, or on a dataset's test period (packages/pipelines
 * `runCycle`): each method carries its own analysis through `--cycles` analyses `--interval` hours apart, B and the
 * tuning from the training run. Prints a table per method, writes cycle.json and a PNG of RMSE per cycle, and keeps
 * a resumable state in the output folder.
 */
export function registerCycleCommand(program: Command): void {
  program
    .command('cycle')
    .description('cycled assimilation (3D-Var, balanced 3D-Var, LETKF; DPS/ObsFree with trained models)')
    .addOption(new Option('--world <world>', 'synthetic world').choices(['qg']).default('qg'))
    .option(
      '--dataset <name>',
      'a registered dataset instead of the world: B and tuning from its train and alignment periods, scored on its test period, emulator backgrounds',
    )
    .option('--seed <n>', 'seed of the scored nature run (never trained on)', intArg('--seed', 0), 2)
    .option(
      '--years <y>',
      'length of the scored nature run (default: just long enough for the cycles and the skill forecasts)',
      positiveArg,
    )
    .option(
      '--train-seed <n>',
      'seed of the training nature run (B and tuning)',
      intArg('--train-seed', 0),
      1,
    )
    .addOption(
      new Option('--preset <preset>', 'model preset: training-run length and model folder')
        .choices(PRESETS)
        .default('small'),
    )
    .option(
      '--methods <list>',
      `comma-separated methods (${CYCLE_METHODS.join(', ')})`,
      DEFAULT_CYCLE_METHODS.join(','),
    )
    .option('--cycles <n>', 'analysis cycles', intArg('--cycles', 1), 120)
    .option(
      '--interval <hours>',
      "hours between analyses, a multiple of the source's step (default: 6 on the world, one step on a dataset)",
      intArg('--interval', 1),
    )
    .addOption(
      new Option(
        '--forecast <model>',
        'forecast model of the backgrounds (default: model on the world, emulator on a dataset)',
      ).choices(CYCLE_FORECASTS),
    )
    .option('--members <n>', 'ensemble size of the LETKF and hybrid EnVar', intArg('--members', 2, 256), 16)
    .option(
      '--latent-members <n>',
      'members per latent analysis (their mean is carried)',
      intArg('--latent-members', 1, 64),
      4,
    )
    .addOption(
      new Option(
        '--latent-prior <prior>',
        'prior of the latent methods; reuse-48h reuses the 48 h score network at the cycle interval (required for dps/obsfree)',
      ).choices(CYCLE_LATENT_PRIORS),
    )
    .option('--model-dir <dir>', 'model folder (default: <ALIGNDA_HOME>/models/qg-<preset>-<forecast>)')
    .option(
      '--obs-fraction <f>',
      'share of single values observed each cycle',
      numArg('--obs-fraction', 0, 1, true),
      DEFAULT_OBS_FRACTION,
    )
    .option(
      '--noise <sigma>',
      'observation noise std, normalised units',
      numArg('--noise', 0, 10, true),
      0.02,
    )
    .option(
      '--skill-every <k>',
      'lead-time forecasts every k cycles (0: none)',
      intArg('--skill-every', 0),
      12,
    )
    .option('--sample-seed <n>', 'seed of every random draw', intArg('--sample-seed', 0, 2 ** 31 - 1), 7)
    .option(
      '--tuning <json>',
      'tuning grids and setup sizes as JSON, as POST /v1/cycles takes them, e.g. \'{"lengthScalesKm":[1000],"tuneCycles":4}\'',
    )
    .option('--resume', 'continue the state kept in the output folder', false)
    .option('--out <dir>', 'output folder (default: <ALIGNDA_HOME>/cycle/qg-s<seed>)')
    .action(async (opts: CycleRunOptions) => {
      await runCycleCommand(opts);
    });
}

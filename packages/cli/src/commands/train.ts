import { availableParallelism } from 'node:os';

import { BACKGROUND_KINDS, PRESETS } from '@alignda/pipelines';
import { Option } from 'commander';
import type { Command } from 'commander';

import { intArg } from '../args.js';
import { runTrain } from '../run/train-run.js';
import type { TrainRunOptions } from '../run/train-run.js';
import { addSourceOptions } from '../source-options.js';

/**
 * Registers `alignda train`: trains the VAE, the forecast emulator and the background-conditioned score network
 * of a preset on a source's train period, with progress bars and resumable checkpoints under `--out`, and prints
 * held-out skill (packages/pipelines `trainLatentModels`).
 */
export function registerTrainCommand(program: Command): void {
  const cmd = program
    .command('train')
    .description(
      'train the VAE, the forecast emulator and the score network (resumes from the last checkpoint)',
    );
  addSourceOptions(cmd)
    .addOption(new Option('--preset <preset>', 'model and run size').choices(PRESETS).default('ci'))
    .addOption(
      new Option('--model <model>', 'which model')
        .choices(['vae', 'emulator', 'score', 'all'])
        .default('all'),
    )
    .addOption(
      new Option(
        '--background <kind>',
        'backgrounds the score network learns from (default: model on the qg world, emulator on a dataset)',
      ).choices(BACKGROUND_KINDS),
    )
    .option('--steps <n>', "optimiser steps per model (default: the preset's)", intArg('--steps', 1))
    .option(
      '--out <dir>',
      'checkpoint folder (default: <ALIGNDA_HOME>/models/<source>-<preset>-<background>)',
    )
    .option(
      '--jobs <n>',
      'processes for --model all: 2 trains the emulator beside the VAE (default: 2 on a multi-core machine)',
      intArg('--jobs', 1),
      Math.min(2, availableParallelism()),
    )
    .action(async (opts: TrainRunOptions) => {
      await runTrain(opts);
    });
}

import { BACKGROUND_KINDS, JOB_METHODS, MAX_JOB_MEMBERS, MAX_JOB_STEPS, PRESETS } from '@alignda/pipelines';
import { Option } from 'commander';
import type { Command } from 'commander';

import { intArg, numArg, positiveArg } from '../args.js';
import { runAssimilateFromJob } from '../run/assimilate-from-job.js';
import { runAssimilate } from '../run/assimilate-run.js';
import type { AssimilateRunOptions } from '../run/assimilate-run.js';

/**
 * Registers `alignda assimilate`: one assimilation job (packages/pipelines `runAssimilationJob`, the single-process
 * reference of `POST /v1/assimilations`) at one valid time, from the observations of a JSON file, with trained
 * models from `alignda train`. Writes the analysis as netCDF (mean, spread and members, background) and prints
 * O-B / O-A and the seconds taken. With `--from-job <id>` it re-runs a platform job's request (its Job row in the
 * registry) and says whether the models are the job's and the analysis equals the stored one; the exit status is 1
 * when the models are the job's and the analysis differs.
 */
export function registerAssimilateCommand(program: Command): void {
  program
    .command('assimilate')
    .description('one analysis at one time from an observations file, written as netCDF')
    .addOption(
      new Option('--world <world>', 'synthetic world (default: qg, unless --dataset)').choices(['qg']),
    )
    .option('--dataset <name>', 'a registered real dataset instead of the synthetic world, e.g. ncep-air')
    .option('--nature-seed <n>', 'nature-run seed (synthetic world)', intArg('--nature-seed', 0), 1)
    .option(
      '--years <y>',
      'simulated years of the nature run (default: 0.5 for ci, 1 for small, 4 for full)',
      positiveArg,
    )
    .addOption(new Option('--preset <preset>', 'which trained models').choices(PRESETS).default('ci'))
    .option(
      '--model-dir <dir>',
      'model folder (default: <ALIGNDA_HOME>/models/<source>-<preset>-<background>)',
    )
    .addOption(
      new Option(
        '--background <kind>',
        '48 h backgrounds from the physical model or the emulator (default: model on the qg world, emulator on a dataset)',
      ).choices(BACKGROUND_KINDS),
    )
    .option('--time <iso>', 'the analysis time, ISO 8601 UTC, e.g. 2001-01-23T00:00Z')
    .option(
      '--obs <file>',
      'JSON: {"cells": [...]} or {"points": [...]} (the request\'s observations), or a whole request body',
    )
    .option(
      '--from-job <id>',
      "re-run this platform job's request (its Job row in the registry) and compare with its stored analysis",
    )
    .option(
      '--stored <file>',
      "with --from-job: a copy of the job's analysis to compare with (default: the stored file under ALIGNDA_HOME)",
    )
    .addOption(new Option('--method <method>', 'analysis method').choices(JOB_METHODS).default('dps'))
    .option('--members <n>', 'ensemble members (latent methods)', intArg('--members', 1, MAX_JOB_MEMBERS), 1)
    .option('--steps <n>', 'sampler predictor steps', intArg('--steps', 1, MAX_JOB_STEPS), 64)
    .option('--seed <n>', 'sampler seed', intArg('--seed', 0, 0xffff_ffff), 0)
    .option('--corrections <n>', 'Langevin corrections per step', intArg('--corrections', 0, 16))
    .option('--zeta <z>', "DPS step scale (default: packages/da's 0.2)", numArg('--zeta', 0, 100, true))
    .option('--blend <w>', "Repaint blend weight (default: packages/da's 1)", numArg('--blend', 0, 1, true))
    .option(
      '--length-scale-km <km>',
      "3D-Var's correlation length scale (default: 500)",
      numArg('--length-scale-km', 0, 20000, true),
    )
    .option('--out <file>', 'netCDF file (default: <ALIGNDA_HOME>/assimilate/<source>-<time>-<method>.nc)')
    .action(async (opts: AssimilateRunOptions, cmd: Command) => {
      // Flags typed on the command line override the fields of a whole request body; defaults do not.
      const given = new Set(
        cmd.options.map((o) => o.attributeName()).filter((k) => cmd.getOptionValueSource(k) === 'cli'),
      );
      if (opts.fromJob === undefined) {
        await runAssimilate(opts, given);
        return;
      }
      const outcome = await runAssimilateFromJob({ ...opts, fromJob: opts.fromJob }, given);
      // Like diff: 1 when the same models gave another analysis.
      if (outcome.modelsMatch === true && outcome.reproduced === false) process.exitCode = 1;
    });
}

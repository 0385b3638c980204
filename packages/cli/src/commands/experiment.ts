import { PREFERENCE_SET_NAMES, PRESETS } from '@alignda/pipelines';
import type { BackgroundKind, ObsLayout } from '@alignda/pipelines';
import { Command, Option } from 'commander';

import { intArg, listArg } from '../args.js';
import { runAlign } from '../run/align-run.js';
import { runEval } from '../run/eval-run.js';
import { runAlignExperiment } from '../run/experiment-run.js';
import type { AlignExperimentOptions, StageDefaults } from '../run/experiment-run.js';
import { runTrain } from '../run/train-run.js';
import { addSourceOptions } from '../source-options.js';
import { registerAlignCommand } from './align.js';
import { registerEvalCommand } from './eval.js';
import { registerTrainCommand } from './train.js';

/** The option values a plain `alignda <name>` gets before parsing (commander's defaults of that command). */
function commandDefaults(register: (p: Command) => void, name: string): Record<string, unknown> {
  const program = new Command();
  register(program);
  return program.commands.find((c) => c.name() === name)?.opts() ?? {};
}

/**
 * The stage options the experiment does not set: those of a plain `alignda train`, `align` and `eval`, read from
 * their commands so that a stage runs exactly as the command would.
 */
function stageDefaults(): StageDefaults {
  const t = commandDefaults(registerTrainCommand, 'train');
  const a = commandDefaults(registerAlignCommand, 'align');
  const e = commandDefaults(registerEvalCommand, 'eval');
  return {
    train: { jobs: t.jobs as number },
    align: {
      candidates: a.candidates as number,
      conditions: a.conditions as number,
      steps: a.steps as number,
      pairSeed: a.pairSeed as number,
    },
    eval: {
      obsLayout: e.obsLayout as ObsLayout,
      obsFraction: e.obsFraction as number,
      noise: e.noise as number,
      ensembleMembers: e.ensembleMembers as number,
      steps: e.steps as number,
      corrections: e.corrections as number,
      sampleSeed: e.sampleSeed as number,
      ...(e.background === undefined ? {} : { background: e.background as BackgroundKind }),
    },
  };
}

/**
 * Registers `alignda experiment align`: the alignment experiment of issue 12 (train the reference, align P, M and
 * 4, evaluate them beside it) as resumable stages cached by the hash of their inputs under
 * `<ALIGNDA_HOME>/experiments/align-<source>-<preset>/`, with a plan, an ETA per stage and a summary.json.
 */
export function registerExperimentCommand(program: Command): void {
  const experiment = program
    .command('experiment')
    .description('multi-stage experiments, resumable: each stage is cached by the hash of its inputs');
  const cmd = experiment
    .command('align')
    .description(
      'train the reference, align P, M and 4, and evaluate them beside it (stages: train, align-<set>, eval)',
    );
  addSourceOptions(cmd)
    .addOption(new Option('--preset <preset>', 'model and run size').choices(PRESETS).default('small'))
    .option(
      '--sets <list>',
      `preference sets to align and evaluate, comma-separated (${PREFERENCE_SET_NAMES.join(', ')})`,
      listArg('--sets', PREFERENCE_SET_NAMES),
      [...PREFERENCE_SET_NAMES],
    )
    .option('--cases <n>', 'held-out cases of the evaluation', intArg('--cases', 1, 1000), 64)
    .option('--seeds <n>', 'sampler seeds per case', intArg('--seeds', 1, 64), 3)
    .option('--members <n>', 'ensemble members per latent analysis', intArg('--members', 1, 64), 8)
    .option(
      '--stage <name>',
      'run only this stage (train, align-<set>, eval); refused while a stage it needs is not done',
    )
    .option('--dry-run', 'print the plan and exit')
    .action(async (opts: AlignExperimentOptions) => {
      await runAlignExperiment(opts, stageDefaults(), { train: runTrain, align: runAlign, eval: runEval });
    });
}

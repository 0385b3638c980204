import { BACKGROUND_KINDS, PRESETS } from '@alignda/pipelines';
import { Option } from 'commander';
import type { Command } from 'commander';

import { intArg } from '../args.js';
import { runUp } from '../run/up-run.js';
import type { UpRunOptions } from '../run/up-run.js';

/**
 * Registers `alignda up`: the whole platform on this machine (ingest, encoder, sampler, forecast, reward,
 * orchestrator, gateway), each service a child process, wired together, until Ctrl-C.
 */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('start every service of the platform as child processes and print the gateway URL')
    .addOption(new Option('--world <world>', "synthetic world (default: the models' source)").choices(['qg']))
    .option('--dataset <name>', 'a registered real dataset instead of the synthetic world, e.g. ncep-air')
    .addOption(new Option('--preset <preset>', 'which trained models').choices(PRESETS).default('ci'))
    .option(
      '--model-dir <dir>',
      'model folder (default: <ALIGNDA_HOME>/models/<source>-<preset>-<background>)',
    )
    .addOption(
      new Option(
        '--background <kind>',
        "the background kind in the default model folder's name (default: model on the qg world, emulator on a dataset)",
      ).choices(BACKGROUND_KINDS),
    )
    .option(
      '--http-port <n>',
      "the gateway's port, 0 for a free one (default: HTTP_PORT, else 8080)",
      intArg('--http-port', 0, 65535),
    )
    .option(
      '--grpc-port-base <n>',
      'gRPC ports n..n+5 for ingest, encoder, sampler, forecast, reward, orchestrator (default: free ports)',
      intArg('--grpc-port-base', 1, 65530),
    )
    .option(
      '--samplers <n>',
      'sampler replicas, each taking jobs from the sample queue (extra replicas get gRPC ports after the others)',
      intArg('--samplers', 1, 64),
      1,
    )
    .option(
      '--start-timeout <s>',
      'seconds the services may take to become healthy',
      intArg('--start-timeout', 1),
      300,
    )
    .option('--logs-dir <dir>', "folder of the services' log files (default: <ALIGNDA_HOME>/logs/up)")
    .action(async (opts: Omit<UpRunOptions, 'startTimeoutS'> & { startTimeout: number }) => {
      const { startTimeout, ...rest } = opts;
      await runUp({ ...rest, startTimeoutS: startTimeout });
    });
}

import type { Command } from 'commander';

import { SERVICE_NAMES } from '../run/supervisor.js';
import { runServe } from '../run/serve-run.js';

/**
 * Registers `alignda serve <service> [args...]`: one service of the platform in the foreground (as `alignda up` starts
 * it), with its own flags after the name, e.g. `alignda serve encoder --model-dir .alignda/models/qg-ci-model`.
 */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(`run one service in the foreground: ${SERVICE_NAMES.join(', ')}`)
    .argument('<service>', `the service: ${SERVICE_NAMES.join(', ')}`)
    .argument('[args...]', "the service's own flags (after --), e.g. -- --model-dir <dir> --port 50051")
    .allowUnknownOption()
    .action(async (service: string, args: string[]) => {
      process.exitCode = await runServe(service, args);
    });
}

import { Command } from 'commander';
import { registerAlignCommand } from './commands/align.js';
import { registerAssimilateCommand } from './commands/assimilate.js';
import { registerCheckCommand } from './commands/check.js';
import { registerCycleCommand } from './commands/cycle.js';
import { registerDatasetCommand } from './commands/dataset.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerExperimentCommand } from './commands/experiment.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerL96Command } from './commands/l96.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTrainCommand } from './commands/train.js';
import { registerUpCommand } from './commands/up.js';
import { registerWorldCommand } from './commands/world.js';

/**
 * Builds the `alignda` command tree. Each command lives in its own file under `commands/` and is
 * registered here; `main.ts` only parses argv and turns errors into one clear line.
 */
export function buildProgram(): Command {
  const program = new Command('alignda')
    .description('alignda: score-based atmospheric data assimilation in a learned latent space')
    .showHelpAfterError()
    // Usage errors throw a CommanderError (main.ts exits 64) instead of exiting; subcommands inherit it.
    .exitOverride();
  registerDemoCommand(program);
  registerCheckCommand(program);
  registerKeysCommand(program);
  registerWorldCommand(program);
  registerDatasetCommand(program);
  registerTrainCommand(program);
  registerEvalCommand(program);
  registerL96Command(program);
  registerCycleCommand(program);
  registerAlignCommand(program);
  registerAssimilateCommand(program);
  registerUpCommand(program);
  registerServeCommand(program);
  registerExperimentCommand(program);
  return program;
}

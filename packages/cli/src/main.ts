import { formatStartupError } from '@alignda/config';
import { ExitStatus, exitStatusOf } from '@alignda/errors';
import { CommanderError } from 'commander';

import { buildProgram } from './program.js';

// Process wiring only: parse argv, run, and turn any failure into one line (no stack trace unless ALIGNDA_DEBUG is
// set) with the exit status of its error code (sysexits, packages/errors). Commander has printed its own usage
// errors already; they exit 64 (EX_USAGE), help and version 0.
try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : ExitStatus.USAGE;
  } else {
    if (process.env.ALIGNDA_DEBUG) console.error(err);
    console.error(`alignda: ${formatStartupError(err)}`);
    process.exitCode = exitStatusOf(err);
  }
}

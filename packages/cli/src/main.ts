import { formatStartupError } from '@alignda/config';
import { buildProgram } from './program.js';

// Process wiring only: parse argv, run, and turn any failure into one line (no stack trace unless
// ALIGNDA_DEBUG is set) with a non-zero exit code.
try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (process.env.ALIGNDA_DEBUG) console.error(err);
  console.error(`alignda: ${formatStartupError(err)}`);
  process.exitCode = 1;
}

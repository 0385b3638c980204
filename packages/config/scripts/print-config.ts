/**
 * Prints the configuration this environment gives, as JSON with passwords redacted, or the single
 * startup error line (exit status 1) when a variable is invalid. The same start-up path every
 * main.ts follows: loadConfig() -> formatStartupError() on failure, never a stack trace.
 * Usage: tsx packages/config/scripts/print-config.ts
 */
import { redactUrl } from '@alignda/log';
import { formatStartupError, loadConfig } from '../src/config.js';

try {
  const config = loadConfig();
  console.log(
    JSON.stringify(
      { ...config, databaseUrl: redactUrl(config.databaseUrl), redisUrl: redactUrl(config.redisUrl) },
      null,
      2,
    ),
  );
} catch (err) {
  console.error(formatStartupError(err));
  process.exitCode = 1;
}

/**
 * The ingest service process: configuration, logger, the dataset's source, listen, and a graceful drain on SIGTERM.
 * `node --import tsx services/ingest/src/main.ts --dataset ncep-air [--port 50055]` (or `--world qg`).
 */
import { formatStartupError, loadConfig } from '@alignda/config';
import { exitStatusOf } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import { drainOnSignals, parseServiceArgs, serviceSourceChoice } from '@alignda/rpc';
import { openSource } from '@alignda/world';

import { INGEST_PORT, buildApp } from './app.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const args = parseServiceArgs(process.argv.slice(2), process.env, { defaultPort: INGEST_PORT });
  const log = createLogger({ service: 'ingest', level: config.logLevel });
  const source = await openSource(config, serviceSourceChoice(args));
  const app = buildApp({ dataset: source, log });
  const service = await app.listen({ host: args.host, port: args.port });
  drainOnSignals(service, { log, graceMs: args.drainGraceMs });
  log.info({ address: service.address, dataset: source.name, store: 'memory' }, 'serving');
}

main().catch((err: unknown) => {
  console.error(formatStartupError(err));
  process.exit(exitStatusOf(err));
});

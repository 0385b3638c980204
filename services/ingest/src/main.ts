/**
 * The ingest service process: configuration, logger, the dataset's source, the registry (batches are ObservationBatch
 * rows with their files in the blob store, so a restart forgets none), listen, and a graceful drain on SIGTERM.
 * `node --import tsx services/ingest/src/main.ts --dataset ncep-air [--port 50055]` (or `--world qg`).
 */
import { formatStartupError, loadConfig } from '@alignda/config';
import { ensureDatasetRow, openDatabase } from '@alignda/db';
import { exitStatusOf } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import { drainOnSignals, parseServiceArgs, serviceSourceChoice } from '@alignda/rpc';
import { openSource } from '@alignda/world';

import { dbBatchStore } from './adapters/db-batch-store.js';
import { INGEST_PORT, buildApp } from './app.js';
import { qcSummary } from './handlers.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const args = parseServiceArgs(process.argv.slice(2), process.env, { defaultPort: INGEST_PORT });
  const log = createLogger({ service: 'ingest', level: config.logLevel });
  const source = await openSource(config, serviceSourceChoice(args));
  const db = await openDatabase(config);
  const descriptor =
    source.dataset !== undefined
      ? source.dataset.descriptor
      : { world: source.name, title: source.title, channels: source.channels, units: source.units };
  const store = dbBatchStore({
    db,
    homeDir: config.homeDir,
    datasetRowId: (name) =>
      ensureDatasetRow(db, { name, kind: source.kind === 'world' ? source.name : 'dataset', descriptor }),
    summary: (batch) => qcSummary(batch.qcFlags),
  });
  const app = buildApp({ dataset: source, store, log });
  const service = await app.listen({ host: args.host, port: args.port });
  drainOnSignals(service, {
    log,
    graceMs: args.drainGraceMs,
    exit: (code) => void db.$disconnect().finally(() => process.exit(code)),
  });
  log.info({ address: service.address, dataset: source.name, store: 'registry' }, 'serving');
}

main().catch((err: unknown) => {
  console.error(formatStartupError(err));
  process.exit(exitStatusOf(err));
});

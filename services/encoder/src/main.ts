/**
 * The encoder service process: configuration, logger, the model folder and its source's field layout, listen, and a
 * graceful drain on SIGTERM. `node --import tsx services/encoder/src/main.ts --model-dir <dir> [--port 50051]`.
 */
import { formatStartupError, loadConfig } from '@alignda/config';
import { AppError, exitStatusOf } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import { fileModelStore } from '@alignda/nn';
import { drainOnSignals, parseServiceArgs, serviceSourceChoice } from '@alignda/rpc';
import { openSource } from '@alignda/world';

import { ENCODER_PORT, buildApp } from './app.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const args = parseServiceArgs(process.argv.slice(2), process.env, {
    defaultPort: ENCODER_PORT,
    requireModelDir: true,
  });
  const log = createLogger({ service: 'encoder', level: config.logLevel });
  if (args.modelDir === undefined) throw new AppError('CONFIG_INVALID', 'no model folder');
  const store = fileModelStore(args.modelDir);
  const models = await store.loadAll();
  const manifest = await store.readManifest();
  const source = await openSource(config, serviceSourceChoice(args, manifest?.source));
  const app = await buildApp({
    models,
    layout: source,
    modelVersion: args.modelVersion,
    autoencoderSha256: await store.autoencoderSha256(),
    log,
    executionProvider: config.executionProvider,
    intraOpThreads: config.intraOpThreads,
  });
  const service = await app.listen({ host: args.host, port: args.port });
  drainOnSignals(service, { log, graceMs: args.drainGraceMs });
  log.info(
    {
      address: service.address,
      modelDir: args.modelDir,
      modelVersion: args.modelVersion,
      source: source.name,
      executionProvider: app.executionProvider,
    },
    'serving',
  );
}

main().catch((err: unknown) => {
  console.error(formatStartupError(err));
  process.exit(exitStatusOf(err));
});

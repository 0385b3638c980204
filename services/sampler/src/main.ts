/**
 * The sampler service process: configuration, logger, the model folder and its source, listen, a worker on the
 * `sample` queue (unless ALIGNDA_SAMPLER_QUEUE=off) with its `alignda:cancel` subscription, and a graceful drain on
 * SIGTERM (the running sample job gets the drain grace to finish, then goes back to the queue).
 * `node --import tsx services/sampler/src/main.ts --model-dir <dir> [--port 50052]`;
 * ALIGNDA_EXECUTION_PROVIDER picks cpu, cuda or auto (CUDA when available). Run as many replicas as you like: each
 * takes sample jobs from the one queue.
 */
import { Redis } from 'ioredis';
import { formatStartupError, loadConfig } from '@alignda/config';
import { AppError, exitStatusOf } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import { fileModelStore } from '@alignda/nn';
import { CANCEL_CHANNEL, probeRedis } from '@alignda/queue';
import { drainOnSignals, parseServiceArgs, serviceSourceChoice } from '@alignda/rpc';
import { openSource } from '@alignda/world';

import { SAMPLER_PORT, buildApp } from './app.js';
import type { SampleWorker } from './sample-worker.js';
import { loadSamplerEnv } from './settings.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const args = parseServiceArgs(process.argv.slice(2), process.env, {
    defaultPort: SAMPLER_PORT,
    requireModelDir: true,
  });
  const env = loadSamplerEnv(process.env);
  const log = createLogger({ service: 'sampler', level: config.logLevel });
  if (args.modelDir === undefined) throw new AppError('CONFIG_INVALID', 'no model folder');
  if (env.queue) await probeRedis(config.redisUrl, config.startupProbeTimeoutMs);
  const store = fileModelStore(args.modelDir);
  const models = await store.loadAll();
  const manifest = await store.readManifest();
  const source = await openSource(config, serviceSourceChoice(args, manifest?.source));
  const app = await buildApp({
    models,
    source,
    modelVersion: args.modelVersion,
    autoencoderSha256: await store.autoencoderSha256(),
    ...(manifest?.autoencoderSha256 === undefined
      ? {}
      : { pinnedAutoencoderSha256: manifest.autoencoderSha256 }),
    log,
    executionProvider: config.executionProvider,
    intraOpThreads: config.intraOpThreads,
  });
  let worker: SampleWorker | undefined;
  let stopWorker: Promise<void> = Promise.resolve();
  if (env.queue) {
    // BullMQ needs maxRetriesPerRequest: null on its connection; a subscriber connection can do nothing else.
    const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
    const subscriber = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
    for (const client of [connection, subscriber])
      client.on('error', (err: unknown) => log.warn({ err }, 'redis connection error'));
    const w = app.sampleWorker({ connection, logger: log, settings: env.worker });
    worker = w;
    subscriber.on('message', (channel: string, jobId: string) => {
      if (channel === CANCEL_CHANNEL && w.cancel(jobId)) log.info({ jobId }, 'cancel requested');
    });
    await subscriber.subscribe(CANCEL_CHANNEL);
    await w.run();
    const stop = (): void => {
      stopWorker = w
        .close(args.drainGraceMs)
        .catch((err: unknown) => log.warn({ err }, 'sample worker did not close cleanly'))
        .finally(() => {
          subscriber.disconnect();
          connection.disconnect();
        });
    };
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, stop);
  }
  const service = await app.listen({ host: args.host, port: args.port });
  // The process ends once the gRPC calls have drained and the sample job in hand is finished or requeued.
  drainOnSignals(service, {
    log,
    graceMs: args.drainGraceMs,
    exit: (code) => void stopWorker.finally(() => process.exit(code)),
  });
  log.info(
    {
      address: service.address,
      modelDir: args.modelDir,
      modelVersion: args.modelVersion,
      source: source.name,
      executionProvider: app.executionProvider,
      sampleQueue: worker === undefined ? 'off' : { replica: worker.name, ...env.worker },
    },
    'serving',
  );
}

main().catch((err: unknown) => {
  console.error(formatStartupError(err));
  process.exit(exitStatusOf(err));
});

/**
 * The orchestrator process: configuration, logger, the registry, the model folder and its source, gRPC clients of the
 * five services, the BullMQ worker, the `alignda:cancel` subscription, a grpc.health.v1 endpoint (SERVING once the
 * worker takes jobs) and a graceful stop on SIGTERM / SIGINT (running jobs get ALIGNDA_DRAIN_GRACE_MS to finish, then
 * go back to the queue).
 * `node --import tsx services/orchestrator/src/main.ts --model-dir <dir> [--port 50056]`, with the services at
 * ALIGNDA_{INGEST,ENCODER,SAMPLER,FORECAST,REWARD}_ADDRESS and Redis at REDIS_URL. The sampling step goes through the
 * `sample` queue to whichever sampler replica takes it (ALIGNDA_SAMPLER_TRANSPORT=grpc calls the one at
 * ALIGNDA_SAMPLER_ADDRESS instead).
 */
import { Redis } from 'ioredis';
import { formatStartupError, loadConfig } from '@alignda/config';
import { openDatabase } from '@alignda/db';
import { AppError, exitStatusOf } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import { createLatentSessions, fileModelStore, platformProvenance } from '@alignda/nn';
import type { LatentSessions } from '@alignda/nn';
import { LEAD_STEPS, defaultBackground } from '@alignda/pipelines';
import type { BackgroundKind } from '@alignda/pipelines';
import { probeRedis } from '@alignda/queue';
import { parseServiceArgs, serviceSourceChoice, startGrpcService, stopOnSignals } from '@alignda/rpc';
import { openSource } from '@alignda/world';

import { grpcServicePorts } from './adapters/grpc-services.js';
import { sampleQueueSampler } from './adapters/sample-queue.js';
import { CANCEL_CHANNEL, buildOrchestrator } from './app.js';
import { ORCHESTRATOR_PORT, loadOrchestratorEnv } from './settings.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const args = parseServiceArgs(process.argv.slice(2), process.env, {
    defaultPort: ORCHESTRATOR_PORT,
    requireModelDir: true,
  });
  const env = loadOrchestratorEnv(process.env);
  const logger = createLogger({ service: 'orchestrator', level: config.logLevel });
  if (args.modelDir === undefined) throw new AppError('CONFIG_INVALID', 'no model folder');
  await probeRedis(config.redisUrl, config.startupProbeTimeoutMs);
  const store = fileModelStore(args.modelDir);
  const models = await store.loadAll();
  const manifest = await store.readManifest();
  const source = await openSource(config, serviceSourceChoice(args, manifest?.source));
  const db = await openDatabase(config);
  const background = defaultBackground(source);
  let sessions: Promise<LatentSessions> | undefined;
  // Recorded with every Analysis row: the code, the runtime and the model files' hashes (read once, here; a failure
  // surfaces at the first store, not as an unhandled rejection now).
  const provenance = platformProvenance({
    modelDir: args.modelDir,
    modelVersion: args.modelVersion,
    executionProvider: config.executionProvider,
  });
  provenance.catch(() => undefined);
  const grpc = grpcServicePorts(env.addresses);
  // BullMQ needs maxRetriesPerRequest: null on its connection; a subscriber connection can do nothing else, and
  // the sample queue's events stream blocks its own.
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const subscriber = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const eventsConnection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  for (const client of [connection, subscriber, eventsConnection])
    client.on('error', (err: unknown) => logger.warn({ err }, 'redis connection error'));
  const sampleQueue =
    env.samplerTransport === 'queue'
      ? sampleQueueSampler({ connection, eventsConnection, logger })
      : undefined;
  await sampleQueue?.ready();
  const services = sampleQueue === undefined ? grpc : { ...grpc, sampler: sampleQueue.sampler };

  const orchestrator = buildOrchestrator({
    services,
    db,
    source,
    norm: models.vae.norm,
    background,
    ...(manifest === undefined ? {} : { modelBackground: manifest.background as BackgroundKind }),
    emulatorSessions: () =>
      (sessions ??= createLatentSessions(models, 1, {
        leadSteps: LEAD_STEPS,
        runtime: { executionProvider: config.executionProvider, intraOpNumThreads: config.intraOpThreads },
      })),
    modelVersion: args.modelVersion,
    provenance,
    homeDir: config.homeDir,
    connection,
    logger,
    settings: env.worker,
  });
  subscriber.on('message', (channel: string, jobId: string) => {
    if (channel === CANCEL_CHANNEL && orchestrator.cancel(jobId)) logger.info({ jobId }, 'cancel requested');
  });
  await subscriber.subscribe(CANCEL_CHANNEL);
  await orchestrator.run();
  const health = await startGrpcService([], { host: args.host, port: args.port });
  health.setServing();
  logger.info(
    {
      address: health.address,
      modelDir: args.modelDir,
      modelVersion: args.modelVersion,
      source: source.name,
      background,
      services: env.addresses,
      samplerTransport: env.samplerTransport,
      worker: env.worker,
    },
    'serving',
  );

  const stop = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'orchestrator stopping');
    health.setNotServing();
    await orchestrator.close(args.drainGraceMs);
    await subscriber.quit().catch(() => undefined);
    await sampleQueue
      ?.close()
      .catch((err: unknown) => logger.warn({ err }, 'sample queue not closed cleanly'));
    connection.disconnect();
    eventsConnection.disconnect();
    grpc.close();
    await db.$disconnect();
    health.running.server.forceShutdown();
    logger.info('orchestrator stopped');
  };
  stopOnSignals(stop, logger);
}

main().catch((err: unknown) => {
  console.error(`orchestrator: ${formatStartupError(err)}`);
  process.exit(exitStatusOf(err));
});

/**
 * The cycle service's process: configuration, logger, the registry, the `cycle` queue (to queue each next step),
 * the BullMQ worker, the reconciler, a grpc.health.v1 endpoint (SERVING once the worker takes steps) and a graceful
 * stop on SIGTERM / SIGINT (a running step gets ALIGNDA_DRAIN_GRACE_MS to finish; past that another replica runs it
 * again from the state kept after the previous step).
 * `node --import tsx services/cycler/src/main.ts [--port 50057]`, with Redis at REDIS_URL; the nature runs are
 * generated into ALIGNDA_DATA_DIR's cache and the cycles' states kept under ALIGNDA_HOME/cycles.
 */
import path from 'node:path';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { formatStartupError, loadConfig } from '@alignda/config';
import { openDatabase } from '@alignda/db';
import { exitStatusOf } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import { CYCLE_JOB_NAME, QueueName, cycleJobData, cycleStepJobId, probeRedis } from '@alignda/queue';
import { parseServiceArgs, startGrpcService, stopOnSignals } from '@alignda/rpc';

import { createZarrTimeStore, writeZarrTime } from '@alignda/world';

import { cycleInputs, cycleStore, reanalysisStoreDir } from './adapters/cycle-inputs.js';
import { buildCycler } from './app.js';
import { CYCLER_PORT, loadCyclerEnv } from './settings.js';

/** How often the running cycles are reconciled with the queue after the one at start, ms. */
const RECONCILE_INTERVAL_MS = 60_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const args = parseServiceArgs(process.argv.slice(2), process.env, { defaultPort: CYCLER_PORT });
  const env = loadCyclerEnv(process.env);
  const logger = createLogger({ service: 'cycler', level: config.logLevel });
  await probeRedis(config.redisUrl, config.startupProbeTimeoutMs);
  const db = await openDatabase(config);
  // BullMQ needs maxRetriesPerRequest: null on its connection.
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', (err: unknown) => logger.warn({ err }, 'redis connection error'));
  const queue = new Queue(QueueName.cycle, { connection });
  queue.on('error', (err: unknown) => logger.warn({ err }, 'queue error'));

  const cycler = buildCycler({
    db,
    connection,
    logger,
    settings: env.worker,
    enqueue: async (cycleId, step, correlationId, delayMs) => {
      await queue.add(CYCLE_JOB_NAME, cycleJobData(cycleId, step, correlationId), {
        jobId: cycleStepJobId(cycleId, step),
        delay: delayMs,
        attempts: env.worker.attempts ?? 5,
        backoff: { type: 'exponential', delay: 2000 },
      });
    },
    inputs: cycleInputs(config, path.join(config.homeDir, 'models')),
    homeDir: config.homeDir,
    store: (id) => cycleStore(config.homeDir, id),
    writeAnalysis: (id, spec, t, field) => {
      const dir = reanalysisStoreDir(config.homeDir, id);
      createZarrTimeStore(dir, spec);
      writeZarrTime(dir, t, field);
    },
  });
  await cycler.run();
  await cycler.reconcile();
  // Again every minute: a step whose queueing failed (Redis away at that moment) is not left waiting for a restart.
  const reconciling = setInterval(() => {
    cycler.reconcile(true).catch((err: unknown) => logger.warn({ err }, 'reconcile failed'));
  }, RECONCILE_INTERVAL_MS);
  const health = await startGrpcService([], { host: args.host, port: args.port });
  health.setServing();
  logger.info({ address: health.address, worker: env.worker }, 'serving');

  const stop = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'cycle service stopping');
    health.setNotServing();
    clearInterval(reconciling);
    await cycler.close(args.drainGraceMs);
    await queue.close().catch(() => undefined);
    connection.disconnect();
    await db.$disconnect();
    health.running.server.forceShutdown();
    logger.info('cycle service stopped');
  };
  stopOnSignals(stop, logger);
}

main().catch((err: unknown) => {
  console.error(`cycler: ${formatStartupError(err)}`);
  process.exit(exitStatusOf(err));
});

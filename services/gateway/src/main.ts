// Process wiring only: configuration, connections, listen, shutdown. Everything else is in app.ts.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { formatStartupError, loadConfig } from '@alignda/config';
import { openDatabase } from '@alignda/db';
import { createLogger } from '@alignda/log';
import { QueueName, probeRedis } from '@alignda/queue';
import { buildGateway, loadGatewayLimits } from './app.js';
import { startResultSweeper } from './results/result-sweeper.js';

try {
  const config = loadConfig();
  const limits = loadGatewayLimits();
  const logger = createLogger({ service: 'gateway', level: config.logLevel });
  await probeRedis(config.redisUrl, config.startupProbeTimeoutMs);
  const db = await openDatabase(config);
  // BullMQ needs maxRetriesPerRequest: null on its connection; the gateway bounds each call itself.
  const queueConnection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  const queue = new Queue(QueueName.assimilate, { connection: queueConnection });
  for (const client of [queueConnection, redis])
    client.on('error', (err: unknown) => logger.warn({ err }, 'redis connection error'));
  queue.on('error', (err: unknown) => logger.warn({ err }, 'queue error'));

  const app = await buildGateway({
    db,
    queue,
    redis,
    logger,
    limits,
    homeDir: config.homeDir,
    dataDir: config.dataDir,
    resultTtlHours: config.resultTtlHours,
  });
  await app.listen({ host: '0.0.0.0', port: config.httpPort });
  // Results past ALIGNDA_RESULT_TTL_HOURS are removed here: the gateway serves them, and sees the same ALIGNDA_HOME.
  const sweeper = startResultSweeper(
    { db, homeDir: config.homeDir, ttlHours: config.resultTtlHours, logger },
    limits.resultSweepIntervalMs,
  );

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'gateway stopping');
    await app.close(); // stops accepting, lets requests in flight finish
    await sweeper.stop();
    await queue.close();
    queueConnection.disconnect();
    redis.disconnect();
    await db.$disconnect();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      stop(signal).catch((err: unknown) => {
        logger.error({ err }, 'unclean shutdown');
        process.exitCode = 1;
      });
    });
} catch (err) {
  console.error(`gateway: ${formatStartupError(err)}`);
  process.exitCode = 1;
}

/**
 * The trainer's process: configuration, logger, the registry, the BullMQ workers on the `align` and `train` queues
 * (ALIGNDA_TRAINER_QUEUES, default both), a grpc.health.v1 endpoint (SERVING once the workers take jobs) and a
 * graceful stop on SIGTERM / SIGINT (a running stage gets ALIGNDA_DRAIN_GRACE_MS; DPO then writes its checkpoint and
 * the job goes back to the queue, resumed by the next trainer).
 * `node --import tsx services/trainer/src/main.ts [--port 50058]`, with Redis at REDIS_URL; model folders and the
 * runs' files under ALIGNDA_HOME.
 */
import { Redis } from 'ioredis';
import { formatStartupError, loadConfig } from '@alignda/config';
import { openDatabase } from '@alignda/db';
import { AppError, exitStatusOf } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import { probeRedis } from '@alignda/queue';
import { parseServiceArgs, startGrpcService, stopOnSignals } from '@alignda/rpc';

import { alignmentInputs } from './adapters/alignment-inputs.js';
import { buildTrainer } from './app.js';
import { TRAINER_PORT, loadTrainerEnv } from './settings.js';

/** ALIGNDA_TRAINER_QUEUES: `align,train` (default), `train` (a GPU replica) or `align`. */
function queuesOf(raw: string | undefined): ('align' | 'train')[] {
  const list = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (list.length === 0) return ['align', 'train'];
  const bad = list.filter((q) => q !== 'align' && q !== 'train');
  if (bad.length > 0)
    throw new AppError(
      'CONFIG_INVALID',
      `ALIGNDA_TRAINER_QUEUES=${JSON.stringify(raw)}: expected align, train or both`,
    );
  return list as ('align' | 'train')[];
}

async function main(): Promise<void> {
  const config = loadConfig();
  const args = parseServiceArgs(process.argv.slice(2), process.env, { defaultPort: TRAINER_PORT });
  const env = loadTrainerEnv(process.env);
  const queues = queuesOf(process.env.ALIGNDA_TRAINER_QUEUES);
  const logger = createLogger({ service: 'trainer', level: config.logLevel });
  await probeRedis(config.redisUrl, config.startupProbeTimeoutMs);
  const db = await openDatabase(config);
  // BullMQ needs maxRetriesPerRequest: null on its connection.
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', (err: unknown) => logger.warn({ err }, 'redis connection error'));

  const trainer = buildTrainer({
    db,
    connection,
    logger,
    homeDir: config.homeDir,
    inputs: alignmentInputs(config),
    queues,
    settings: env.worker,
  });
  await trainer.run();
  const health = await startGrpcService([], { host: args.host, port: args.port });
  health.setServing();
  logger.info({ address: health.address, queues, worker: env.worker }, 'serving');

  const stop = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'trainer stopping');
    health.setNotServing();
    await trainer.close(args.drainGraceMs);
    connection.disconnect();
    await db.$disconnect();
    health.running.server.forceShutdown();
    logger.info('trainer stopped');
  };
  stopOnSignals(stop, logger);
}

main().catch((err: unknown) => {
  console.error(`trainer: ${formatStartupError(err)}`);
  process.exit(exitStatusOf(err));
});

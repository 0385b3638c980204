import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Queue } from 'bullmq';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Db } from '@alignda/db';
import type { Logger } from '@alignda/log';
import type { GatewayLimits } from './limits.js';

/**
 * The Redis pub/sub channel on which the gateway announces cancellations of running jobs; the
 * message is the job id. The orchestrator and the sampler replica running the job abort it.
 */
export { CANCEL_CHANNEL } from '@alignda/queue';

/** What the gateway needs of a Redis connection besides its queue (an ioredis `Redis` satisfies it). */
export interface GatewayRedis {
  /** PUBLISH, for {@link CANCEL_CHANNEL}. */
  publish(channel: string, message: string): Promise<number>;
  /** PING, for /readyz. */
  ping(): Promise<string>;
}

/** Everything {@link buildGateway} is built from; the caller owns them and closes them. */
export interface GatewayDeps {
  /** The registry (jobs, API keys). */
  readonly db: Db;
  /** The BullMQ queue named `QueueName.assimilate` (any key prefix). */
  readonly queue: Queue;
  /** A Redis connection for cancellations and readiness. */
  readonly redis: GatewayRedis;
  /** The process logger; requests log through children bound to their correlation id. */
  readonly logger: Logger;
  /**
   * ALIGNDA_HOME (`config.homeDir`): the results are read from `<homeDir>/results/<jobId>/` only, never from any other
   * path a row might name.
   */
  readonly homeDir: string;
  /**
   * ALIGNDA_DATA_DIR (`config.dataDir`): the data root `/v1/datasets` registers datasets from; no path outside it is
   * ever read. @defaultValue `<cwd>/../shared/data`, as the config's
   */
  readonly dataDir?: string;
  /** ALIGNDA_RESULT_TTL_HOURS, for the 410 of an expired result to say how long results are kept. @defaultValue unsaid */
  readonly resultTtlHours?: number;
  /** Overrides of the defaults in `DEFAULT_LIMITS`. @defaultValue none */
  readonly limits?: Partial<GatewayLimits>;
}

/** The gateway's Fastify instance: zod schemas are its type provider. */
export type GatewayApp = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

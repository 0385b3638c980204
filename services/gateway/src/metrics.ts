/**
 * The gateway's Prometheus metrics, in a registry of its own (two gateways in one process, as in the
 * tests, never share or clash): request durations by route and status, the assimilate queue's depth by
 * state (read from Redis at each scrape), and prom-client's default process metrics.
 */
import type { FastifyInstance } from 'fastify';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '@alignda/log';
import { withTimeout } from './time.js';

/** What the queue-depth gauge needs of a BullMQ queue. */
export interface QueueCounts {
  readonly name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/** The queue states the depth gauge reports. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/** The metrics of one gateway instance. */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
}

/**
 * Creates the registry and its collectors, and the hook that times every response.
 * @param timeoutMs - how long a scrape waits for Redis before reporting the last known depth
 */
export function registerMetrics(
  app: FastifyInstance,
  queue: QueueCounts,
  logger: Logger,
  timeoutMs: number,
): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'alignda_gateway_' });
  const httpDuration = new Histogram({
    name: 'alignda_gateway_http_request_duration_seconds',
    help: 'HTTP request duration from arrival to the last byte sent, by route template and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    // 1 ms .. 10 s: from /healthz to a 10 MB submission.
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'alignda_queue_jobs',
    help: 'Jobs on a BullMQ queue by state, read from Redis at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      try {
        const counts = await withTimeout(queue.getJobCounts(...QUEUE_STATES), timeoutMs, 'queue depth');
        for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
      } catch (err) {
        // A scrape must still answer when Redis does not: the last values stay, the log says why.
        logger.warn({ err }, 'queue depth not read');
      }
    },
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route template, never the raw URL: ids and unknown paths would make a label per request.
    const route = request.routeOptions.url ?? 'unmatched';
    httpDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  return { registry, httpDuration };
}

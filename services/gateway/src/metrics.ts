/**
 * The gateway's Prometheus metrics, in a registry of its own (two gateways in one process, as in the
 * tests, never share or clash): request durations by route and status, the platform queues' metrics
 * (queue-metrics.ts: depth by state, oldest waiting job, finished jobs by outcome, sampler step time),
 * and prom-client's default process metrics. infra/prometheus and infra/grafana read these names.
 */
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '@alignda/log';
import { registerQueueGauges, watchQueueEvents } from './queue-metrics.js';

/** The metrics of one gateway instance. */
export interface GatewayMetrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
}

/**
 * Creates the registry and its collectors, and the hook that times every response. The queues' event
 * readers close with the app.
 * @param queues - the platform's queues (platform-queues.ts)
 * @param timeoutMs - how long a scrape waits for Redis before reporting the last known values
 */
export function registerMetrics(
  app: FastifyInstance,
  queues: readonly Queue[],
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
  registerQueueGauges(registry, queues, logger, timeoutMs);
  const events = watchQueueEvents(registry, queues, logger);
  app.addHook('onClose', async () => events.close());
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

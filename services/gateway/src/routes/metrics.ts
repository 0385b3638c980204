/**
 * `/metrics`, the Prometheus text exposition. It needs no key: scrapers hold none, and what it shows
 * (route templates, status counts, durations, queue depth, process figures) carries no job data or
 * secret. Where the gateway faces the internet, keep /metrics off the public listener at the proxy.
 */
import type { GatewayApp } from '../deps.js';
import type { GatewayMetrics } from '../metrics.js';

/** Registers /metrics over `metrics.registry`. */
export function registerMetricsRoute(app: GatewayApp, metrics: GatewayMetrics): void {
  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics', tags: ['operations'] } },
    async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
}

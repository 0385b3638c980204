/**
 * The HTTP gateway, built from its dependencies and never listening: `main.ts` listens, tests listen on
 * 127.0.0.1:0. Routes: `/v1/assimilations` (routes/assimilations.ts), a job's analysis, map and provenance
 * (routes/results.ts), `/v1/datasets` (routes/datasets.ts), `/healthz` and `/readyz`
 * (routes/health.ts), `/metrics` (routes/metrics.ts), the queue board at `/admin/queues` (routes/queue-board.ts),
 * and the OpenAPI 3.1 document generated from the routes' zod schemas at `/docs/json`, with Swagger UI at `/docs`.
 */
import { randomUUID } from 'node:crypto';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import {
  createJsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { IncomingMessage } from 'node:http';
import { AppError } from '@alignda/errors';
import { QueueName } from '@alignda/queue';
import type { GatewayApp, GatewayDeps } from './deps.js';
import { registerApiKeyAuth } from './keys.js';
import { RequestLogController } from './request-log.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { GatewayLimits } from './limits.js';
import { registerCycleGauges } from './cycle-metrics.js';
import { registerMetrics } from './metrics.js';
import { platformQueues } from './platform-queues.js';
import { frameworkErrors, registerProblemHandlers } from './problem.js';
import { registerAlignmentRoutes } from './routes/alignments.js';
import { registerAssimilationRoutes } from './routes/assimilations.js';
import { registerCycleRoutes } from './routes/cycles.js';
import { registerReanalysisRoutes } from './routes/reanalyses.js';
import { registerDatasetRoutes } from './routes/datasets.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerModelRoutes } from './routes/models.js';
import { registerQueueBoard } from './routes/queue-board.js';
import { registerResultRoutes } from './routes/results.js';

export { CANCEL_CHANNEL } from './deps.js';
export type { GatewayApp, GatewayDeps, GatewayRedis } from './deps.js';
export { DEFAULT_LIMITS, LIMIT_VARIABLES, loadGatewayLimits } from './limits.js';
export type { GatewayLimits } from './limits.js';
export { ASSIMILATE_JOB_NAME } from './routes/assimilations.js';
export type { AssimilateJobData } from './routes/assimilations.js';

/** The header that carries a request's correlation id, in and out. */
export const CORRELATION_HEADER = 'x-correlation-id';

/** A caller's correlation id is kept when it is a plausible id (no spaces, no control characters). */
const CORRELATION_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request's correlation id: the caller's x-correlation-id when well formed, else a new uuid. */
function correlationIdOf(req: IncomingMessage): string {
  const given = req.headers[CORRELATION_HEADER];
  return typeof given === 'string' && CORRELATION_ID.test(given) ? given : randomUUID();
}

/** Paths of Swagger UI itself, left out of the document it shows. */
const DOCS_PATHS = [
  '/docs',
  '/docs/',
  '/docs/json',
  '/docs/yaml',
  '/docs/static/*',
  '/docs/initOAuth',
  '/docs/uiConfig',
  '/docs/*',
];

/**
 * Builds the gateway from `deps` (see {@link GatewayDeps}); resolves once every plugin and route is
 * registered. The caller listens, and closes the app before its dependencies.
 */
export async function buildGateway(deps: GatewayDeps): Promise<GatewayApp> {
  const limits: GatewayLimits = Object.freeze({ ...DEFAULT_LIMITS, ...deps.limits });
  // Typed as Fastify's base logger so that the app's type is GatewayApp, not one per pino version.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    logController: new RequestLogController(),
    bodyLimit: limits.bodyLimitBytes,
    // request.id is the correlation id; request logs carry it as reqId.
    genReqId: correlationIdOf,
    // Behind a proxy, set up trustProxy in main.ts; the rate limit is per key, not per address.
    trustProxy: false,
    // The router's 414 and 400 as problems, like every other error.
    frameworkErrors,
  }).withTypeProvider<ZodTypeProvider>();
  // JSON only: Fastify's default text/plain parser would hand a string to the body schema (a 400 where
  // the client needs 415).
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerProblemHandlers(app);
  app.addHook('onSend', async (request, reply) => {
    void reply.header(CORRELATION_HEADER, request.id);
  });
  registerApiKeyAuth(app, deps.db);

  // One budget per API key across every route that needs a key; routes that need none (probes, scrapes,
  // docs) are never limited. This onRoute hook runs before the plugin's, so the plugin sees the opt-out.
  app.addHook('onRoute', (route) => {
    if (route.config?.scope === undefined) route.config = { ...route.config, rateLimit: false };
  });
  await app.register(fastifyRateLimit, {
    global: true,
    max: limits.rateLimitMax,
    timeWindow: limits.rateLimitWindowMs,
    // Authentication runs first (an onRequest hook of the app), so every limited request has a key.
    keyGenerator: (request: FastifyRequest) => request.apiKey?.id ?? `ip:${request.ip}`,
    allowList: (request: FastifyRequest) => request.apiKey?.rateLimitExempt === true,
    errorResponseBuilder: (request: FastifyRequest, context: { after: string; ttl: number }) =>
      new AppError(
        'RESOURCE_EXHAUSTED',
        `rate limit of ${limits.rateLimitMax} requests per ${limits.rateLimitWindowMs / 1000} s reached for ` +
          `API key ${request.apiKey?.name ?? '(none)'}: retry in ${context.after}`,
        { details: { retryAfterS: Math.max(1, Math.ceil(context.ttl / 1000)) } },
      ),
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'alignda gateway',
        description:
          'Submit, follow and cancel assimilation jobs, and fetch their results. Authenticate with ' +
          '`Authorization: Bearer <token>` ' +
          '(`alignda keys create`). Errors are application/problem+json with a stable `code`.',
        version: '0.1.0',
      },
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'an API key token from `alignda keys create`',
          },
        },
      },
    },
    transform: createJsonSchemaTransform({ skipList: DOCS_PATHS }),
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  // Every queue of the platform beside deps.queue, for the metrics and the board; closed with the app.
  const queues = platformQueues(deps.queue);
  app.addHook('onClose', async () => queues.close());
  const metrics = registerMetrics(app, queues.all, deps.logger, limits.backendTimeoutMs);
  registerHealthRoutes(app, deps, limits);
  registerMetricsRoute(app, metrics);
  registerAssimilationRoutes(app, deps, limits);
  registerCycleRoutes(app, deps, queues.byName(QueueName.cycle), limits);
  registerReanalysisRoutes(app, deps, queues.byName(QueueName.cycle), limits);
  registerCycleGauges(metrics.registry, deps.db, deps.logger);
  registerAlignmentRoutes(app, deps, queues.byName(QueueName.align), limits);
  registerModelRoutes(app, deps);
  registerResultRoutes(app, deps);
  registerDatasetRoutes(app, deps);
  await registerQueueBoard(app, deps.db, queues.all);
  return app;
}

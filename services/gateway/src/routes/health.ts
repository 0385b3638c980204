/**
 * `/healthz` (liveness: the process serves HTTP) and `/readyz` (readiness: the database and Redis both
 * answer within the backend timeout; 503 naming the one that did not). Neither needs a key: they are
 * for the orchestrator of processes (compose, k8s), which holds none.
 */
import { z } from 'zod';
import { AppError } from '@alignda/errors';
import type { GatewayApp, GatewayDeps } from '../deps.js';
import type { GatewayLimits } from '../limits.js';
import { PROBLEM_CONTENT_TYPE, problemOf, problemSchema, sendProblem } from '../problem.js';
import { withTimeout } from '../time.js';

const checksSchema = z.object({
  database: z.string().describe('"ok", or why the database did not answer'),
  redis: z.string().describe('"ok", or why Redis did not answer'),
});

/** `'ok'`, or the reason `probe` failed within `ms`. */
async function check(probe: () => Promise<unknown>, ms: number, what: string): Promise<string> {
  try {
    await withTimeout(probe(), ms, what, 'UNAVAILABLE');
    return 'ok';
  } catch (err) {
    return err instanceof Error ? err.message.replace(/\s+/g, ' ') : String(err);
  }
}

/** Registers /healthz and /readyz. */
export function registerHealthRoutes(app: GatewayApp, deps: GatewayDeps, limits: GatewayLimits): void {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness',
        tags: ['operations'],
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: the database and Redis answer',
        tags: ['operations'],
        response: {
          200: z.object({ status: z.literal('ready'), checks: checksSchema }),
          503: {
            description: 'a dependency did not answer; `checks` says which',
            content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema.extend({ checks: checksSchema }) } },
          },
        },
      },
    },
    async (request, reply) => {
      const [database, redis] = await Promise.all([
        check(() => deps.db.$queryRaw`SELECT 1`, limits.backendTimeoutMs, 'database'),
        check(() => deps.redis.ping(), limits.backendTimeoutMs, 'Redis'),
      ]);
      const checks = { database, redis };
      if (database === 'ok' && redis === 'ok') return { status: 'ready' as const, checks };
      const failed = Object.entries(checks)
        .filter(([, v]) => v !== 'ok')
        .map(([k, v]) => `${k}: ${v}`);
      const response = problemOf(new AppError('UNAVAILABLE', `not ready: ${failed.join('; ')}`), request.id);
      return sendProblem(reply, { ...response, problem: { ...response.problem, checks } });
    },
  );
}

/**
 * bull-board at `/admin/queues`: every queue of the platform (platform-queues.ts, so packages/queue's QUEUE_NAMES)
 * with its jobs, for an operator holding an `admin` key. The key is sent as on every other route
 * (`Authorization: Bearer <token>`), or, for a browser, as the password of HTTP Basic authentication (any user name):
 * a browser asks for it once at the 401 and sends it with every request of the page, its assets and its polling. No,
 * unknown or revoked key 401, a key without the admin scope 403, as application/problem+json. The board's page,
 * assets and polling are not counted against the key's rate limit.
 *
 * Read-only: the Job rows are the source of truth, so a job is cancelled with DELETE /v1/assimilations/:id, never
 * removed or retried behind the registry's back.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '@alignda/db';
import { authenticate } from '../keys.js';
import { problemOf, sendProblem } from '../problem.js';

/** Where the board is served. */
export const QUEUE_BOARD_PATH = '/admin/queues';

/** The realm a browser shows when it asks for the key. */
const BASIC_CHALLENGE = 'Basic realm="alignda queue board: any user name, an admin API key as password"';

/**
 * The request's headers with a Basic credential's password as the bearer token (what `authenticate` reads); other
 * headers as they are.
 */
export function bearerOfBasic(headers: FastifyRequest['headers']): FastifyRequest['headers'] {
  const match = /^Basic[ \t]+([A-Za-z0-9+/=]{1,1024})[ \t]*$/i.exec(headers.authorization ?? '');
  if (match === null) return headers;
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const token = decoded.slice(decoded.indexOf(':') + 1);
  return { ...headers, authorization: `Bearer ${token}` };
}

/** Registers the board over `queues`, behind the admin scope. */
export async function registerQueueBoard(
  app: FastifyInstance,
  db: Db,
  queues: readonly Queue[],
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'alignda queues' } },
  });
  // A context of its own: the hook covers the board's routes only, and answers itself, since bull-board's own
  // error handler (set on its routes) would turn a refusal into a 500.
  await app.register(async (board) => {
    board.addHook('onRequest', async (request, reply) => {
      try {
        request.apiKey = await authenticate(db, { headers: bearerOfBasic(request.headers) }, 'admin');
      } catch (err) {
        request.log.info({ path: request.url }, 'queue board refused');
        const response = problemOf(err, request.id);
        const challenge = response.headers['www-authenticate'];
        return sendProblem(
          reply,
          challenge === undefined
            ? response
            : {
                ...response,
                headers: { ...response.headers, 'www-authenticate': `${challenge}, ${BASIC_CHALLENGE}` },
              },
        );
      }
      return undefined;
    });
    await board.register(serverAdapter.registerPlugin(), { prefix: QUEUE_BOARD_PATH });
  });
}

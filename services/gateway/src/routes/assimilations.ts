/**
 * `/v1/assimilations`: submit a job (POST), read it (GET /:id), cancel it (DELETE /:id). The handlers
 * map HTTP onto the Job row and the BullMQ job; the request is validated by packages/pipelines'
 * `assimilationRequestSchema`, the one schema every door reads.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '@alignda/errors';
import { isUniqueViolation } from '@alignda/db';
import type { Job } from '@alignda/db';
import { assimilationRequestSchema } from '@alignda/pipelines';
import { ASSIMILATE_JOB_NAME, QueueName, assimilateJobData } from '@alignda/queue';
import { CANCEL_CHANNEL } from '../deps.js';
import type { GatewayApp, GatewayDeps } from '../deps.js';
import { findJob, idParams } from '../job-row.js';
import { jobUrl, jobView, jobViewSchema, submittedSchema } from '../job-view.js';
import type { GatewayLimits } from '../limits.js';
import { problemResponse } from '../problem.js';
import { requestHash } from '../request-hash.js';
import { withTimeout } from '../time.js';

/** The name of every BullMQ job the gateway adds to the assimilate queue, and its payload (packages/queue). */
export { ASSIMILATE_JOB_NAME } from '@alignda/queue';
export type { AssimilateJobData } from '@alignda/queue';

const problem = problemResponse;

/** Idempotency-Key: visible ASCII, as a header value can carry it; the other headers pass through. */
const submitHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 visible ASCII characters')
    .optional()
    .describe('a retry with the same key and body returns the same job; another body is 409'),
});

/** Registers the three routes. */
export function registerAssimilationRoutes(app: GatewayApp, deps: GatewayDeps, limits: GatewayLimits): void {
  const { db, queue } = deps;
  const redisCall = <T>(promise: Promise<T>, what: string): Promise<T> =>
    withTimeout(promise, limits.backendTimeoutMs, `Redis (${what})`, 'UNAVAILABLE');

  /** The answer to a retried submission: the same job, or 409 when the key came with another body. */
  function replay(row: Job, hash: string, key: string): { id: string; url: string } {
    if (row.requestHash !== hash)
      throw new AppError(
        'CONFLICT',
        `Idempotency-Key ${JSON.stringify(key)} was used for another request body (job ${row.id})`,
        { details: { idempotencyKey: key } },
      );
    return { id: row.id, url: jobUrl(row.id) };
  }

  app.post(
    '/v1/assimilations',
    {
      config: { scope: 'submit' },
      schema: {
        summary: 'Submit an assimilation job',
        description:
          'Validates the request, records a Job (status queued) and enqueues it on the assimilate queue under the ' +
          "same id. 429 with Retry-After when the queue's backlog is at its limit. With Idempotency-Key (scoped to " +
          'the API key), a retry with the same body answers 200 with the same job; another body is 409.',
        tags: ['assimilations'],
        security: [{ apiKey: [] }],
        headers: submitHeaders,
        body: assimilationRequestSchema,
        response: {
          200: submittedSchema.describe('an idempotent retry: the job submitted before'),
          202: submittedSchema.describe('accepted and queued'),
          400: problem('the body is not a valid request'),
          401: problem('no, an unknown or a revoked API key'),
          403: problem('the key lacks the submit scope'),
          409: problem('the Idempotency-Key was used with another body'),
          413: problem('the body is over the size limit'),
          429: problem('the queue is full or the key is over its rate limit (see Retry-After)'),
          503: problem('Redis did not answer'),
        },
      },
    },
    async (request, reply) => {
      const key = request.apiKey;
      if (key === null) throw new AppError('INTERNAL', 'submit route reached without an API key');
      const body = request.body;
      const hash = requestHash(body);
      const headerKey = request.headers['idempotency-key'];
      // Keys are per API key: two clients choosing the same key never see each other's jobs.
      const idempotencyKey = headerKey === undefined ? null : `${key.id}:${headerKey}`;
      if (idempotencyKey !== null && headerKey !== undefined) {
        const existing = await db.job.findUnique({ where: { idempotencyKey } });
        if (existing !== null) {
          void reply.code(200).header('idempotent-replayed', 'true').header('location', jobUrl(existing.id));
          return replay(existing, hash, headerKey);
        }
      }

      const waiting = await redisCall(queue.getWaitingCount(), 'waiting count');
      if (waiting >= limits.maxWaitingJobs)
        throw new AppError(
          'RESOURCE_EXHAUSTED',
          `the assimilate queue is full (${waiting} jobs waiting, limit ${limits.maxWaitingJobs}): retry later`,
          { details: { waiting, limit: limits.maxWaitingJobs, retryAfterS: limits.queueFullRetryAfterS } },
        );

      const id = randomUUID();
      const correlationId = request.id;
      try {
        await db.job.create({
          data: {
            id,
            kind: QueueName.assimilate,
            status: 'queued',
            request: body,
            requestHash: hash,
            correlationId,
            idempotencyKey,
          },
        });
      } catch (err) {
        // Two retries raced: the other one created the job; answer as its replay.
        if (idempotencyKey === null || headerKey === undefined || !isUniqueViolation(err)) throw err;
        const winner = await db.job.findUniqueOrThrow({ where: { idempotencyKey } });
        void reply.code(200).header('idempotent-replayed', 'true').header('location', jobUrl(winner.id));
        return replay(winner, hash, headerKey);
      }

      const data = assimilateJobData(id, correlationId, body);
      try {
        await redisCall(queue.add(ASSIMILATE_JOB_NAME, data, { jobId: id }), 'add job');
      } catch (err) {
        // The row stays as the record of a failed submission; its idempotency key is freed for the retry.
        await db.job
          .update({
            where: { id },
            data: {
              status: 'failed',
              errorCode: 'UNAVAILABLE',
              errorMessage: 'not enqueued: Redis did not answer',
              idempotencyKey: null,
              finishedAt: new Date(),
            },
          })
          .catch((e: unknown) => request.log.error({ err: e }, 'could not mark an unqueued job failed'));
        throw err;
      }
      request.log.info({ jobId: id }, 'assimilation job queued');
      void reply.code(202).header('location', jobUrl(id));
      return { id, url: jobUrl(id) };
    },
  );

  app.get(
    '/v1/assimilations/:id',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Read an assimilation job',
        description:
          'State (queued, running, succeeded, failed, cancelled), place in the queue while waiting, progress ' +
          '(the BullMQ job progress while running), stage, timings, error and result.',
        tags: ['assimilations'],
        security: [{ apiKey: [] }],
        params: idParams,
        response: {
          200: jobViewSchema,
          400: problem('the id is not a uuid'),
          401: problem('no, an unknown or a revoked API key'),
          403: problem('the key lacks the read scope'),
          404: problem('no such job'),
        },
      },
    },
    async (request) => jobView(queue, await findJob(db, request.params.id)),
  );

  app.delete(
    '/v1/assimilations/:id',
    {
      config: { scope: 'submit' },
      schema: {
        summary: 'Cancel an assimilation job',
        description:
          'A waiting job is removed from the queue; a running one is marked cancelled and its worker told on the ' +
          `Redis channel ${CANCEL_CHANNEL}. Either way the job is cancelled at once. Cancelling a cancelled job ` +
          'is a no-op; a finished one is 409.',
        tags: ['assimilations'],
        security: [{ apiKey: [] }],
        params: idParams,
        response: {
          200: jobViewSchema,
          400: problem('the id is not a uuid'),
          401: problem('no, an unknown or a revoked API key'),
          403: problem('the key lacks the submit scope'),
          404: problem('no such job'),
          409: problem('the job has already succeeded or failed'),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const row = await findJob(db, id);
      if (row.status === 'cancelled') return jobView(queue, row);
      if (row.status === 'succeeded' || row.status === 'failed')
        throw new AppError('FAILED_PRECONDITION', `job ${id} has already ${row.status}`, {
          details: { id, status: row.status },
        });
      // remove() refuses a job a worker holds (active, locked): that one is told to stop instead.
      const removed = (await redisCall(queue.remove(id), 'remove job')) === 1;
      const { count } = await db.job.updateMany({
        where: { id, status: { in: ['queued', 'running'] } },
        data: {
          status: 'cancelled',
          errorCode: 'CANCELLED',
          errorMessage: 'cancelled by the client',
          finishedAt: new Date(),
        },
      });
      const after = await findJob(db, id);
      if (count === 0 && after.status !== 'cancelled')
        throw new AppError('FAILED_PRECONDITION', `job ${id} has already ${after.status}`, {
          details: { id, status: after.status },
        });
      if (!removed) await redisCall(deps.redis.publish(CANCEL_CHANNEL, id), 'publish cancel');
      request.log.info({ jobId: id, removed }, 'assimilation job cancelled');
      return jobView(queue, after);
    },
  );
}

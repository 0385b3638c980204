/**
 * `/v1/cycles`: start a continuous DA cycle (POST), list them, read one with its series (GET /:id), pause, resume
 * and delete one. The handlers map HTTP onto the Cycle row and the `cycle` queue; the cycle service (services/cycler)
 * runs the steps. The request is packages/pipelines' `cycleRequestSchema`, the schema the cycle service reads the
 * stored settings with, so a cycle over HTTP and `alignda cycle` with the same values give the same series.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { z } from 'zod';
import { AppError } from '@alignda/errors';
import { ensureDatasetRow, isUniqueViolation } from '@alignda/db';
import type { Cycle, Db } from '@alignda/db';
import { cycleRequestSchema, parseCycleRequest } from '@alignda/pipelines';
import type { CycleRequest } from '@alignda/pipelines';
import { CYCLE_JOB_NAME, cycleJobData, cycleStepJobId } from '@alignda/queue';
import { NATURE_EPOCH_ISO } from '@alignda/world';
import { cycleUrl, cycleView, cycleViewSchema } from '../cycle-view.js';
import type { GatewayApp, GatewayDeps } from '../deps.js';
import type { GatewayLimits } from '../limits.js';
import { problemResponse } from '../problem.js';
import { withTimeout } from '../time.js';

const problem = problemResponse;

const idParams = z.object({ id: z.uuid().describe('the cycle id') });

const submittedSchema = z.object({ id: z.uuid(), url: z.string() }).meta({ id: 'SubmittedCycle' });

async function findCycle(db: Db, id: string): Promise<Cycle> {
  const row = await db.cycle.findUnique({ where: { id } });
  if (row === null) throw new AppError('NOT_FOUND', `no cycle ${id}`, { details: { id } });
  return row;
}

/** Registers the cycle routes on the `cycle` queue. */
export function registerCycleRoutes(
  app: GatewayApp,
  deps: GatewayDeps,
  queue: Queue,
  limits: GatewayLimits,
): void {
  const { db } = deps;
  const redisCall = <T>(promise: Promise<T>, what: string): Promise<T> =>
    withTimeout(promise, limits.backendTimeoutMs, `Redis (${what})`, 'UNAVAILABLE');
  const enqueue = (id: string, step: number, correlationId: string): Promise<unknown> =>
    redisCall(
      queue.add(CYCLE_JOB_NAME, cycleJobData(id, step, correlationId), {
        jobId: cycleStepJobId(id, step),
        attempts: 5,
        backoff: { type: 'exponential', delay: 2000 },
      }),
      'add cycle step',
    );
  const stepsDone = (row: Cycle): number => ((row.stats ?? {}) as { stepsDone?: number }).stepsDone ?? 0;
  const common = { tags: ['cycles'], security: [{ apiKey: [] }] };

  app.post(
    '/v1/cycles',
    {
      config: { scope: 'submit' },
      schema: {
        ...common,
        summary: 'Start a continuous DA cycle',
        description:
          'Records a Cycle (running) and queues its first step on the cycle queue. Each step: forecast of the ' +
          'previous analysis, observations drawn from the nature run at the valid time, analysis by each method. ' +
          '`pace` simulated runs the steps back to back; wall-clock one per interval. The first step fits B and ' +
          'tunes every method on the training run (minutes at the defaults; `tuning` shrinks the grids).',
        body: cycleRequestSchema,
        response: {
          202: submittedSchema.describe('accepted; the first step is queued'),
          400: problem('the body is not a valid cycle request'),
          401: problem('no, an unknown or a revoked API key'),
          403: problem('the key lacks the submit scope'),
          404: problem('no such model version'),
          409: problem('a cycle of this name exists'),
          503: problem('Redis did not answer'),
        },
      },
    },
    async (request, reply) => {
      const settings: CycleRequest = parseCycleRequest(request.body);
      const id = randomUUID();
      const name = settings.name ?? `cycle-${id.slice(0, 8)}`;
      if (
        settings.modelVersion !== undefined &&
        (await db.modelVersion.findUnique({ where: { id: settings.modelVersion } })) === null
      )
        throw new AppError('NOT_FOUND', `no model version ${settings.modelVersion}`, {
          details: { modelVersion: settings.modelVersion },
        });
      const datasetId = await ensureDatasetRow(db, { name: settings.world, kind: 'world', descriptor: {} });
      const start = new Date(NATURE_EPOCH_ISO);
      try {
        await db.cycle.create({
          data: {
            id,
            name,
            datasetId,
            ...(settings.modelVersion === undefined ? {} : { modelVersionId: settings.modelVersion }),
            status: 'running',
            intervalMinutes: settings.intervalHours * 60,
            startTime: start,
            nextValidTime: new Date(start.getTime() + settings.intervalHours * 3_600_000),
            settings: JSON.parse(JSON.stringify({ ...settings, name })) as object,
            stats: { stepsDone: 0 },
          },
        });
      } catch (err) {
        if (isUniqueViolation(err))
          throw new AppError('CONFLICT', `a cycle named ${name} exists: give another name`, {
            details: { name },
          });
        throw err;
      }
      try {
        await enqueue(id, 0, request.id);
      } catch (err) {
        await db.cycle
          .update({
            where: { id },
            data: {
              status: 'failed',
              stats: {
                stepsDone: 0,
                error: { code: 'UNAVAILABLE', message: 'not queued: Redis did not answer' },
              },
            },
          })
          .catch((e: unknown) => request.log.error({ err: e }, 'could not mark an unqueued cycle failed'));
        throw err;
      }
      request.log.info({ cycleId: id, name }, 'cycle started');
      void reply.code(202).header('location', cycleUrl(id));
      return { id, url: cycleUrl(id) };
    },
  );

  app.get(
    '/v1/cycles',
    {
      config: { scope: 'read' },
      schema: {
        ...common,
        summary: 'List cycles',
        description: 'The 100 most recent cycles, newest first, without their series.',
        response: {
          200: z.object({ cycles: z.array(cycleViewSchema) }),
          401: problem('no key'),
          403: problem('the key lacks the read scope'),
        },
      },
    },
    async () => {
      const rows = await db.cycle.findMany({ orderBy: { createdAt: 'desc' }, take: 100 });
      return { cycles: await Promise.all(rows.map((r) => cycleView(r))) };
    },
  );

  app.get(
    '/v1/cycles/:id',
    {
      config: { scope: 'read' },
      schema: {
        ...common,
        summary: 'Read a cycle',
        description:
          'State, steps done, the next valid time, the error of a failed cycle, and the series: per step and method ' +
          'the analysis and background RMSE against the truth, spread, O-B and O-A rms, divergence, and lead times.',
        params: idParams,
        response: {
          200: cycleViewSchema,
          400: problem('the id is not a uuid'),
          401: problem('no, an unknown or a revoked API key'),
          403: problem('the key lacks the read scope'),
          404: problem('no such cycle'),
        },
      },
    },
    async (request) => cycleView(await findCycle(db, request.params.id), db),
  );

  app.post(
    '/v1/cycles/:id/pause',
    {
      config: { scope: 'submit' },
      schema: {
        ...common,
        summary: 'Pause a cycle',
        description: 'The running step finishes and is recorded; no further step runs until resumed.',
        params: idParams,
        response: {
          200: cycleViewSchema,
          404: problem('no such cycle'),
          409: problem('the cycle is not running'),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const row = await findCycle(db, id);
      const { count } = await db.cycle.updateMany({
        where: { id, status: 'running' },
        data: { status: 'paused' },
      });
      if (count === 0 && row.status !== 'paused')
        throw new AppError('CONFLICT', `cycle ${id} is ${row.status}: only a running cycle can be paused`);
      return cycleView(await findCycle(db, id));
    },
  );

  app.post(
    '/v1/cycles/:id/resume',
    {
      config: { scope: 'submit' },
      schema: {
        ...common,
        summary: 'Resume a paused cycle',
        description: 'Queues the step after the last recorded one.',
        params: idParams,
        response: {
          200: cycleViewSchema,
          404: problem('no such cycle'),
          409: problem('the cycle is not paused'),
          503: problem('Redis did not answer'),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const row = await findCycle(db, id);
      const { count } = await db.cycle.updateMany({
        where: { id, status: 'paused' },
        data: { status: 'running' },
      });
      if (count === 0) {
        if (row.status === 'running') return cycleView(row);
        throw new AppError('CONFLICT', `cycle ${id} is ${row.status}: only a paused cycle can be resumed`);
      }
      await enqueue(id, stepsDone(row), request.id);
      return cycleView(await findCycle(db, id));
    },
  );

  app.delete(
    '/v1/cycles/:id',
    {
      config: { scope: 'submit' },
      schema: {
        ...common,
        summary: 'Stop a cycle for good',
        description:
          'The cycle becomes cancelled: its queued step is removed, a running step finishes and is recorded, and no ' +
          'further step runs. Its rows and series stay readable. Deleting a cancelled cycle is a no-op.',
        params: idParams,
        response: {
          200: cycleViewSchema,
          404: problem('no such cycle'),
          409: problem('the cycle has finished'),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const row = await findCycle(db, id);
      if (row.status === 'succeeded' || row.status === 'failed')
        throw new AppError('CONFLICT', `cycle ${id} has ${row.status}: nothing to stop`);
      await db.cycle.updateMany({
        where: { id, status: { in: ['pending', 'running', 'paused'] } },
        data: { status: 'cancelled' },
      });
      // A waiting or delayed step goes; an active one is left to finish (the worker runs no further step).
      const job = await redisCall(queue.getJob(cycleStepJobId(id, stepsDone(row))), 'find step');
      if (job !== undefined && !(await job.isActive())) await job.remove().catch(() => undefined);
      return cycleView(await findCycle(db, id));
    },
  );
}

/**
 * `/v1/reanalyses`: a reanalysis of a time range (POST) as K independent cycled streams, each a cycle of the cycle
 * service that starts `spinUp` steps before its segment (those analyses are discarded) and writes the rest into one
 * Zarr store, `<ALIGNDA_HOME>/reanalyses/<id>/analysis.zarr`, as it goes; GET /:id reads its progress over the whole
 * range. A stopped run resumes where it stopped: its streams are cycles, re-queued by the cycle service's reconciler
 * from their rows, and a step re-run writes the same field again. The run is a Job row (kind `reanalysis`) whose
 * request lists its streams; the cycle service settles it when the last stream ends.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Queue } from 'bullmq';
import { z } from 'zod';
import { AppError } from '@alignda/errors';
import { ensureDatasetRow } from '@alignda/db';
import type { Db, Job } from '@alignda/db';
import { reanalysisRequestSchema, reanalysisStreams } from '@alignda/pipelines';
import { CYCLE_JOB_NAME, cycleJobData, cycleStepJobId } from '@alignda/queue';
import { NATURE_EPOCH_ISO } from '@alignda/world';
import type { GatewayApp, GatewayDeps } from '../deps.js';
import type { GatewayLimits } from '../limits.js';
import { problemResponse } from '../problem.js';
import { withTimeout } from '../time.js';

const problem = problemResponse;
const idParams = z.object({ id: z.uuid().describe('the reanalysis id') });

const viewSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    state: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
    progress: z.number().describe('analyses of the range written / analyses in the range'),
    steps: z.number().int(),
    written: z.number().int(),
    store: z.string().describe('the Zarr v2 store, relative to ALIGNDA_HOME'),
    streams: z.array(
      z.object({
        cycleId: z.uuid(),
        state: z.string(),
        from: z.number().int().describe('state index of its first kept analysis'),
        steps: z.number().int().describe('steps it cycles, spin-up included'),
        stepsDone: z.number().int(),
      }),
    ),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
  })
  .meta({ id: 'Reanalysis' });

/** The path of a reanalysis' resource. */
export function reanalysisUrl(id: string): string {
  return `/v1/reanalyses/${id}`;
}

/** The store of reanalysis `id`, relative to ALIGNDA_HOME (the cycle service writes it there). */
function storePath(id: string): string {
  return path.join('reanalyses', id, 'analysis.zarr');
}

async function view(db: Db, row: Job): Promise<z.infer<typeof viewSchema>> {
  const request = row.request as { steps?: number; streams?: string[] };
  const ids = request.streams ?? [];
  const cycles = await db.cycle.findMany({ where: { id: { in: ids } } });
  const byId = new Map(cycles.map((c) => [c.id, c]));
  let written = 0;
  const streams = ids.flatMap((cycleId) => {
    const c = byId.get(cycleId);
    if (c === undefined) return [];
    const s = c.settings as {
      cycles: number;
      start: number;
      intervalHours: number;
      reanalysis: { keepFrom: number };
    };
    const done = ((c.stats ?? {}) as { stepsDone?: number }).stepsDone ?? 0;
    const per = s.intervalHours / 6;
    const spin = (s.reanalysis.keepFrom - s.start) / per - 1;
    written += Math.max(0, done - spin);
    return [{ cycleId, state: c.status, from: s.reanalysis.keepFrom, steps: s.cycles, stepsDone: done }];
  });
  const steps = request.steps ?? 0;
  return {
    id: row.id,
    url: reanalysisUrl(row.id),
    state: row.status,
    progress: steps === 0 ? 0 : written / steps,
    steps,
    written,
    store: storePath(row.id),
    streams,
    error: row.errorCode === null ? null : { code: row.errorCode, message: row.errorMessage ?? '' },
  };
}

/** Registers the reanalysis routes on the `cycle` queue. */
export function registerReanalysisRoutes(
  app: GatewayApp,
  deps: GatewayDeps,
  queue: Queue,
  limits: GatewayLimits,
): void {
  const { db } = deps;
  const common = { tags: ['reanalyses'], security: [{ apiKey: [] }] };

  app.post(
    '/v1/reanalyses',
    {
      config: { scope: 'submit' },
      schema: {
        ...common,
        summary: 'Start a reanalysis of a time range',
        description:
          'Cuts the range into `streams` segments, each cycled by its own stream (a cycle of the cycle service) ' +
          'from `spinUp` steps before it; the analyses of the first method go into one Zarr store as they are made.',
        body: reanalysisRequestSchema,
        response: {
          202: z.object({ id: z.uuid(), url: z.string() }),
          400: problem('the body is not a valid reanalysis request'),
          401: problem('no, an unknown or a revoked API key'),
          403: problem('the key lacks the submit scope'),
          503: problem('Redis did not answer'),
        },
      },
    },
    async (request, reply) => {
      const r = request.body;
      if (r.seed === r.trainSeed)
        throw new AppError(
          'INVALID_ARGUMENT',
          `reanalysis: seed ${r.seed} is the training run's seed: reanalyse a nature run never trained on`,
        );
      const id = randomUUID();
      const name = r.name ?? `reanalysis-${id.slice(0, 8)}`;
      const settings = reanalysisStreams(id, name, r);
      const datasetId = await ensureDatasetRow(db, { name: r.world, kind: 'world', descriptor: {} });
      const epoch = Date.parse(NATURE_EPOCH_ISO);
      const cycleIds = settings.map(() => randomUUID());
      await db.$transaction([
        db.job.create({
          data: {
            id,
            kind: 'reanalysis',
            status: 'running',
            request: JSON.parse(JSON.stringify({ ...r, name, streams: cycleIds })) as object,
            correlationId: request.id,
            startedAt: new Date(),
          },
        }),
        ...settings.map((s, k) =>
          db.cycle.create({
            data: {
              id: cycleIds[k] ?? randomUUID(),
              name: s.name ?? `${name}-stream-${k}`,
              datasetId,
              status: 'running',
              intervalMinutes: s.intervalHours * 60,
              startTime: new Date(epoch + s.start * 6 * 3_600_000),
              nextValidTime: new Date(epoch + (s.start + s.intervalHours / 6) * 6 * 3_600_000),
              settings: JSON.parse(JSON.stringify(s)) as object,
              stats: { stepsDone: 0 },
            },
          }),
        ),
      ]);
      for (const cycleId of cycleIds)
        await withTimeout(
          queue.add(CYCLE_JOB_NAME, cycleJobData(cycleId, 0, request.id), {
            jobId: cycleStepJobId(cycleId, 0),
            attempts: 5,
            backoff: { type: 'exponential', delay: 2000 },
          }),
          limits.backendTimeoutMs,
          'Redis (add cycle step)',
          'UNAVAILABLE',
        );
      request.log.info({ reanalysisId: id, streams: cycleIds.length }, 'reanalysis started');
      void reply.code(202).header('location', reanalysisUrl(id));
      return { id, url: reanalysisUrl(id) };
    },
  );

  app.get(
    '/v1/reanalyses/:id',
    {
      config: { scope: 'read' },
      schema: {
        ...common,
        summary: 'Read a reanalysis',
        description: 'State, progress over the whole range, each stream, and where its Zarr store is.',
        params: idParams,
        response: { 200: viewSchema, 404: problem('no such reanalysis') },
      },
    },
    async (request) => {
      const row = await db.job.findUnique({ where: { id: request.params.id } });
      if (row === null || row.kind !== 'reanalysis')
        throw new AppError('NOT_FOUND', `no reanalysis ${request.params.id}`);
      return view(db, row);
    },
  );
}

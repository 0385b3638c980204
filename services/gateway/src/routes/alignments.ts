/**
 * `/v1/alignments`: start an alignment run (POST) and read one (GET /:id). The handlers map HTTP onto the Job and
 * AlignmentRun rows and the alignment flow (packages/queue `alignFlow`, added with a FlowProducer); the trainer
 * service (services/trainer) runs its three stages. The request is packages/pipelines' `alignmentRequestSchema`,
 * the schema the trainer reads the stored settings with.
 */
import { randomUUID } from 'node:crypto';
import { FlowProducer } from 'bullmq';
import type { Queue } from 'bullmq';
import { z } from 'zod';
import { AppError } from '@alignda/errors';
import type { AlignmentRun, Db, Job } from '@alignda/db';
import { alignmentBackground, alignmentRequestSchema, parseAlignmentRequest } from '@alignda/pipelines';
import { alignFlow } from '@alignda/queue';
import type { GatewayApp, GatewayDeps } from '../deps.js';
import type { GatewayLimits } from '../limits.js';
import { problemResponse as problem } from '../problem.js';
import { withTimeout } from '../time.js';

/** The path of an alignment run's resource. */
export function alignmentUrl(id: string): string {
  return `/v1/alignments/${id}`;
}

/** An alignment run's life as clients see it (the row's RunStatus). */
const ALIGNMENT_STATES = ['pending', 'running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;

const dpoMetrics = z.object({ loss: z.number(), accuracy: z.number(), margin: z.number() });
const change = z.object({
  change: z.number().describe('relative change (aligned - reference) / reference'),
  ci95: z.array(z.number()).length(2).describe('paired bootstrap 95 % interval over cases'),
  p: z.number(),
  n: z.number().int(),
});

/** The alignment run resource. */
export const alignmentViewSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    state: z.enum(ALIGNMENT_STATES),
    stage: z.string().nullable().describe('preferences, train or evaluate-and-register while running'),
    progress: z.number().describe('fraction of the whole flow done, 0..1'),
    baseModel: z.uuid(),
    settings: z.record(z.string(), z.unknown()).describe('the request, defaults filled in'),
    preferenceSet: z
      .object({
        id: z.uuid(),
        set: z.string(),
        rewards: z.array(z.string()),
        candidates: z.number().int().nullable(),
        conditions: z.number().int().nullable(),
        trainPairs: z.number().int(),
        heldOutPairs: z.number().int().nullable(),
        contentHash: z.string().nullable(),
        summary: z.record(z.string(), z.unknown()).nullable(),
      })
      .nullable(),
    dpo: z
      .object({
        step: z.number().int().optional(),
        steps: z.number().int().optional(),
        beta: z.number().optional(),
        pairsPerStep: z.number().int().optional(),
        resumedFrom: z.number().int().optional(),
        heldOut: z.object({ before: dpoMetrics, after: dpoMetrics }).nullable().optional(),
      })
      .nullable()
      .describe('held-out DPO metrics of the reference (before) and the aligned prior (after)'),
    candidate: z
      .object({ id: z.uuid(), name: z.string(), status: z.string(), url: z.string() })
      .nullable()
      .describe('the candidate ModelVersion'),
    gate: z
      .object({
        evaluationId: z.uuid(),
        passed: z.boolean().nullable(),
        period: z.string().nullable(),
        rule: z.string().optional(),
        cases: z.array(z.number().int()).optional(),
        modes: z.record(z.string(), z.object({ mse: change, geoScore: change.optional() })).optional(),
        reasons: z.array(z.string()).optional(),
      })
      .nullable()
      .describe("the gate's verdict on held-out alignment-period cases"),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'Alignment' });
type AlignmentView = z.infer<typeof alignmentViewSchema>;

const submittedSchema = z.object({ id: z.uuid(), url: z.string() }).meta({ id: 'SubmittedAlignment' });
const idParams = z.object({ id: z.uuid().describe('the alignment run id') });

async function alignmentView(db: Db, run: AlignmentRun & { job: Job | null }): Promise<AlignmentView> {
  const prefs = await db.preferenceSet.findFirst({
    where: { alignmentRunId: run.id },
    orderBy: { createdAt: 'desc' },
  });
  const evaluation = await db.evaluation.findFirst({
    where: { alignmentRunId: run.id },
    orderBy: { createdAt: 'desc' },
  });
  const candidate =
    run.resultModelVersionId === null
      ? null
      : await db.modelVersion.findUnique({ where: { id: run.resultModelVersionId } });
  const result = (run.job?.result ?? null) as { dpo?: AlignmentView['dpo'] } | null;
  const gate = (evaluation?.metrics ?? {}) as Record<string, unknown>;
  return {
    id: run.id,
    url: alignmentUrl(run.id),
    state: run.status,
    stage: run.job?.stage ?? null,
    progress: run.job?.progress ?? 0,
    baseModel: run.baseModelVersionId,
    settings: run.settings as Record<string, unknown>,
    preferenceSet:
      prefs === null
        ? null
        : {
            id: prefs.id,
            set: prefs.objective,
            rewards: (prefs.rewards ?? []) as string[],
            candidates: prefs.candidates,
            conditions: prefs.conditions,
            trainPairs: prefs.pairCount,
            heldOutPairs: prefs.heldOutPairCount,
            contentHash: prefs.contentHash,
            summary: (prefs.summary ?? null) as Record<string, unknown> | null,
          },
    dpo: result?.dpo ?? null,
    candidate:
      candidate === null
        ? null
        : {
            id: candidate.id,
            name: candidate.name,
            status: candidate.status,
            url: `/v1/models/${candidate.id}`,
          },
    gate:
      evaluation === null
        ? null
        : {
            evaluationId: evaluation.id,
            passed: evaluation.passed,
            period: evaluation.period,
            ...(gate as Omit<NonNullable<AlignmentView['gate']>, 'evaluationId' | 'passed' | 'period'>),
          },
    error:
      run.job?.errorCode === null || run.job?.errorCode === undefined
        ? null
        : { code: run.job.errorCode, message: run.job.errorMessage ?? '' },
    createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
  };
}

/** Registers the alignment routes; the flow goes onto the queues beside `queue` (same connection and prefix). */
export function registerAlignmentRoutes(
  app: GatewayApp,
  deps: GatewayDeps,
  queue: Queue,
  limits: GatewayLimits,
): void {
  const { db } = deps;
  const { connection, prefix } = queue.opts;
  const flows = new FlowProducer({ connection, ...(prefix === undefined ? {} : { prefix }) });
  flows.on('error', (err) => deps.logger.warn({ err }, 'flow producer error'));
  app.addHook('onClose', async () => flows.close());
  const common = { tags: ['alignments'], security: [{ apiKey: [] }] };

  app.post(
    '/v1/alignments',
    {
      config: { scope: 'submit' },
      schema: {
        ...common,
        summary: 'Align a score model to a preference set',
        description:
          'Records an AlignmentRun and adds its flow: candidates of the reference prior on alignment-period ' +
          'conditions, scored and paired (align queue) -> Diffusion-DPO on a trainer (train queue, checkpointed) -> ' +
          'the gate on held-out alignment-period cases and the candidate ModelVersion (align queue). The test ' +
          'period is refused.',
        body: alignmentRequestSchema,
        response: {
          202: submittedSchema.describe('accepted; the flow is queued'),
          400: problem(
            'the body is not a valid alignment request (a period other than alignment, beta <= 0, ...)',
          ),
          401: problem('no, an unknown or a revoked API key'),
          403: problem('the key lacks the submit scope'),
          404: problem('no such base model version'),
          409: problem('the base model was trained on other backgrounds (without force)'),
          503: problem('Redis did not answer'),
        },
      },
    },
    async (request, reply) => {
      const settings = parseAlignmentRequest(request.body);
      const base = await db.modelVersion.findUnique({ where: { id: settings.model } });
      if (base === null)
        throw new AppError('NOT_FOUND', `no model version ${settings.model}`, {
          details: { id: settings.model },
        });
      if (base.kind !== 'score')
        throw new AppError(
          'INVALID_ARGUMENT',
          `model version ${base.id} is a ${base.kind} model: alignment fine-tunes a score model (the prior)`,
        );
      // A version recorded before backgrounds were: the trainer checks against the folder's manifest.
      const background =
        base.background === null ? settings.background : alignmentBackground(settings, base.background);
      const id = randomUUID();
      const stored = JSON.parse(
        JSON.stringify({ ...settings, ...(background === undefined ? {} : { background }) }),
      ) as object;
      await db.$transaction(async (tx) => {
        await tx.job.create({
          data: { id, kind: 'align', request: stored, correlationId: request.id },
        });
        await tx.alignmentRun.create({
          data: { id, jobId: id, baseModelVersionId: base.id, status: 'pending', settings: stored },
        });
      });
      try {
        await withTimeout(
          flows.add(alignFlow(id, request.id)),
          limits.backendTimeoutMs,
          'Redis (add flow)',
          'UNAVAILABLE',
        );
      } catch (err) {
        const message = 'not queued: Redis did not answer';
        await db
          .$transaction([
            db.alignmentRun.update({ where: { id }, data: { status: 'failed', finishedAt: new Date() } }),
            db.job.update({
              where: { id },
              data: {
                status: 'failed',
                errorCode: 'UNAVAILABLE',
                errorMessage: message,
                finishedAt: new Date(),
              },
            }),
          ])
          .catch((e: unknown) =>
            request.log.error({ err: e }, 'could not mark an unqueued alignment failed'),
          );
        throw err;
      }
      request.log.info({ alignmentId: id, model: base.id, set: settings.set }, 'alignment started');
      void reply.code(202).header('location', alignmentUrl(id));
      return { id, url: alignmentUrl(id) };
    },
  );

  app.get(
    '/v1/alignments/:id',
    {
      config: { scope: 'read' },
      schema: {
        ...common,
        summary: 'Read an alignment run',
        description:
          'State, stage and progress of the flow, the preference set, the held-out DPO metrics before and after, ' +
          "the candidate ModelVersion and the gate's verdict.",
        params: idParams,
        response: {
          200: alignmentViewSchema,
          400: problem('the id is not a uuid'),
          401: problem('no, an unknown or a revoked API key'),
          403: problem('the key lacks the read scope'),
          404: problem('no such alignment run'),
        },
      },
    },
    async (request) => {
      const run = await db.alignmentRun.findUnique({
        where: { id: request.params.id },
        include: { job: true },
      });
      if (run === null)
        throw new AppError('NOT_FOUND', `no alignment run ${request.params.id}`, {
          details: { id: request.params.id },
        });
      return alignmentView(db, run);
    },
  );
}

/**
 * `/v1/models/:id`: read a model version, promote it (admin) when its gate holds, demote it (admin) back to the
 * version that was active before. A version belongs to a line: the versions fine-tuned, directly or not, from the
 * same trained reference (the root of its parent chain); at most one version of a line is active. Every promotion
 * and rollback is a ModelEvent row naming the key that asked. The gate is read from the version's latest
 * alignment-period Evaluation and judged again by packages/pipelines' `gateReasons` (never a test-period one).
 */
import { z } from 'zod';
import { AppError } from '@alignda/errors';
import { activeInLine } from '@alignda/db';
import type { Db, ModelVersion } from '@alignda/db';
import { gateReasons } from '@alignda/pipelines';
import type { GateChange } from '@alignda/pipelines';
import type { GatewayApp, GatewayDeps } from '../deps.js';
import { problemResponse as problem } from '../problem.js';

/** The path of a model version's resource. */
export function modelUrl(id: string): string {
  return `/v1/models/${id}`;
}

const eventSchema = z.object({
  action: z.enum(['promote', 'demote']),
  actor: z.string().describe("the API key's name"),
  previousActiveId: z.string().nullable(),
  evaluationId: z.string().nullable(),
  at: z.string(),
});

/** The model version resource. */
export const modelViewSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    kind: z.string(),
    name: z.string(),
    status: z.enum(['candidate', 'active', 'retired']),
    parentId: z.string().nullable(),
    background: z.string().nullable().describe('the backgrounds its prior was trained on'),
    artifactPaths: z.record(z.string(), z.unknown()),
    metrics: z.record(z.string(), z.unknown()).nullable(),
    promotedAt: z.string().nullable(),
    retiredAt: z.string().nullable(),
    events: z.array(eventSchema).describe('promotions and rollbacks, oldest first'),
  })
  .meta({ id: 'ModelVersion' });
type ModelView = z.infer<typeof modelViewSchema>;

const idParams = z.object({ id: z.uuid().describe('the model version id') });

async function modelView(db: Db, m: ModelVersion): Promise<ModelView> {
  const events = await db.modelEvent.findMany({
    where: { modelVersionId: m.id },
    orderBy: { createdAt: 'asc' },
  });
  return {
    id: m.id,
    url: modelUrl(m.id),
    kind: m.kind,
    name: m.name,
    status: m.status,
    parentId: m.parentId,
    background: m.background,
    artifactPaths: (m.artifactPaths ?? {}) as Record<string, unknown>,
    metrics: (m.metrics ?? null) as Record<string, unknown> | null,
    promotedAt: m.promotedAt?.toISOString() ?? null,
    retiredAt: m.retiredAt?.toISOString() ?? null,
    events: events.map((e) => ({
      action: e.action as 'promote' | 'demote',
      actor: e.actor,
      previousActiveId: e.previousActiveId,
      evaluationId: e.evaluationId,
      at: e.createdAt.toISOString(),
    })),
  };
}

async function findModel(db: Db, id: string): Promise<ModelVersion> {
  const m = await db.modelVersion.findUnique({ where: { id } });
  if (m === null) throw new AppError('NOT_FOUND', `no model version ${id}`, { details: { id } });
  return m;
}

/** The gate's changes as an Evaluation row stores them (GateVerdict's `modes`). */
type StoredModes = Readonly<Record<string, { mse: GateChange; geoScore?: GateChange }>>;

/** Registers the model routes. */
export function registerModelRoutes(app: GatewayApp, deps: GatewayDeps): void {
  const { db } = deps;
  const common = { tags: ['models'], security: [{ apiKey: [] }] };
  const actorOf = (
    key: { id: string; name: string } | null,
  ): { actorKeyId: string | null; actor: string } => ({
    actorKeyId: key?.id ?? null,
    actor: key?.name ?? 'unknown',
  });

  app.get(
    '/v1/models/:id',
    {
      config: { scope: 'read' },
      schema: {
        ...common,
        summary: 'Read a model version',
        description:
          'Its status (candidate, active, retired), lineage, background kind, files, metrics and events.',
        params: idParams,
        response: { 200: modelViewSchema, 404: problem('no such model version') },
      },
    },
    async (request) => modelView(db, await findModel(db, request.params.id)),
  );

  app.post(
    '/v1/models/:id/promote',
    {
      config: { scope: 'admin' },
      schema: {
        ...common,
        summary: 'Promote a model version (its gate must hold)',
        description:
          "Makes the version active and retires the line's previously active one, when the version's latest " +
          'alignment-period evaluation holds the gate: in every latent mode the upper end of the 95 % interval of ' +
          'the relative analysis-MSE change is at most 0, and no Geo-Score loss. Else 409 with the interval. Recorded ' +
          'with the key that asked.',
        params: idParams,
        response: {
          200: modelViewSchema,
          401: problem('no, an unknown or a revoked API key'),
          403: problem('the key lacks the admin scope'),
          404: problem('no such model version'),
          409: problem(
            'the gate does not hold, there is no alignment-period verdict, or the version is active',
          ),
        },
      },
    },
    async (request) => {
      const m = await findModel(db, request.params.id);
      if (m.status === 'active') throw new AppError('CONFLICT', `model version ${m.id} is already active`);
      const evaluation = await db.evaluation.findFirst({
        where: { modelVersionId: m.id, period: 'alignment' },
        orderBy: { createdAt: 'desc' },
      });
      if (evaluation === null)
        throw new AppError(
          'FAILED_PRECONDITION',
          `model version ${m.id} has no gate verdict on the alignment period: align it through POST /v1/alignments (a test-period evaluation never promotes)`,
        );
      const modes = ((evaluation.metrics ?? {}) as { modes?: StoredModes }).modes ?? {};
      const reasons = gateReasons(modes);
      if (evaluation.passed !== true || reasons.length > 0)
        throw new AppError(
          'FAILED_PRECONDITION',
          `the gate of model version ${m.id} does not hold (evaluation ${evaluation.id}): ${reasons.length > 0 ? reasons.join('; ') : 'its verdict is not a pass'}`,
          { details: { evaluationId: evaluation.id } },
        );
      const now = new Date();
      await db.$transaction(async (tx) => {
        const previous = await activeInLine(tx, m);
        for (const p of previous)
          await tx.modelVersion.update({ where: { id: p.id }, data: { status: 'retired', retiredAt: now } });
        await tx.modelVersion.update({
          where: { id: m.id },
          data: { status: 'active', promotedAt: now, retiredAt: null },
        });
        await tx.modelEvent.create({
          data: {
            modelVersionId: m.id,
            action: 'promote',
            ...actorOf(request.apiKey),
            previousActiveId: previous[0]?.id ?? null,
            evaluationId: evaluation.id,
          },
        });
      });
      request.log.info({ model: m.id, evaluation: evaluation.id }, 'model version promoted');
      return modelView(db, await findModel(db, m.id));
    },
  );

  app.post(
    '/v1/models/:id/demote',
    {
      config: { scope: 'admin' },
      schema: {
        ...common,
        summary: 'Roll an active model version back',
        description:
          'Retires the active version and makes active again the version its promotion retired (none when it ' +
          'retired none). Recorded with the key that asked.',
        params: idParams,
        response: {
          200: modelViewSchema,
          401: problem('no, an unknown or a revoked API key'),
          403: problem('the key lacks the admin scope'),
          404: problem('no such model version'),
          409: problem('the version is not active'),
        },
      },
    },
    async (request) => {
      const m = await findModel(db, request.params.id);
      if (m.status !== 'active')
        throw new AppError(
          'CONFLICT',
          `model version ${m.id} is ${m.status}: only an active version is demoted`,
        );
      const promotion = await db.modelEvent.findFirst({
        where: { modelVersionId: m.id, action: 'promote' },
        orderBy: { createdAt: 'desc' },
      });
      const restore =
        promotion?.previousActiveId === null || promotion?.previousActiveId === undefined
          ? null
          : await db.modelVersion.findUnique({ where: { id: promotion.previousActiveId } });
      const now = new Date();
      await db.$transaction(async (tx) => {
        await tx.modelVersion.update({ where: { id: m.id }, data: { status: 'retired', retiredAt: now } });
        if (restore !== null)
          await tx.modelVersion.update({
            where: { id: restore.id },
            data: { status: 'active', promotedAt: now, retiredAt: null },
          });
        await tx.modelEvent.create({
          data: {
            modelVersionId: m.id,
            action: 'demote',
            ...actorOf(request.apiKey),
            previousActiveId: restore?.id ?? null,
          },
        });
      });
      request.log.info({ model: m.id, restored: restore?.id ?? null }, 'model version demoted');
      return modelView(db, await findModel(db, m.id));
    },
  );
}

/**
 * The results of a succeeded assimilation job: `/v1/assimilations/:id/analysis` (netCDF, a Zarr zip or JSON),
 * `.../map.png` and `.../provenance`. Files come from the Analysis row's `artifactPaths`, read only inside
 * `<ALIGNDA_HOME>/results/<id>/` (results/result-files.ts). Representations carry a strong ETag (If-None-Match: 304)
 * and Content-Disposition; files answer single byte ranges (206, 416). A job not yet succeeded is 409 naming its
 * state; a result past its retention is 410.
 */
import { createHash } from 'node:crypto';

import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import type { Analysis, Db, Job } from '@alignda/db';
import { AppError } from '@alignda/errors';
import { parseAssimilationRequest } from '@alignda/pipelines';
import { analysisFileMapPng, observationLocations } from '@alignda/world';
import type { MapObservation } from '@alignda/world';

import type { GatewayApp, GatewayDeps } from '../deps.js';
import { findJob, idParams } from '../job-row.js';
import { StatusError, problemResponse } from '../problem.js';
import {
  ANALYSIS_FORMATS,
  CONTENT_TYPES,
  analysisJsonSchema,
  analysisRepresentation,
  checkVariables,
  readStoredAnalysis,
} from '../results/analysis-formats.js';
import type { Representation } from '../results/analysis-formats.js';
import { contentRange, parseRange } from '../results/http-range.js';
import { readResultFile } from '../results/result-files.js';

/** `true`/`false` (or 1/0) in a query string. */
const flag = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .default(false);

/** A comma-separated list of channel names. */
const variableList = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/, 'must be channel names separated by commas, e.g. t,u_upper')
  .transform((s) => s.split(','));

const analysisQuery = z.strictObject({
  format: z
    .enum(ANALYSIS_FORMATS)
    .default('netcdf')
    .describe('netcdf (the default), zarr (a zipped Zarr v2 store) or json'),
  variables: variableList.optional().describe('channels to include, comma-separated; default every channel'),
  members: flag.describe('include the ensemble members (netCDF/Zarr variables `<channel>_members`)'),
  background: flag.describe('include the 48 h background (`<channel>_background`)'),
});

const mapQuery = z.strictObject({
  channel: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .optional()
    .describe('the channel to draw; default the first (the map stored with the job)'),
});

const binary = z.string().meta({ format: 'binary' });
const notModified = z
  .null()
  .describe('not modified: the representation has the ETag of If-None-Match; no body');

/** The provenance the orchestrator records (services/orchestrator's analysis-record.ts). */
const provenanceSchema = z
  .looseObject({
    version: z.number().int().optional(),
    recordedAt: z.string().optional().describe('ISO 8601 UTC'),
    gitCommit: z.string().nullable().optional().describe('the commit the orchestrator ran, hex'),
    lockfileSha256: z.string().nullable().optional().describe('SHA-256 of package-lock.json, hex'),
    node: z.string().optional(),
    onnxruntime: z
      .looseObject({
        version: z.string().optional(),
        executionProviderRequested: z.string().nullable().optional(),
        executionProvider: z.string().nullable().optional().describe("the sampler's, when it reported it"),
      })
      .optional(),
    sampler: z.string().nullable().optional().describe('the sampler replica, host:pid'),
    models: z
      .looseObject({
        version: z.string().optional(),
        sampled: z.string().optional(),
        manifest: z.unknown().optional(),
        files: z
          .array(z.object({ name: z.string(), bytes: z.number(), sha256: z.string() }))
          .optional()
          .describe('SHA-256 of the checkpoints and manifest'),
      })
      .optional(),
    seeds: z.object({ sampler: z.number(), members: z.array(z.number()) }).optional(),
    request: z.unknown().optional().describe('the request as run'),
  })
  .meta({ id: 'AnalysisProvenance' });

/** The value of an entity tag of `body` (RFC 9110, section 8.8.3): strong, from its SHA-256. */
function entityTag(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
}

/** Whether an If-None-Match header names `etag` (weak comparison, `*` included). */
function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

/**
 * Sends `rep`: 304 when If-None-Match names it, a single byte range (206) when asked and the representation is a file,
 * the whole of it (200) otherwise.
 * @throws StatusError 416 for a range past its end (with `Content-Range: bytes *\/size`)
 */
function sendRepresentation(request: FastifyRequest, reply: FastifyReply, rep: Representation): FastifyReply {
  const etag = entityTag(rep.body);
  const size = rep.body.length;
  const headers = (): FastifyReply =>
    reply
      .header('etag', etag)
      .header('cache-control', 'private, no-cache')
      .header(
        'content-disposition',
        `${rep.contentType === 'application/json' ? 'inline' : 'attachment'}; filename="${rep.filename}"`,
      )
      .header('accept-ranges', rep.ranges ? 'bytes' : 'none');
  if (matchesIfNoneMatch(request.headers['if-none-match'], etag)) return headers().code(304).send();
  const ifRange = request.headers['if-range'];
  // If-Range with another validator: the client's copy is stale, so it gets the whole (RFC 9110, section 13.1.5).
  const range =
    rep.ranges && (ifRange === undefined || ifRange === etag)
      ? parseRange(request.headers.range, size)
      : { kind: 'whole' as const };
  if (range.kind === 'unsatisfiable')
    throw new StatusError(
      'INVALID_ARGUMENT',
      416,
      'Range Not Satisfiable',
      `range ${String(request.headers.range)} lies outside the ${size} bytes of ${rep.filename}`,
      { headers: { 'content-range': contentRange(range, size) } },
    );
  const type = rep.contentType === 'application/json' ? 'application/json; charset=utf-8' : rep.contentType;
  if (range.kind === 'range')
    return headers()
      .code(206)
      .header('content-range', contentRange(range, size))
      .type(type)
      .send(rep.body.subarray(range.start, range.end + 1));
  return headers().type(type).send(rep.body);
}

/** Why a job that has not succeeded has no result, for its 409. */
function notReady(job: Job): string {
  const id = job.id;
  switch (job.status) {
    case 'queued':
      return `job ${id} is queued: its analysis is not ready yet (poll GET /v1/assimilations/${id})`;
    case 'running':
      return `job ${id} is running (stage ${job.stage ?? 'unknown'}, ${Math.round(job.progress * 100)} % done): its analysis is not ready yet`;
    case 'failed':
      return `job ${id} failed (${job.errorCode ?? 'INTERNAL'}: ${job.errorMessage ?? 'no message'}): it has no analysis`;
    default:
      return `job ${id} was ${job.status}: it has no analysis`;
  }
}

/**
 * The job `id` and its Analysis row.
 * @throws AppError `NOT_FOUND` (no such job, or no Analysis row), `FAILED_PRECONDITION` (not succeeded: 409)
 */
async function succeeded(db: Db, id: string): Promise<{ job: Job; analysis: Analysis }> {
  const job = await findJob(db, id);
  if (job.status !== 'succeeded')
    throw new AppError('FAILED_PRECONDITION', notReady(job), { details: { id, state: job.status } });
  const analysis = await db.analysis.findUnique({ where: { id } });
  if (analysis === null) throw new AppError('NOT_FOUND', `job ${id} succeeded but has no Analysis record`);
  return { job, analysis };
}

/** Registers the result routes. */
export function registerResultRoutes(app: GatewayApp, deps: GatewayDeps): void {
  const { db, homeDir } = deps;
  const kept =
    deps.resultTtlHours === undefined
      ? ''
      : ` (results are kept ${deps.resultTtlHours} h after their job finished)`;

  /** The 410 of a result that is no longer kept. */
  const gone = (id: string, why: string): StatusError =>
    new StatusError(
      'NOT_FOUND',
      410,
      'Gone',
      `the result of job ${id} ${why}${kept}; its provenance is still at /v1/assimilations/${id}/provenance`,
      { details: { id } },
    );

  /**
   * The bytes of the job's file of role `role` (`analysis`, `map`).
   * @returns undefined when the row records no such file and `optional`
   * @throws StatusError 410 when the result expired or its file is gone
   */
  async function resultFile(analysis: Analysis, role: string, optional = false): Promise<Buffer | undefined> {
    const id = analysis.id;
    if (analysis.expiredAt !== null)
      throw gone(id, `expired at ${analysis.expiredAt.toISOString()} and was removed`);
    const paths = (analysis.artifactPaths ?? {}) as Record<string, unknown>;
    const relative = paths[role];
    if (typeof relative !== 'string') {
      if (optional) return undefined;
      throw gone(id, `has no ${role} file`);
    }
    const bytes = await readResultFile(homeDir, id, relative);
    if (bytes === undefined) throw gone(id, 'is no longer on disk');
    return bytes;
  }

  const errors = {
    400: problemResponse('a bad id, format, flag or unknown variable (the known ones are listed)'),
    401: problemResponse('no, an unknown or a revoked API key'),
    403: problemResponse('the key lacks the read scope'),
    404: problemResponse('no such job'),
    409: problemResponse('the job has not succeeded (yet): the detail says its state'),
    410: problemResponse('the result has expired (ALIGNDA_RESULT_TTL_HOURS) and was removed'),
  };

  app.get(
    '/v1/assimilations/:id/analysis',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A succeeded job's analysis",
        description:
          'The ensemble mean and spread, and with members=true / background=true the members and the 48 h background, ' +
          'of the channels in `variables` (default all). format=netcdf: CF-1.8 netCDF classic (the stored file, cut ' +
          'down when the query asks for less); format=zarr: a Zarr v2 store (consolidated metadata, ' +
          '_ARRAY_DIMENSIONS, coordinates lat/lon/time) in a zip of stored entries, for ' +
          '`xr.open_zarr(zarr.storage.ZipStore(path))`; format=json: plain numbers, [C][H][W] (null outside the ' +
          'valid area). The files answer single byte ranges (Range: bytes=...; 206, or 416 past the end); every ' +
          'representation has a strong ETag (If-None-Match: 304).',
        tags: ['results'],
        security: [{ apiKey: [] }],
        params: idParams,
        querystring: analysisQuery,
        response: {
          200: {
            description: 'the analysis',
            content: {
              [CONTENT_TYPES.netcdf]: { schema: binary },
              [CONTENT_TYPES.zarr]: { schema: binary },
              [CONTENT_TYPES.json]: { schema: analysisJsonSchema },
            },
          },
          206: {
            description: 'the byte range asked for (netCDF, zip)',
            content: { [CONTENT_TYPES.netcdf]: { schema: binary }, [CONTENT_TYPES.zarr]: { schema: binary } },
          },
          304: notModified,
          ...errors,
          416: problemResponse('the Range lies past the end (Content-Range: bytes */size)'),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { analysis } = await succeeded(db, id);
      const bytes = (await resultFile(analysis, 'analysis')) ?? Buffer.alloc(0);
      const q = request.query;
      const rep = analysisRepresentation(id, bytes, {
        format: q.format,
        ...(q.variables === undefined ? {} : { variables: q.variables }),
        members: q.members,
        background: q.background,
      });
      return sendRepresentation(request, reply, rep);
    },
  );

  app.get(
    '/v1/assimilations/:id/map.png',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A map of a succeeded job's analysis",
        description:
          'Analysis mean, member spread, 48 h background and increment (analysis minus background) of one channel, ' +
          'the observation locations marked. Without `channel`, the map the orchestrator stored (the first ' +
          'channel); with it, drawn from the stored netCDF.',
        tags: ['results'],
        security: [{ apiKey: [] }],
        params: idParams,
        querystring: mapQuery,
        response: {
          200: { description: 'the map', content: { 'image/png': { schema: binary } } },
          206: { description: 'the byte range asked for', content: { 'image/png': { schema: binary } } },
          304: notModified,
          ...errors,
          416: problemResponse('the Range lies past the end'),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { job, analysis } = await succeeded(db, id);
      const { channel } = request.query;
      const stored = channel === undefined ? await resultFile(analysis, 'map', true) : undefined;
      let png = stored;
      if (png === undefined) {
        const a = readStoredAnalysis(id, (await resultFile(analysis, 'analysis')) ?? Buffer.alloc(0));
        const name = channel ?? a.channels[0] ?? '';
        checkVariables(a, [name]);
        png = analysisFileMapPng(a, name, observationsOf(job, a.grid, request.log));
      }
      return sendRepresentation(request, reply, {
        body: png,
        contentType: 'image/png',
        filename: `map-${id}${channel === undefined ? '' : `-${channel}`}.png`,
        ranges: true,
      });
    },
  );

  app.get(
    '/v1/assimilations/:id/provenance',
    {
      config: { scope: 'read' },
      schema: {
        summary: "What made a succeeded job's analysis",
        description:
          'The git commit, the SHA-256 of package-lock.json, the Node.js and onnxruntime-node versions, the execution ' +
          'provider asked for (and used, when the sampler reports it), the model version and the SHA-256 of its ' +
          'files, the seeds and the request. Kept after the result files expire. `alignda assimilate --from-job ' +
          '<id>` re-runs the request locally and compares.',
        tags: ['results'],
        security: [{ apiKey: [] }],
        params: idParams,
        response: {
          200: provenanceSchema,
          ...errors,
          404: problemResponse(
            'no such job, or no provenance recorded for it (stored before provenance was)',
          ),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { analysis } = await succeeded(db, id);
      if (analysis.provenance === null || typeof analysis.provenance !== 'object')
        throw new AppError(
          'NOT_FOUND',
          `no provenance recorded for job ${id} (its analysis was stored before provenance was)`,
        );
      return analysis.provenance as z.infer<typeof provenanceSchema>;
    },
  );
}

/** Where the job's observations were, for the map; none when the stored request cannot be read. */
function observationsOf(
  job: Job,
  grid: Parameters<typeof observationLocations>[1],
  log: FastifyRequest['log'],
): MapObservation[] | undefined {
  try {
    return observationLocations(parseAssimilationRequest(job.request).observations, grid);
  } catch (err) {
    log.warn({ err, jobId: job.id }, 'the stored request cannot be read: the map marks no observations');
    return undefined;
  }
}

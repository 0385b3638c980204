/**
 * A stored analysis (the orchestrator's netCDF) in the format a client asks for: the netCDF itself, or cut down to
 * some variables and kinds; a Zarr v2 store as a zip (packages/world's `zarrZipOfNetcdf`, which xarray opens through
 * `zarr.storage.ZipStore`); or JSON of plain numbers. By default the mean and the spread; the members and the
 * background on request. Pure: bytes in, bytes out.
 */
import { z } from 'zod';

import { AppError } from '@alignda/errors';
import { readAnalysisNetcdf, selectAnalysis, writeNetcdfClassic, zarrZipOfNetcdf } from '@alignda/world';
import type { AnalysisKind, AnalysisNetcdf } from '@alignda/world';

/** The formats of `GET /v1/assimilations/:id/analysis`. */
export const ANALYSIS_FORMATS = ['netcdf', 'zarr', 'json'] as const;
/** One of {@link ANALYSIS_FORMATS}. */
export type AnalysisFormat = (typeof ANALYSIS_FORMATS)[number];

/** What a client asks for. */
export interface AnalysisQuery {
  readonly format: AnalysisFormat;
  /** Channels to include, in any order. @defaultValue every channel */
  readonly variables?: readonly string[];
  /** Include the ensemble members. */
  readonly members: boolean;
  /** Include the 48 h background. */
  readonly background: boolean;
}

/** One representation of the analysis. */
export interface Representation {
  readonly body: Buffer;
  readonly contentType: string;
  /** For Content-Disposition. */
  readonly filename: string;
  /** Whether it is a file that byte ranges of make sense (netCDF, zip). */
  readonly ranges: boolean;
}

/** The media type of each format. */
export const CONTENT_TYPES: Readonly<Record<AnalysisFormat, string>> = {
  netcdf: 'application/x-netcdf',
  zarr: 'application/zip',
  json: 'application/json',
};

const EXTENSIONS: Readonly<Record<AnalysisFormat, string>> = { netcdf: 'nc', zarr: 'zarr.zip', json: 'json' };

/** A channel's values, [H][W]; null where the cell holds no data. */
const planeSchema = z.array(z.array(z.number().nullable()));

/** The JSON format's body. */
export const analysisJsonSchema = z
  .object({
    id: z.string().describe('the job id'),
    validTime: z.string().describe('ISO 8601 UTC'),
    grid: z.object({
      kind: z.enum(['latlon', 'beta-plane']),
      dims: z
        .array(z.string())
        .describe('the horizontal dimensions, rows first: ["lat", "lon"] or ["y", "x"]'),
      shape: z.array(z.number().int()).describe('[H, W]'),
      lat: z.array(z.number()).describe('row latitudes, degrees north (assigned ones on a beta plane)'),
      lon: z.array(z.number()).describe('column longitudes, degrees east'),
    }),
    channels: z.array(z.string()),
    units: z.array(z.string()).describe("each channel's units (UDUNITS)"),
    memberCount: z.number().int().describe('ensemble members M'),
    mean: z.array(planeSchema).describe('the member mean, [C][H][W], physical units'),
    spread: z
      .array(planeSchema)
      .nullable()
      .describe('the member standard deviation, [C][H][W]; null with one member'),
    members: z
      .array(z.array(planeSchema))
      .optional()
      .describe('with members=true: [M][C][H][W] (one member: the mean)'),
    background: z
      .array(planeSchema)
      .optional()
      .describe('with background=true: the 48 h background, [C][H][W]'),
  })
  .meta({ id: 'AnalysisJson' });

/** The JSON format's body. */
export type AnalysisJson = z.infer<typeof analysisJsonSchema>;

/**
 * The stored file read back.
 * @throws AppError `INTERNAL` for a file that is not an analysis (a damaged blob store; not the client's fault)
 */
export function readStoredAnalysis(jobId: string, bytes: Uint8Array): AnalysisNetcdf {
  try {
    return readAnalysisNetcdf(bytes);
  } catch (err) {
    throw new AppError('INTERNAL', `job ${jobId}: the stored analysis file cannot be read`, { cause: err });
  }
}

/**
 * `variables` checked against the analysis' channels.
 * @throws AppError `INVALID_ARGUMENT` naming the unknown ones and listing the known ones
 */
export function checkVariables(a: AnalysisNetcdf, variables: readonly string[]): void {
  const unknown = variables.filter((v) => !a.channels.includes(v));
  if (unknown.length > 0)
    throw new AppError(
      'INVALID_ARGUMENT',
      `unknown variable${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: the analysis holds ${a.channels.join(', ')}`,
      { details: { field: 'variables', unknown, known: a.channels } },
    );
}

/** [H * W] (or more planes) as rows of numbers, null for NaN. */
function planes(data: Float32Array, count: number, H: number, W: number): (number | null)[][][] {
  return Array.from({ length: count }, (_, p) =>
    Array.from({ length: H }, (_, i) =>
      Array.from(data.subarray((p * H + i) * W, (p * H + i + 1) * W), (v) => (Number.isNaN(v) ? null : v)),
    ),
  );
}

/** The JSON body of `a` for `channels`. */
function analysisJson(
  jobId: string,
  a: AnalysisNetcdf,
  channels: readonly string[],
  query: AnalysisQuery,
): AnalysisJson {
  const [H, W] = a.shape;
  const plane = (kind: AnalysisKind, channel: string): (number | null)[][] => {
    const data = a.field(kind, channel);
    if (data === undefined)
      throw new AppError('INTERNAL', `job ${jobId}: no ${kind} of ${channel} in the file`);
    return planes(data, 1, H, W)[0] ?? [];
  };
  const mean = channels.map((c) => plane('mean', c));
  const members = (): (number | null)[][][][] => {
    if (!a.kinds.includes('members')) return [mean];
    const byChannel = channels.map((c) =>
      planes(a.field('members', c) ?? new Float32Array(), a.members, H, W),
    );
    return Array.from({ length: a.members }, (_, m) => byChannel.map((perMember) => perMember[m] ?? []));
  };
  return {
    id: jobId,
    validTime: a.validTime,
    grid: {
      kind: a.grid.kind,
      dims: [...a.dims],
      shape: [H, W],
      lat: Array.from(a.grid.latDeg),
      lon: Array.from(a.grid.lonDeg),
    },
    channels: [...channels],
    units: channels.map((c) => a.units[a.channels.indexOf(c)] ?? ''),
    memberCount: a.members,
    mean,
    spread: a.kinds.includes('spread') ? channels.map((c) => plane('spread', c)) : null,
    ...(query.members ? { members: members() } : {}),
    ...(query.background ? { background: channels.map((c) => plane('background', c)) } : {}),
  };
}

/**
 * The representation of the stored analysis `bytes` that `query` asks for.
 * @throws AppError `INVALID_ARGUMENT` for an unknown variable, `INTERNAL` for a stored file that cannot be read
 */
export function analysisRepresentation(
  jobId: string,
  bytes: Uint8Array,
  query: AnalysisQuery,
): Representation {
  const a = readStoredAnalysis(jobId, bytes);
  const wanted = query.variables ?? a.channels;
  checkVariables(a, wanted);
  const channels = a.channels.filter((c) => wanted.includes(c));
  const kinds: AnalysisKind[] = [
    'mean',
    'spread',
    ...(query.members ? (['members'] as const) : []),
    ...(query.background ? (['background'] as const) : []),
  ];
  const base = `analysis-${jobId}${query.variables === undefined ? '' : `-${channels.join('-')}`}`;
  const out = (body: Uint8Array | string): Representation => ({
    body:
      typeof body === 'string'
        ? Buffer.from(body)
        : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    contentType: CONTENT_TYPES[query.format],
    filename: `${base}.${EXTENSIONS[query.format]}`,
    ranges: query.format !== 'json',
  });
  if (query.format === 'json') return out(JSON.stringify(analysisJson(jobId, a, channels, query)));
  const whole = channels.length === a.channels.length && a.kinds.every((k) => kinds.includes(k));
  if (query.format === 'netcdf')
    return out(whole ? bytes : writeNetcdfClassic(selectAnalysis(a, { channels, kinds })));
  return out(zarrZipOfNetcdf(selectAnalysis(a, { channels, kinds })));
}

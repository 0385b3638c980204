/**
 * The request of one assimilation job (issue 13): which source, which valid time, which observations, which method
 * and sampler settings. The one schema every door reads — the CLI's `alignda assimilate`, the gateway's
 * `POST /v1/assimilations` — so the same body gives the same job whichever door it comes through. The schema checks
 * what needs no source; {@link checkRequestAgainstSource} checks the rest (channels, grid, domain) once the source
 * is open.
 */
import { AppError } from '@alignda/errors';
import type { Grid } from '@alignda/tensor';
import { WORLDS, locatePoint, parseIsoUtc } from '@alignda/world';
import type { DaSource } from '@alignda/world';
import { z } from 'zod';

/** The methods a job runs: the three latent guidance modes and 3D-Var. */
export const JOB_METHODS = ['dps', 'repaint', 'obsfree', '3dvar'] as const;
export type JobMethod = (typeof JOB_METHODS)[number];

/** Most observations one job takes: a request body stays under a few MB of JSON. */
export const MAX_JOB_OBSERVATIONS = 100_000;

/** Most ensemble members: 64 members of a 64 x 64 x 7 state decode to 7 MB of float32. */
export const MAX_JOB_MEMBERS = 64;

/** Most sampler steps: 4096 is 64 times the default, already hours on a CPU. */
export const MAX_JOB_STEPS = 4096;

const isoTime = z
  .string()
  .refine((s) => Number.isFinite(parseIsoUtc(s)), 'must be an ISO 8601 UTC time such as 2013-01-01T06:00Z');

/** An error std: physical units of the observed channel, > 0. */
const sigma = z.number().positive();

/** An observation at a point off the grid (H = bilinear interpolation). Values and sigma in physical units. */
const pointObservation = z.strictObject({
  /** A channel name of the source (`z_upper`, `air`), or a variable with several levels with `level`. */
  variable: z.string().min(1),
  /** The level's value (e.g. 850 hPa) among the variable's levels in the dataset descriptor. */
  level: z.number().optional(),
  /** Degrees north. */
  lat: z.number().min(-90).max(90),
  /** Degrees east, in [-180, 360): -180..180 and 0..360 conventions both accepted. */
  lon: z.number().min(-180).lt(360),
  value: z.number(),
  sigma,
});

/** An observation of one grid cell (H = selection). Values and sigma in physical units. */
const cellObservation = z.strictObject({
  /** A channel name of the source. */
  channel: z.string().min(1),
  /** Row (latitude index as stored), in [0, H). */
  row: z.number().int().nonnegative(),
  /** Column (longitude index), in [0, W). */
  col: z.number().int().nonnegative(),
  value: z.number(),
  sigma,
});

/** The observations of a job: points or grid cells, never both. */
export const jobObservationsSchema = z.union(
  [
    z.strictObject({ points: z.array(pointObservation).min(1).max(MAX_JOB_OBSERVATIONS) }),
    z.strictObject({ cells: z.array(cellObservation).min(1).max(MAX_JOB_OBSERVATIONS) }),
  ],
  { error: 'must be { "points": [...] } or { "cells": [...] }, exactly one of them' },
);

/** The request of one assimilation job. */
export const assimilationRequestSchema = z.strictObject({
  /** A synthetic world (`qg`: the background is the physical model's forecast) or a registered dataset (emulator). */
  source: z.union(
    [z.strictObject({ world: z.enum(WORLDS) }), z.strictObject({ dataset: z.string().min(1) })],
    {
      error: `must be { "world": ${WORLDS.map((w) => `"${w}"`).join(' | ')} } or { "dataset": "<name>" }`,
    },
  ),
  /** The analysis time, ISO 8601 UTC; the background is the 48 h forecast valid then. */
  validTime: isoTime,
  observations: jobObservationsSchema,
  method: z.enum(JOB_METHODS),
  /** Ensemble members sampled (latent methods). @defaultValue 1 */
  members: z.number().int().min(1).max(MAX_JOB_MEMBERS).default(1),
  /** Sampler predictor steps (latent methods). @defaultValue 64, packages/da's sampler default */
  steps: z.number().int().min(1).max(MAX_JOB_STEPS).default(64),
  /** Seed of the sampler's noise, uint32. @defaultValue 0 */
  seed: z.number().int().min(0).max(0xffff_ffff).default(0),
  /** The model version to use. @defaultValue the model folder's current models */
  modelVersion: z.string().min(1).optional(),
});

/** A validated request, defaults filled in. */
export type AssimilationRequest = z.output<typeof assimilationRequestSchema>;
/** A request as a client writes it (defaults optional). */
export type AssimilationRequestInput = z.input<typeof assimilationRequestSchema>;
/** A request's observations. */
export type JobObservations = z.output<typeof jobObservationsSchema>;

/** Issues shown in one error line at most; the rest are counted. */
const ISSUES_SHOWN = 3;

/**
 * A failed parse as one line: each issue's path (`observations.cells[3].sigma`) and message, the first few.
 */
export function formatRequestIssues(error: z.ZodError): string {
  const where = (path: readonly PropertyKey[]): string =>
    path.reduce<string>(
      (s, k) => (typeof k === 'number' ? `${s}[${k}]` : s === '' ? String(k) : `${s}.${String(k)}`),
      '',
    ) || '(body)';
  const shown = error.issues.slice(0, ISSUES_SHOWN).map((i) => `${where(i.path)}: ${i.message}`);
  const more = error.issues.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/**
 * Validates a request body (parsed JSON) and fills in the defaults.
 * @throws AppError `INVALID_ARGUMENT` with {@link formatRequestIssues}'s line as message and the issues in details
 */
export function parseAssimilationRequest(body: unknown): AssimilationRequest {
  const r = assimilationRequestSchema.safeParse(body);
  if (r.success) return r.data;
  throw new AppError('INVALID_ARGUMENT', `invalid assimilation request: ${formatRequestIssues(r.error)}`, {
    details: { issues: r.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) },
  });
}

/** What {@link checkRequestAgainstSource} needs of a source (a `DaSource` of @alignda/world satisfies it). */
export interface JobSourceShape {
  /** Channel names, length C. */
  readonly channels: readonly string[];
  /** [C, H, W] */
  readonly shape: readonly [number, number, number];
  readonly grid: Grid;
  /** 1 where a cell holds data, [H, W]. @defaultValue every cell */
  readonly validMask?: Uint8Array;
  /**
   * Per channel, the variable and level it is (datasets with levels: `air` at 850), so that points may name a
   * variable and a level. @defaultValue channels are named only by their names
   */
  readonly levels?: readonly ({ readonly variable: string; readonly level?: number } | undefined)[];
}

/**
 * The shape of an opened source for {@link checkRequestAgainstSource}: a dataset's channels also answer to their
 * descriptor's source variable and level value (`air` at 850), the QG world's to their names only.
 */
export function jobSourceShape(source: DaSource): JobSourceShape {
  const vars = source.dataset?.descriptor.variables;
  return {
    channels: source.channels,
    shape: source.shape,
    grid: source.grid,
    ...(source.validMask === undefined ? {} : { validMask: source.validMask }),
    ...(vars === undefined
      ? {}
      : {
          levels: vars.map((v) =>
            v.level?.value === undefined
              ? { variable: v.source }
              : { variable: v.source, level: v.level.value },
          ),
        }),
  };
}

/** Observations resolved against a source: channel indices, column-wise, physical units. */
export type ResolvedObservations =
  | {
      readonly layout: 'cells';
      readonly channel: Int32Array;
      readonly row: Int32Array;
      readonly col: Int32Array;
      readonly value: Float64Array;
      readonly sigma: Float64Array;
    }
  | {
      readonly layout: 'points';
      readonly channel: Int32Array;
      readonly latDeg: Float64Array;
      readonly lonDeg: Float64Array;
      readonly value: Float64Array;
      readonly sigma: Float64Array;
    };

function invalid(message: string, index: number, field: string): AppError {
  return new AppError('INVALID_ARGUMENT', message, { details: { index, field } });
}

/** The channel a point names: a channel name, or a variable (and level) of the descriptor. */
function pointChannel(
  src: JobSourceShape,
  index: number,
  variable: string,
  level: number | undefined,
): number {
  const levels = src.levels ?? [];
  const byName = src.channels.indexOf(variable);
  const ofVariable = src.channels
    .map((_, c) => c)
    .filter((c) => levels[c]?.variable === variable || (byName === c && levels[c] === undefined));
  if (level === undefined) {
    if (byName >= 0) return byName;
    if (ofVariable.length === 1) return ofVariable[0] as number;
    if (ofVariable.length > 1) {
      const have = ofVariable.map((c) => levels[c]?.level).join(', ');
      throw invalid(
        `observation ${index}: variable '${variable}' has levels ${have}: give a level`,
        index,
        'level',
      );
    }
    throw invalid(
      `observation ${index}: unknown variable '${variable}' (known: ${src.channels.join(', ')})`,
      index,
      'variable',
    );
  }
  const match = ofVariable.find((c) => levels[c]?.level === level);
  if (match !== undefined) return match;
  if (ofVariable.length === 0 && byName < 0)
    throw invalid(
      `observation ${index}: unknown variable '${variable}' (known: ${src.channels.join(', ')})`,
      index,
      'variable',
    );
  const have = ofVariable.map((c) => levels[c]?.level).filter((l) => l !== undefined);
  throw invalid(
    `observation ${index}: variable '${variable}' has no level ${level}` +
      (have.length > 0 ? ` (levels: ${have.join(', ')})` : ' (it has no levels)'),
    index,
    'level',
  );
}

/**
 * Checks a validated request against the source it names and resolves its observations to channel indices.
 * @throws AppError `INVALID_ARGUMENT` naming the first offending observation: an unknown variable or channel, a
 *   row or column outside the grid, a cell observed twice, a point outside the domain (or in a padded area), or point
 *   observations with Repaint (which inpaints grid cells)
 */
export function checkRequestAgainstSource(
  request: Pick<AssimilationRequest, 'method' | 'observations'>,
  src: JobSourceShape,
): ResolvedObservations {
  const [, H, W] = src.shape;
  const obs = request.observations;
  if ('points' in obs) {
    if (request.method === 'repaint')
      throw new AppError('INVALID_ARGUMENT', 'Repaint needs gridded observations: use cells, or method dps', {
        details: { field: 'method' },
      });
    const n = obs.points.length;
    const out = {
      layout: 'points' as const,
      channel: new Int32Array(n),
      latDeg: new Float64Array(n),
      lonDeg: new Float64Array(n),
      value: new Float64Array(n),
      sigma: new Float64Array(n),
    };
    obs.points.forEach((p, i) => {
      out.channel[i] = pointChannel(src, i, p.variable, p.level);
      const loc = locatePoint(src.grid, p.lat, p.lon, src.validMask);
      if (!loc.ok) throw invalid(`observation ${i}: ${loc.reason}`, i, 'lat');
      out.latDeg[i] = p.lat;
      out.lonDeg[i] = p.lon;
      out.value[i] = p.value;
      out.sigma[i] = p.sigma;
    });
    return out;
  }
  const n = obs.cells.length;
  const out = {
    layout: 'cells' as const,
    channel: new Int32Array(n),
    row: new Int32Array(n),
    col: new Int32Array(n),
    value: new Float64Array(n),
    sigma: new Float64Array(n),
  };
  // Selection observes a cell once: a second value there would be a second row of H the DA core refuses.
  const seen = new Map<number, number>();
  obs.cells.forEach((c, i) => {
    const k = src.channels.indexOf(c.channel);
    if (k < 0)
      throw invalid(
        `observation ${i}: unknown channel '${c.channel}' (known: ${src.channels.join(', ')})`,
        i,
        'channel',
      );
    if (c.row >= H) throw invalid(`observation ${i}: row ${c.row} outside the grid's 0..${H - 1}`, i, 'row');
    if (c.col >= W) throw invalid(`observation ${i}: col ${c.col} outside the grid's 0..${W - 1}`, i, 'col');
    if (src.validMask !== undefined && src.validMask[c.row * W + c.col] === 0)
      throw invalid(
        `observation ${i}: cell (${c.row}, ${c.col}) is in the grid's padded (invalid) area`,
        i,
        'row',
      );
    const cell = (k * H + c.row) * W + c.col;
    const first = seen.get(cell);
    if (first !== undefined)
      throw invalid(
        `observation ${i}: ${c.channel} at cell (${c.row}, ${c.col}) is already observed by observation ${first}`,
        i,
        'row',
      );
    seen.set(cell, i);
    out.channel[i] = k;
    out.row[i] = c.row;
    out.col[i] = c.col;
    out.value[i] = c.value;
    out.sigma[i] = c.sigma;
  });
  return out;
}

import { z } from 'zod';

import { DatasetError } from './dataset-error.js';

/** ISO 8601 date or date-time, e.g. `2013-01-01` or `2013-01-01T06:00Z` (UTC when no offset is given). */
const ISO_TIME_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parses an ISO time of the descriptor as UTC; NaN when malformed. */
export function parseIsoUtc(iso: string): number {
  if (!ISO_TIME_RE.test(iso)) return Number.NaN;
  let s = iso;
  // `2013-01-01T00` is valid ISO 8601 but not for Date.parse: complete the minutes.
  if (/T\d{2}(Z|[+-]\d{2}:?\d{2})?$/.test(s)) s = s.replace(/T(\d{2})/, 'T$1:00');
  if (s.includes('T') && !/(Z|[+-]\d{2}:?\d{2})$/.test(s)) s += 'Z';
  return Date.parse(s);
}

const isoTime = z
  .string()
  .refine((s) => Number.isFinite(parseIsoUtc(s)), 'must be an ISO 8601 time such as 2013-01-01T00:00Z');

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes (e.g. ncep-air)');

/** Physical role of a channel, used to decide which diagnostics (rewards) apply. */
export const CHANNEL_ROLES = ['geopotential', 'u', 'v', 'temperature', 'other'] as const;

const variable = z.strictObject({
  /** Channel name in the platform, e.g. `t2m`, `z500`. */
  channel: z.string().min(1),
  /** Variable name in the source file, e.g. `air`. */
  source: z.string().min(1),
  /** Index along the source variable's level axis when it has one ([time, level, lat, lon]). */
  level: z
    .strictObject({
      index: z.number().int().nonnegative(),
      /** The level's value, for labels, e.g. 500. */
      value: z.number().optional(),
      /** The level's units, e.g. `hPa` or `sigma`. */
      units: z.string().optional(),
    })
    .optional(),
  /** Physical units after scaling (UDUNITS spelling), e.g. `K`, `m2 s-2`. */
  units: z.string().min(1),
  longName: z.string().optional(),
  /** physical = raw * scale + offset. When absent, read from the file's `scale_factor` (default 1). */
  scale: z
    .number()
    .refine((v) => v !== 0, 'must be non-zero')
    .optional(),
  /** physical = raw * scale + offset. When absent, read from the file's `add_offset` (default 0). */
  offset: z.number().optional(),
  /** @defaultValue 'other' */
  role: z.enum(CHANNEL_ROLES).default('other'),
});

/** A coordinate axis: read from a file variable, listed, or generated from start/step/count. */
const coordinate = z.union([
  z.strictObject({ variable: z.string().min(1) }),
  z.strictObject({ values: z.array(z.number()).min(1) }),
  z.strictObject({
    start: z.number(),
    step: z.number().refine((v) => v !== 0, 'must be non-zero'),
    count: z.number().int().positive(),
  }),
]);

const latLonGrid = z.strictObject({
  kind: z.literal('latlon'),
  /** Latitudes of the rows as stored (any monotone order; they are kept as stored). */
  lat: coordinate,
  /** Longitudes of the columns, degrees east, equally spaced. */
  lon: coordinate,
  /** @defaultValue false (regional data); true for global grids that wrap in longitude */
  periodicLon: z.boolean().default(false),
});

const betaPlaneGrid = z.strictObject({
  kind: z.literal('beta-plane'),
  lat: coordinate,
  lon: coordinate,
  dxM: z.number().positive(),
  dyM: z.number().positive(),
  f0PerS: z.number(),
  betaPerMS: z.number(),
});

const time = z.union([
  /** Read from a file variable with CF units such as `hours since 1800-01-01`. */
  z.strictObject({ variable: z.string().min(1) }),
  z.strictObject({ start: isoTime, stepHours: z.number().positive(), count: z.number().int().positive() }),
]);

const period = z
  .strictObject({ start: isoTime, end: isoTime })
  .refine((p) => parseIsoUtc(p.start) <= parseIsoUtc(p.end), 'start must not be after end');

const target = z.strictObject({
  /** Rows of the model grid; a multiple of 4 so the autoencoder's 4x downsampling is exact. */
  height: z.number().int().positive().multipleOf(4),
  /** Columns of the model grid; a multiple of 4. */
  width: z.number().int().positive().multipleOf(4),
  /**
   * How padded cells are filled: `edge` repeats the nearest valid cell (no artificial jump for
   * convolutions), `zero` writes 0. Either way the valid-area mask marks them invalid.
   * @defaultValue 'edge'
   */
  fill: z.enum(['edge', 'zero']).default('edge'),
});

/** Physical diagnostics (rewards) a dataset supports; see docs/METHOD.md section 5. */
export const DIAGNOSTICS = ['geostrophic', 'hydrostatic'] as const;
export type Diagnostic = (typeof DIAGNOSTICS)[number];

/**
 * The dataset descriptor schema. One JSON file per dataset; paths are relative to the descriptor
 * file's folder unless absolute.
 */
export const datasetDescriptorSchema = z
  .strictObject({
    name,
    title: z.string().min(1),
    source: z.strictObject({
      format: z.enum(['zarr', 'netcdf']),
      /**
       * Zarr v2 folder or netCDF file (classic or netCDF-4); relative to the descriptor file (the data root over
       * HTTP), or absolute, and under the data root (ALIGNDA_DATA_DIR) either way.
       */
      path: z.string().min(1),
    }),
    variables: z.array(variable).min(1),
    grid: z.discriminatedUnion('kind', [latLonGrid, betaPlaneGrid]),
    time,
    periods: z
      .strictObject({ train: period.optional(), alignment: period.optional(), test: period.optional() })
      .default({}),
    /** Model grid (pad/crop, centred). Absent: the stored shape is used as is. */
    target: target.optional(),
    /** @defaultValue [] (a single-variable dataset has no physical diagnostics) */
    diagnostics: z.array(z.enum(DIAGNOSTICS)).default([]),
    /** Free-text acknowledgement / licence line shown with the data. */
    attribution: z.string().optional(),
  })
  .superRefine((d, ctx) => {
    const seen = new Set<string>();
    d.variables.forEach((v, i) => {
      if (seen.has(v.channel)) {
        ctx.addIssue({
          code: 'custom',
          path: ['variables', i, 'channel'],
          message: `duplicates channel ${v.channel}`,
        });
      }
      seen.add(v.channel);
    });
    const count = (role: string): number => d.variables.filter((v) => v.role === role).length;
    if (
      d.diagnostics.includes('geostrophic') &&
      (count('geopotential') < 1 || count('u') < 1 || count('v') < 1)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['diagnostics'],
        message: 'geostrophic needs variables with roles geopotential, u and v',
      });
    }
    if (d.diagnostics.includes('hydrostatic') && (count('geopotential') < 2 || count('temperature') < 1)) {
      ctx.addIssue({
        code: 'custom',
        path: ['diagnostics'],
        message: 'hydrostatic needs geopotential at two levels and a temperature',
      });
    }
  });

/** A validated dataset descriptor (defaults applied). */
export type DatasetDescriptor = z.output<typeof datasetDescriptorSchema>;
/** A descriptor as written in JSON (defaults optional). */
export type DatasetDescriptorInput = z.input<typeof datasetDescriptorSchema>;
/** One variable (channel) of a descriptor. */
export type DescriptorVariable = DatasetDescriptor['variables'][number];
/** A coordinate axis spec of a descriptor. */
export type DescriptorCoordinate = z.output<typeof coordinate>;
/** A named period (inclusive ISO range). */
export type DescriptorPeriod = z.output<typeof period>;
/** Period names of a descriptor. */
export type PeriodName = 'train' | 'alignment' | 'test';

/** `['variables', 0, 'units']` -> `variables[0].units`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * Validates a parsed descriptor JSON value.
 * @param input - the JSON value
 * @param label - dataset name for messages when the input has none (e.g. the file name)
 * @returns the descriptor with defaults applied
 * @throws DatasetError `DESCRIPTOR_INVALID` with a one-line message naming every bad field, e.g.
 *   `descriptor ncep-air: variables[0].units is required`
 */
export function parseDatasetDescriptor(input: unknown, label = 'unnamed'): DatasetDescriptor {
  const result = datasetDescriptorSchema.safeParse(input, {
    error: (iss) => {
      if (iss.input === undefined && (iss.code === 'invalid_type' || iss.code === 'invalid_union'))
        return 'is required';
      if (iss.code === 'unrecognized_keys') return `has unknown field(s) ${iss.keys.join(', ')}`;
      return undefined;
    },
  });
  if (result.success) return result.data;
  const rec = input as { name?: unknown } | null;
  const dsName = rec !== null && typeof rec === 'object' && typeof rec.name === 'string' ? rec.name : label;
  const parts = result.error.issues.map((iss) => {
    // zod's defaults read "Invalid input: expected ..."; lower-case them to fit after the field name.
    const msg = iss.message.charAt(0).toLowerCase() + iss.message.slice(1);
    return `${formatPath(iss.path)} ${msg}`;
  });
  throw new DatasetError('DESCRIPTOR_INVALID', `descriptor ${dsName}: ${parts.join('; ')}`);
}

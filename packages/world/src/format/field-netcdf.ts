/**
 * Fields on a source grid at one time as the contents of a CF-1.8 netCDF file ({@link writeNetcdfClassic} encodes
 * it): coordinate variables lat/lon on a latitude-longitude grid, or y/x in metres with lat/lon as auxiliary
 * coordinates on a beta plane; time as hours since 1970-01-01; a member dimension for ensembles; one float32 variable
 * per channel and field kind, with units, long_name, standard_name where the channel is known, and _FillValue on the
 * cells outside a dataset's valid area.
 */
import type { Grid } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import { parseIsoUtc } from '../dataset/descriptor.js';
import type { NcAttributeValue, NcDimension, NcFile, NcVariable } from './netcdf-classic.js';

/** netCDF-C's default fill value of a float (NC_FILL_FLOAT), what readers expect. */
export const NC_FILL_FLOAT = 9.969209968386869e36;

/**
 * The CF standard name of a channel, where its name and units make it certain (temperature in K, geopotential in
 * m2 s-2, geopotential height in m, eastward and northward wind in m s-1); undefined otherwise.
 */
export function cfStandardName(channel: string, units: string): string | undefined {
  const base = (re: RegExp): boolean => re.test(channel);
  if (units === 'K' && base(/^(t|air|ta|temp|temperature)(\d|_|$)/)) return 'air_temperature';
  if (units === 'm2 s-2' && base(/^(z|phi|geopotential)(\d|_|$)/)) return 'geopotential';
  if (units === 'm' && base(/^(z|hgt|gh)(\d|_|$)/)) return 'geopotential_height';
  if (units === 'm s-1' && base(/^(u|uwnd)(\d|_|$)/)) return 'eastward_wind';
  if (units === 'm s-1' && base(/^(v|vwnd)(\d|_|$)/)) return 'northward_wind';
  return undefined;
}

/** One kind of field (the analysis mean, its spread, the members, the background), one variable per channel. */
export interface FieldSet {
  /** Appended to each channel's name: '' for the main field, e.g. `_spread`, `_background`, `_members`. */
  readonly suffix: string;
  /** What the values are, prefixed to each channel's long name, e.g. `analysis mean of`. */
  readonly description: string;
  /** [C, H, W], or [M, C, H, W] with `members`. */
  readonly data: Float32Array;
  /** Ensemble members M: the variables get the `member` dimension. @defaultValue a single field */
  readonly members?: number;
  /**
   * Whether the values are the quantity itself (so the channel's standard name applies), not a statistic of it such
   * as a spread. @defaultValue true
   */
  readonly isQuantity?: boolean;
}

/** What {@link fieldsNetcdf} writes. */
export interface FieldsNetcdfInput {
  readonly grid: Grid;
  /** Channel names, length C (also the variables' base names). */
  readonly channels: readonly string[];
  /** Channel units (UDUNITS), length C. */
  readonly units: readonly string[];
  /** The fields' time, ISO 8601 UTC. */
  readonly time: string;
  readonly sets: readonly FieldSet[];
  /** 1 where a cell holds data, [H, W]; the others are written as _FillValue. @defaultValue every cell */
  readonly validMask?: Uint8Array;
  /** Global attributes besides `Conventions` (title, source, history...). @defaultValue none */
  readonly attributes?: Readonly<Record<string, NcAttributeValue>>;
}

/**
 * The netCDF contents of `input`: dimensions `time`, (`member`), `lat`/`lon` or `y`/`x`, their coordinate variables,
 * and one variable `<channel><suffix>` per channel and set, dimensions (time, [member,] lat|y, lon|x).
 * @throws DatasetError `SHAPE_MISMATCH` when a set's data, the units or the mask do not fit the grid and channels;
 *   `MALFORMED_INPUT` for a time that is not ISO 8601
 */
export function fieldsNetcdf(input: FieldsNetcdfInput): NcFile {
  const { grid, channels } = input;
  const C = channels.length;
  const H = grid.latDeg.length;
  const W = grid.lonDeg.length;
  if (input.units.length !== C)
    throw new DatasetError('SHAPE_MISMATCH', `fieldsNetcdf: ${C} channels but ${input.units.length} units`);
  if (input.validMask !== undefined && input.validMask.length !== H * W)
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `fieldsNetcdf: validMask has ${input.validMask.length} cells, the grid ${H} x ${W}`,
    );
  const timeMs = parseIsoUtc(input.time);
  if (!Number.isFinite(timeMs))
    throw new DatasetError('MALFORMED_INPUT', `fieldsNetcdf: time '${input.time}' is not ISO 8601`);
  const M = Math.max(1, ...input.sets.map((s) => s.members ?? 1));
  const withMembers = input.sets.some((s) => s.members !== undefined);

  const beta = grid.kind === 'beta-plane';
  const [yDim, xDim] = beta ? ['y', 'x'] : ['lat', 'lon'];
  const dimensions: NcDimension[] = [
    { name: 'time', size: 1 },
    ...(withMembers ? [{ name: 'member', size: M }] : []),
    { name: yDim, size: H },
    { name: xDim, size: W },
  ];
  const variables: NcVariable[] = [
    {
      name: 'time',
      dimensions: ['time'],
      type: 'double',
      attributes: {
        standard_name: 'time',
        long_name: 'time',
        units: 'hours since 1970-01-01 00:00:00',
        calendar: 'standard',
        axis: 'T',
      },
      data: [timeMs / 3_600_000],
    },
  ];
  if (withMembers)
    variables.push({
      name: 'member',
      dimensions: ['member'],
      type: 'int',
      attributes: { standard_name: 'realization', long_name: 'ensemble member' },
      data: Int32Array.from({ length: M }, (_, m) => m),
    });
  const lat: NcVariable = {
    name: 'lat',
    dimensions: [yDim],
    type: 'double',
    attributes: {
      standard_name: 'latitude',
      long_name: beta ? 'latitude assigned to the beta-plane row' : 'latitude',
      units: 'degrees_north',
      ...(beta ? {} : { axis: 'Y' }),
    },
    data: grid.latDeg,
  };
  const lon: NcVariable = {
    name: 'lon',
    dimensions: [xDim],
    type: 'double',
    attributes: {
      standard_name: 'longitude',
      long_name: beta ? 'longitude assigned to the beta-plane column' : 'longitude',
      units: 'degrees_east',
      ...(beta ? {} : { axis: 'X' }),
    },
    data: grid.lonDeg,
  };
  if (grid.kind === 'beta-plane') {
    // y from the channel's centre (the QG model's rowY), x from the first column, metres.
    variables.push(
      {
        name: 'y',
        dimensions: ['y'],
        type: 'double',
        attributes: {
          standard_name: 'projection_y_coordinate',
          long_name: 'northward distance from the channel centre',
          units: 'm',
          axis: 'Y',
        },
        data: Float64Array.from({ length: H }, (_, i) => (i + 0.5 - H / 2) * grid.dyM),
      },
      {
        name: 'x',
        dimensions: ['x'],
        type: 'double',
        attributes: {
          standard_name: 'projection_x_coordinate',
          long_name: 'eastward distance (periodic)',
          units: 'm',
          axis: 'X',
        },
        data: Float64Array.from({ length: W }, (_, j) => j * grid.dxM),
      },
    );
  }
  variables.push(lat, lon);

  const plane = H * W;
  for (const set of input.sets) {
    const m = set.members ?? 1;
    if (set.data.length !== m * C * plane)
      throw new DatasetError(
        'SHAPE_MISMATCH',
        `fieldsNetcdf: set '${set.suffix}' has ${set.data.length} values; ${m} x ${C} x ${H} x ${W} expected`,
      );
    if (withMembers && set.members !== undefined && set.members !== M)
      throw new DatasetError('SHAPE_MISMATCH', `fieldsNetcdf: sets have ${set.members} and ${M} members`);
    for (const [c, channel] of channels.entries()) {
      const units = input.units[c] as string;
      const standard = (set.isQuantity ?? true) ? cfStandardName(channel, units) : undefined;
      // [m, c, H, W] -> (time = 1, [member,] H, W): one channel's planes, member-major.
      const data = new Float32Array(m * plane);
      for (let k = 0; k < m; k++) {
        const from = (k * C + c) * plane;
        for (let g = 0; g < plane; g++)
          data[k * plane + g] =
            input.validMask === undefined || input.validMask[g] !== 0
              ? (set.data[from + g] as number)
              : NC_FILL_FLOAT;
      }
      variables.push({
        name: `${channel}${set.suffix}`,
        dimensions: ['time', ...(set.members === undefined ? [] : ['member']), yDim, xDim],
        type: 'float',
        attributes: {
          long_name: `${set.description} ${channel}`,
          units,
          ...(standard === undefined ? {} : { standard_name: standard }),
          _FillValue: NC_FILL_FLOAT,
          ...(beta ? { coordinates: 'lat lon' } : {}),
        },
        data,
      });
    }
  }
  return {
    dimensions,
    variables,
    attributes: { Conventions: 'CF-1.8', ...input.attributes },
  };
}

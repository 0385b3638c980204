/**
 * An analysis file read back: the netCDF that `alignda assimilate` and the orchestrator write through
 * {@link fieldsNetcdf} (one variable per channel and kind: `<channel>` the member mean, `<channel>_spread`,
 * `<channel>_members` with a `member` dimension, `<channel>_background`), and the same file cut down to some channels
 * and kinds, for the gateway's results and the comparison of a re-run with the stored analysis.
 */
import { latLonGrid } from '@alignda/tensor';
import type { Grid } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import type { NcAttributeValue, NcFile, NcVariable, NcVariableType } from './netcdf-classic.js';
import { readNetcdfClassic } from './netcdf-classic-reader.js';
import type { NcReadAttribute, NcReadFile, NcReadVariable } from './netcdf-classic-reader.js';

/** The kinds of field an analysis file holds, by the suffix of their variables' names. */
export const ANALYSIS_KINDS = {
  mean: '',
  spread: '_spread',
  members: '_members',
  background: '_background',
} as const;
/** One of {@link ANALYSIS_KINDS}. */
export type AnalysisKind = keyof typeof ANALYSIS_KINDS;

/** An analysis file read back. Values are float32 as stored; cells outside the valid area are NaN. */
export interface AnalysisNetcdf {
  /** The file as read. */
  readonly file: NcReadFile;
  /** The valid time, ISO 8601 UTC. */
  readonly validTime: string;
  /** Channel names, in the file's order (also the mean variables' names). */
  readonly channels: readonly string[];
  /** Each channel's units. */
  readonly units: readonly string[];
  /** The kinds present (the mean always). */
  readonly kinds: readonly AnalysisKind[];
  /** Ensemble members M: the `member` dimension, else 1. */
  readonly members: number;
  /** [H, W]. */
  readonly shape: readonly [number, number];
  /** The horizontal dimensions: `lat`/`lon`, or `y`/`x` on a beta plane. */
  readonly dims: readonly [string, string];
  /** The grid, rebuilt from the coordinates (a beta plane's f0 and beta are not stored: 0). */
  readonly grid: Grid;
  /** 1 where a cell holds data, [H, W] (cells of the mean that are the fill value are 0). */
  readonly validMask: Uint8Array;
  /**
   * The values of one channel and kind: [H, W], or [M, H, W] for `members`; undefined when the file does not hold
   * that kind.
   */
  field(kind: AnalysisKind, channel: string): Float32Array | undefined;
}

/** What a cut-down file keeps. */
export interface AnalysisSelection {
  /** Channels to keep, in the file's order whatever the order given. @defaultValue every channel */
  readonly channels?: readonly string[];
  /** Kinds to keep (the mean always). @defaultValue every kind in the file */
  readonly kinds?: readonly AnalysisKind[];
}

const TYPES: Readonly<Record<number, NcVariableType>> = { 4: 'int', 5: 'float', 6: 'double' };

/** Whether `name`, a variable of dimensions (time, [member,] y, x), is a field of a kind other than the mean. */
function suffixOf(name: string): AnalysisKind | undefined {
  for (const kind of ['spread', 'members', 'background'] as const)
    if (name.endsWith(ANALYSIS_KINDS[kind])) return kind;
  return undefined;
}

const text = (a: NcReadAttribute | undefined): string | undefined => (typeof a === 'string' ? a : undefined);

/**
 * Reads an analysis file.
 * @throws DatasetError `MALFORMED_INPUT` for a file that is not netCDF classic or not laid out as an analysis file
 */
export function readAnalysisNetcdf(bytes: Uint8Array): AnalysisNetcdf {
  const file = readNetcdfClassic(bytes);
  const fail = (why: string): never => {
    throw new DatasetError('MALFORMED_INPUT', `analysis file: ${why}`);
  };
  const byName = new Map(file.variables.map((v) => [v.name, v]));
  const size = (name: string): number | undefined => file.dimensions.find((d) => d.name === name)?.size;
  const [yDim, xDim] = size('y') !== undefined && size('x') !== undefined ? ['y', 'x'] : ['lat', 'lon'];
  const H = size(yDim) ?? fail(`no ${yDim} dimension`);
  const W = size(xDim) ?? fail(`no ${xDim} dimension`);
  const M = size('member') ?? 1;

  const time = byName.get('time') ?? fail('no time variable');
  const units = text(time.attributes.units) ?? '';
  const origin = /^hours since 1970-01-01( 00:00(:00)?)?$/.exec(units);
  if (origin === null) fail(`time units '${units}' are not hours since 1970-01-01`);
  const validTime = new Date(Math.round((time.data[0] ?? Number.NaN) * 3_600_000));
  if (Number.isNaN(validTime.getTime())) fail('no valid time');

  const means = file.variables.filter(
    (v) => v.dimensions.join() === `time,${yDim},${xDim}` && suffixOf(v.name) === undefined,
  );
  if (means.length === 0) fail('no field variables');
  const channels = means.map((v) => v.name);
  const kinds = (Object.keys(ANALYSIS_KINDS) as AnalysisKind[]).filter(
    (kind) => kind === 'mean' || channels.every((c) => byName.has(`${c}${ANALYSIS_KINDS[kind]}`)),
  );
  const lat = byName.get('lat')?.data ?? fail('no lat variable');
  const lon = byName.get('lon')?.data ?? fail('no lon variable');
  if (lat.length !== H || lon.length !== W)
    fail(`lat/lon are ${lat.length} x ${lon.length}, the grid ${H} x ${W}`);
  const grid = gridOf(yDim === 'y', lat, lon, byName.get('y')?.data, byName.get('x')?.data);

  const fields = new Map<string, Float32Array>();
  const field = (kind: AnalysisKind, channel: string): Float32Array | undefined => {
    const name = `${channel}${ANALYSIS_KINDS[kind]}`;
    if (!channels.includes(channel) || !kinds.includes(kind)) return undefined;
    let out = fields.get(name);
    if (out === undefined) {
      const v = byName.get(name) ?? fail(`no ${name} variable`);
      const fill = v.attributes._FillValue;
      const fillValue = Array.isArray(fill) ? Math.fround(fill[0] ?? Number.NaN) : Number.NaN;
      out = Float32Array.from(v.data, (x) => (x === fillValue ? Number.NaN : x));
      if (out.length !== (kind === 'members' ? M : 1) * H * W) fail(`${name} has ${out.length} values`);
      fields.set(name, out);
    }
    return out;
  };
  const first = field('mean', channels[0] as string) ?? new Float32Array(H * W);
  const validMask = Uint8Array.from(first, (x) => (Number.isNaN(x) ? 0 : 1));
  return {
    file,
    validTime: validTime.toISOString(),
    channels,
    units: means.map((v) => text(v.attributes.units) ?? ''),
    kinds,
    members: M,
    shape: [H, W],
    dims: [yDim, xDim] as const,
    grid,
    validMask,
    field,
  };
}

/** The grid of the file's coordinates: a beta plane (y/x in metres) or a latitude-longitude grid. */
function gridOf(
  beta: boolean,
  lat: Float64Array,
  lon: Float64Array,
  y: Float64Array | undefined,
  x: Float64Array | undefined,
): Grid {
  if (!beta) return latLonGrid(lat, lon);
  const step = (a: Float64Array | undefined): number =>
    a !== undefined && a.length > 1 ? (a[1] as number) - (a[0] as number) : 0;
  return {
    kind: 'beta-plane',
    latDeg: Float64Array.from(lat),
    lonDeg: Float64Array.from(lon),
    dyM: step(y),
    dxM: step(x),
    f0PerS: 0,
    betaPerMS: 0,
    periodicLon: true,
  };
}

/** A read attribute as the writer takes it: integer values as int (what the writers store counts as), else double. */
function attributeOf(value: NcReadAttribute): NcAttributeValue {
  if (typeof value === 'string') return value;
  const ints = value.every((v) => Number.isInteger(v) && Math.abs(v) < 2 ** 31);
  return ints ? { type: 'int', values: value } : value;
}

function variableOf(v: NcReadVariable): NcVariable {
  const type = TYPES[v.type];
  if (type === undefined)
    throw new DatasetError(
      'MALFORMED_INPUT',
      `analysis file: ${v.name} has nc_type ${v.type}, not int, float or double`,
    );
  const attributes: Record<string, NcAttributeValue> = {};
  // _FillValue and the valid range take the variable's own type in the writer: keep them plain numbers.
  for (const [k, a] of Object.entries(v.attributes))
    attributes[k] = k.startsWith('_') || k.startsWith('valid_') || typeof a === 'string' ? a : attributeOf(a);
  return {
    name: v.name,
    dimensions: v.dimensions,
    type,
    attributes,
    data: type === 'float' ? Float32Array.from(v.data) : v.data,
  };
}

/**
 * The file's contents cut down to `selection`: the coordinates, and the field variables of the channels and kinds
 * kept, in the file's order; the `member` dimension only when the members are kept. Global attributes are kept;
 * numeric attributes with integer values are written back as int, others as double.
 * @throws DatasetError `VARIABLE_MISSING` for a channel the file does not hold (the message lists those it does)
 */
export function selectAnalysis(a: AnalysisNetcdf, selection: AnalysisSelection = {}): NcFile {
  const channels = selection.channels ?? a.channels;
  const unknown = channels.filter((c) => !a.channels.includes(c));
  if (unknown.length > 0)
    throw new DatasetError(
      'VARIABLE_MISSING',
      `unknown variable${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: the analysis holds ${a.channels.join(', ')}`,
    );
  const kinds = new Set<AnalysisKind>(['mean', ...(selection.kinds ?? a.kinds)]);
  const keepMembers = kinds.has('members') && a.kinds.includes('members');
  const fieldNames = new Set(
    a.channels.flatMap((c) =>
      channels.includes(c)
        ? [...kinds].filter((k) => a.kinds.includes(k)).map((k) => `${c}${ANALYSIS_KINDS[k]}`)
        : [],
    ),
  );
  const allFields = new Set(a.channels.flatMap((c) => a.kinds.map((k) => `${c}${ANALYSIS_KINDS[k]}`)));
  const variables = a.file.variables.filter((v) =>
    allFields.has(v.name) ? fieldNames.has(v.name) : v.name !== 'member' || keepMembers,
  );
  return {
    dimensions: a.file.dimensions.filter((d) => d.name !== 'member' || keepMembers),
    variables: variables.map(variableOf),
    attributes: Object.fromEntries(Object.entries(a.file.attributes).map(([k, v]) => [k, attributeOf(v)])),
  };
}

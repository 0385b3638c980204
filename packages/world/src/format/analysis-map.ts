/**
 * The map of one channel of an analysis (map.png of a job's results): the analysis mean, the member spread, the 48 h
 * background and the increment (analysis minus background), drawn by {@link renderPanelsPng} with the observation
 * locations marked. The mean and the background share one colour scale, so their difference reads off the map; the
 * increment is on a diverging scale about 0.
 */
import type { Grid } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import { renderPanelsPng } from '../render/render-panels.js';
import type { RenderPanel } from '../render/render-panels.js';
import type { AnalysisNetcdf } from './analysis-netcdf.js';

/** An observation's location on the map. */
export interface MapObservation {
  /** Degrees north. */
  readonly lat: number;
  /** Degrees east. */
  readonly lon: number;
}

/** A request's observations as the map reads them: grid cells (row, col) or points (lat, lon). */
export type ObservationsOnGrid =
  | { readonly cells: readonly { readonly row: number; readonly col: number }[] }
  | { readonly points: readonly { readonly lat: number; readonly lon: number }[] };

/**
 * Where the observations of a request lie on `grid`: a cell at its row's latitude and column's longitude, a point
 * where it is; one mark per place (observations of several channels at one place are one mark).
 */
export function observationLocations(observations: ObservationsOnGrid, grid: Grid): MapObservation[] {
  const places =
    'cells' in observations
      ? observations.cells.map((c) => ({
          lat: grid.latDeg[c.row] ?? Number.NaN,
          lon: grid.lonDeg[c.col] ?? Number.NaN,
        }))
      : observations.points.map((p) => ({ lat: p.lat, lon: p.lon }));
  const seen = new Set<string>();
  return places.filter((p) => {
    const key = `${p.lat},${p.lon}`;
    if (!Number.isFinite(p.lat) || !Number.isFinite(p.lon) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** One channel of an analysis, the map's input. Fields [H, W], physical units, NaN outside the valid area. */
export interface AnalysisMapInput {
  readonly grid: Grid;
  readonly channel: string;
  readonly units: string;
  /** ISO 8601 UTC, for the title. */
  readonly validTime: string;
  readonly mean: Float32Array;
  /** Absent for a one-member analysis: the panel is left out. */
  readonly spread?: Float32Array;
  readonly background: Float32Array;
  /** 1 where a cell holds data, [H, W]. @defaultValue every cell */
  readonly validMask?: Uint8Array;
  /** Where the assimilated observations were (of every channel). @defaultValue none */
  readonly observations?: readonly MapObservation[];
  /** What made it, for the title, e.g. `dps, 4 members`. @defaultValue none */
  readonly note?: string;
}

/** The least and greatest finite value of two fields together. */
function jointRange(a: Float32Array, b: Float32Array): { vmin?: number; vmax?: number } {
  let vmin = Infinity;
  let vmax = -Infinity;
  for (const field of [a, b])
    for (const v of field)
      if (Number.isFinite(v)) {
        if (v < vmin) vmin = v;
        if (v > vmax) vmax = v;
      }
  return vmin <= vmax ? { vmin, vmax } : {};
}

/**
 * The PNG of {@link AnalysisMapInput}: mean, spread (when there is one), background, increment.
 * @throws DatasetError `SHAPE_MISMATCH` when a field does not fit the grid
 */
export function analysisMapPng(input: AnalysisMapInput): Buffer {
  const H = input.grid.latDeg.length;
  const W = input.grid.lonDeg.length;
  const shape = [H, W] as const;
  for (const [name, f] of [
    ['mean', input.mean],
    ['spread', input.spread],
    ['background', input.background],
  ] as const)
    if (f !== undefined && f.length !== H * W)
      throw new DatasetError(
        'SHAPE_MISMATCH',
        `analysisMapPng: ${name} has ${f.length} values, the grid ${H} x ${W}`,
      );
  const increment = input.mean.map((v, i) => v - (input.background[i] as number));
  const range = jointRange(input.mean, input.background);
  // The observations go on every panel but the spread's; with a renderer that cannot mark them they are ignored.
  const marks = input.observations === undefined ? {} : { obs: input.observations };
  const common = {
    grid: input.grid,
    units: input.units,
    ...(input.validMask === undefined ? {} : { mask: input.validMask }),
  };
  const panel = (p: RenderPanel & { readonly obs?: readonly MapObservation[] }): RenderPanel => p;
  const panels: RenderPanel[] = [
    panel({
      ...common,
      ...range,
      ...marks,
      field: { data: input.mean, shape },
      title: `analysis ${input.channel}`,
    }),
    ...(input.spread === undefined
      ? []
      : [panel({ ...common, field: { data: input.spread, shape }, title: `spread ${input.channel}` })]),
    panel({
      ...common,
      ...range,
      ...marks,
      field: { data: input.background, shape },
      title: `background ${input.channel}`,
    }),
    panel({
      ...common,
      ...marks,
      colormap: 'diverging',
      field: { data: increment, shape },
      title: `increment ${input.channel}`,
    }),
  ];
  const time = input.validTime.replace(/:00(\.000)?Z$/, 'Z');
  return renderPanelsPng(panels, {
    cols: 2,
    title: `${input.channel} ${time}${input.note === undefined ? '' : ` ${input.note}`}`,
  });
}

/**
 * The map of `channel` of an analysis file.
 * @throws DatasetError `VARIABLE_MISSING` for a channel the file does not hold (the message lists those it does)
 */
export function analysisFileMapPng(
  a: AnalysisNetcdf,
  channel: string,
  observations?: readonly MapObservation[],
): Buffer {
  const c = a.channels.indexOf(channel);
  const mean = a.field('mean', channel);
  const background = a.field('background', channel);
  if (c < 0 || mean === undefined)
    throw new DatasetError(
      'VARIABLE_MISSING',
      `unknown variable ${channel}: the analysis holds ${a.channels.join(', ')}`,
    );
  if (background === undefined)
    throw new DatasetError('VARIABLE_MISSING', `the analysis file holds no background of ${channel}`);
  const spread = a.field('spread', channel);
  const method = typeof a.file.attributes.method === 'string' ? a.file.attributes.method : undefined;
  return analysisMapPng({
    grid: a.grid,
    channel,
    units: a.units[c] ?? '',
    validTime: a.validTime,
    mean,
    ...(spread === undefined ? {} : { spread }),
    background,
    validMask: a.validMask,
    ...(observations === undefined ? {} : { observations }),
    ...(method === undefined ? {} : { note: `${method}, ${a.members} member${a.members === 1 ? '' : 's'}` }),
  });
}

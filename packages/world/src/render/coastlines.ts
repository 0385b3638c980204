/**
 * Coastlines of Natural Earth 1:110m (world-atlas `land-110m`): the boundary arcs of the land polygons, as one
 * MultiLineString, drawn as a path through a map's projection.
 */
import { createRequire } from 'node:module';

import { geoPath } from 'd3-geo';
import type { GeoProjection } from 'd3-geo';
import type { MultiLineString } from 'geojson';
import { mesh } from 'topojson-client';

import { DatasetError } from '../dataset/dataset-error.js';

type Topology = Parameters<typeof mesh>[0];
type MeshObject = NonNullable<Parameters<typeof mesh>[1]>;

/** The coastline arcs (Node caches the 55 kB TopoJSON after the first read). */
export function coastlines(): MultiLineString {
  const topo = createRequire(import.meta.url)('world-atlas/land-110m.json') as Topology;
  const land = topo.objects['land'] as MeshObject | undefined;
  if (land === undefined)
    throw new DatasetError('SOURCE_NOT_FOUND', 'world-atlas/land-110m.json has no land object');
  // Every arc of the merged land polygons is a coastline: land-110m has no inner borders.
  return mesh(topo, land);
}

/** SVG path data of the coastlines through `projection` (clipped to its clip extent); '' when none is in view. */
export function coastlinePathData(projection: GeoProjection): string {
  return geoPath(projection).digits(2)(coastlines()) ?? '';
}

/**
 * Where the cells of a map go on screen: an equirectangular (plate carree) projection fitted to the grid's
 * lat/lon extent, or a plain pixel grid when there is no grid.
 */
import { geoEquirectangular } from 'd3-geo';
import type { GeoProjection } from 'd3-geo';
import type { Grid } from '@alignda/tensor';

/** A tick on the map frame: its position along the axis (map pixels) and its label. */
export interface AxisTick {
  readonly pos: number;
  readonly label: string;
}

/** The screen layout of one map, in map-local pixels ((0, 0) is the north-west corner). */
export interface MapFrame {
  /** Map width and height, pixels. */
  readonly width: number;
  readonly height: number;
  /** Left and right pixel edges of each column, length W each (left < right whatever the stored order). */
  readonly colX0: Float64Array;
  readonly colX1: Float64Array;
  /** Top and bottom pixel edges of each row, length H each. */
  readonly rowY0: Float64Array;
  readonly rowY1: Float64Array;
  /**
   * [lon, lat] degrees -> map pixels, rotated so that the map's central longitude is at its centre (so
   * 0..360 grids, and extents across the antimeridian, are continuous) and clipped to the map for paths.
   * Undefined without a grid.
   */
  readonly projection: GeoProjection | undefined;
  /** Latitude ticks (pos = y) and longitude ticks (pos = x); empty without a grid. */
  readonly latTicks: readonly AxisTick[];
  readonly lonTicks: readonly AxisTick[];
}

const RAD = Math.PI / 180;
/** Tick spacings tried, degrees, finest first. */
const TICK_STEPS_DEG = [1, 2, 5, 10, 15, 20, 30, 45, 60, 90];

/** Cell edges from cell centres (midpoints, ends extended by half the end spacing), length n + 1, same order. */
function edgesOf(centres: Float64Array, fallbackStep: number): Float64Array {
  const n = centres.length;
  const e = new Float64Array(n + 1);
  if (n === 1) {
    const c = centres[0] as number;
    e[0] = c - fallbackStep / 2;
    e[1] = c + fallbackStep / 2;
    return e;
  }
  for (let i = 1; i < n; i++) e[i] = ((centres[i - 1] as number) + (centres[i] as number)) / 2;
  e[0] = (centres[0] as number) - ((centres[1] as number) - (centres[0] as number)) / 2;
  e[n] = (centres[n - 1] as number) + ((centres[n - 1] as number) - (centres[n - 2] as number)) / 2;
  return e;
}

/** `30°N`, `0°`, `15°S`. */
export function latLabel(lat: number): string {
  return lat === 0 ? '0°' : `${Math.abs(lat)}°${lat > 0 ? 'N' : 'S'}`;
}

/** `120°W`, `0°`, `180°`, `60°E`, for longitudes in either convention. */
export function lonLabel(lon: number): string {
  const w = ((((lon + 180) % 360) + 360) % 360) - 180; // [-180, 180)
  if (w === 0) return '0°';
  if (w === -180) return '180°';
  return `${Math.abs(w)}°${w > 0 ? 'E' : 'W'}`;
}

/** Multiples of a round step within [lo, hi], at most about `maxCount` of them. */
function degreeTicks(lo: number, hi: number, maxCount: number): number[] {
  const step = TICK_STEPS_DEG.find((s) => (hi - lo) / s <= Math.max(2, maxCount)) ?? 90;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}

/**
 * The frame of a map of shape [H, W].
 * @param scale - pixels per grid column
 */
export function mapFrame(shape: readonly [number, number], grid: Grid | undefined, scale: number): MapFrame {
  const [H, W] = shape;
  if (grid === undefined) {
    const at = (n: number, off: number): Float64Array =>
      Float64Array.from({ length: n }, (_, i) => (i + off) * scale);
    return {
      width: W * scale,
      height: H * scale,
      colX0: at(W, 0),
      colX1: at(W, 1),
      rowY0: at(H, 0),
      rowY1: at(H, 1),
      projection: undefined,
      latTicks: [],
      lonTicks: [],
    };
  }
  const lonSpacing =
    W > 1 ? Math.abs((grid.lonDeg[W - 1] as number) - (grid.lonDeg[0] as number)) / (W - 1) : 0;
  const latSpacing =
    H > 1 ? Math.abs((grid.latDeg[H - 1] as number) - (grid.latDeg[0] as number)) / (H - 1) : 0;
  const lonEdges = edgesOf(grid.lonDeg, lonSpacing || latSpacing || 1);
  const latEdges = edgesOf(grid.latDeg, latSpacing || lonSpacing || 1).map((v) =>
    Math.min(90, Math.max(-90, v)),
  );
  const lonWest = Math.min(lonEdges[0] as number, lonEdges[W] as number);
  const lonSpan = Math.abs((lonEdges[W] as number) - (lonEdges[0] as number));
  const lonCentre = lonWest + lonSpan / 2;
  const latNorth = Math.max(latEdges[0] as number, latEdges[H] as number);
  const latSouth = Math.min(latEdges[0] as number, latEdges[H] as number);
  const k = (W * scale) / (lonSpan * RAD); // pixels per radian, the same along both axes
  const width = W * scale;
  const height = k * (latNorth - latSouth) * RAD;
  // Screen position of a longitude relative to the centre (unwrapped: the grid's own longitudes are
  // continuous) and of a latitude; the projection below computes the same for any point.
  const xOf = (lon: number): number => k * (lon - lonCentre) * RAD + width / 2;
  const yOf = (lat: number): number => k * (latNorth - lat) * RAD;
  const projection = geoEquirectangular()
    .rotate([-lonCentre, 0])
    .scale(k)
    .translate([width / 2, k * latNorth * RAD])
    .clipExtent([
      [0, 0],
      [width, height],
    ]);
  const colX0 = new Float64Array(W);
  const colX1 = new Float64Array(W);
  for (let j = 0; j < W; j++) {
    const a = xOf(lonEdges[j] as number);
    const b = xOf(lonEdges[j + 1] as number);
    colX0[j] = Math.min(a, b);
    colX1[j] = Math.max(a, b);
  }
  const rowY0 = new Float64Array(H);
  const rowY1 = new Float64Array(H);
  for (let i = 0; i < H; i++) {
    const a = yOf(latEdges[i] as number);
    const b = yOf(latEdges[i + 1] as number);
    rowY0[i] = Math.min(a, b);
    rowY1[i] = Math.max(a, b);
  }
  return {
    width,
    height,
    colX0,
    colX1,
    rowY0,
    rowY1,
    projection,
    latTicks: degreeTicks(latSouth, latNorth, Math.floor(height / 40)).map((v) => ({
      pos: yOf(v),
      label: latLabel(v),
    })),
    lonTicks: degreeTicks(lonWest, lonWest + lonSpan, Math.floor(width / 70)).map((v) => ({
      pos: xOf(v),
      label: lonLabel(v),
    })),
  };
}

/** Mean Earth radius in metres (WGS84 authalic sphere), used for lat-lon spacing. */
export const EARTH_RADIUS_M = 6_371_000;
/** Earth's rotation rate in rad/s (sidereal day). */
export const EARTH_OMEGA_PER_S = 7.292115e-5;
/** Standard gravity in m/s^2. */
export const GRAVITY_M_PER_S2 = 9.80665;
/** Gas constant of dry air in J/(kg K). */
export const R_DRY_J_PER_KG_K = 287.05;

/**
 * A regular latitude-longitude grid. Rows are latitudes (any monotone order), columns longitudes.
 * Spacing in metres follows the sphere: dx = R cos(lat) dlon, dy = R dlat.
 */
export interface LatLonGrid {
  readonly kind: 'latlon';
  /** Row latitudes in degrees north, length H, monotone. */
  readonly latDeg: Float64Array;
  /** Column longitudes in degrees east, length W, equally spaced. */
  readonly lonDeg: Float64Array;
  /** True when the longitudes wrap around the globe (finite differences are then periodic). */
  readonly periodicLon: boolean;
}

/**
 * A beta-plane channel: Cartesian x (east, periodic) and y (north) with constant spacing, and latitudes
 * assigned to rows for weighting, plotting and the Coriolis parameter f = f0 + beta (y - y0).
 */
export interface BetaPlaneGrid {
  readonly kind: 'beta-plane';
  /** Assigned row latitudes in degrees north, length H, increasing. */
  readonly latDeg: Float64Array;
  /** Assigned column longitudes in degrees east, length W. */
  readonly lonDeg: Float64Array;
  /** Grid spacing in x (east), metres. */
  readonly dxM: number;
  /** Grid spacing in y (north), metres. */
  readonly dyM: number;
  /** Coriolis parameter at the channel centre, 1/s. */
  readonly f0PerS: number;
  /** Meridional gradient of f, 1/(m s). */
  readonly betaPerMS: number;
  /** Always periodic in x. */
  readonly periodicLon: true;
}

/** Any grid a field can live on. */
export type Grid = LatLonGrid | BetaPlaneGrid;

/** Grid height (rows = latitudes). */
export function gridHeight(grid: Grid): number {
  return grid.latDeg.length;
}

/** Grid width (columns = longitudes). */
export function gridWidth(grid: Grid): number {
  return grid.lonDeg.length;
}

import { TensorError } from './tensor-error.js';

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

/** Options of {@link latLonGrid}. */
export interface LatLonGridOptions {
  /**
   * Whether the longitudes wrap around the globe. `true` is checked (W * dlon must equal 360 deg).
   * @defaultValue detected: true exactly when W * dlon = 360 deg (to 1e-3 of a step)
   */
  readonly periodicLon?: boolean;
}

/** Relative tolerance on longitude steps: float32-stored longitudes near 360 deg carry ~3e-5 deg error. */
const LON_STEP_RTOL = 1e-4;

/**
 * Builds and validates a regular latitude-longitude grid.
 * @param latDeg - row latitudes in degrees north, length H >= 1, strictly monotone (either order), in [-90, 90]
 * @param lonDeg - column longitudes in degrees east, length W >= 1, strictly increasing and equally spaced
 * @throws TensorError naming the first offending value
 */
export function latLonGrid(
  latDeg: ArrayLike<number>,
  lonDeg: ArrayLike<number>,
  options: LatLonGridOptions = {},
): LatLonGrid {
  const lat = Float64Array.from(latDeg);
  const lon = Float64Array.from(lonDeg);
  if (lat.length < 1 || lon.length < 1) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `latLonGrid: need at least one latitude and one longitude, got ${lat.length} x ${lon.length}`,
    );
  }
  lat.forEach((v, i) => {
    if (!Number.isFinite(v) || v < -90 || v > 90) {
      throw new TensorError('OUT_OF_RANGE', `latLonGrid: latDeg[${i}] = ${v} is outside [-90, 90]`);
    }
  });
  const dir = lat.length > 1 ? Math.sign(at(lat, 1) - at(lat, 0)) : 1;
  for (let i = 1; i < lat.length; i++) {
    if (dir === 0 || Math.sign(at(lat, i) - at(lat, i - 1)) !== dir) {
      throw new TensorError(
        'MALFORMED_INPUT',
        `latLonGrid: latitudes must be strictly monotone; latDeg[${i - 1}..${i}] breaks it`,
      );
    }
  }
  lon.forEach((v, j) => {
    if (!Number.isFinite(v))
      throw new TensorError('NON_FINITE_VALUES', `latLonGrid: lonDeg[${j}] = ${v} is not finite`);
  });
  const W = lon.length;
  const step = W > 1 ? (at(lon, W - 1) - at(lon, 0)) / (W - 1) : 0;
  for (let j = 1; j < W; j++) {
    const d = at(lon, j) - at(lon, j - 1);
    if (!(step > 0) || Math.abs(d - step) > LON_STEP_RTOL * step) {
      throw new TensorError(
        'MALFORMED_INPUT',
        `latLonGrid: longitudes must be strictly increasing and equally spaced; step ${j - 1}..${j} is ${d} deg, mean step ${step} deg`,
      );
    }
  }
  const span = W * step;
  const wraps = W > 1 && Math.abs(span - 360) <= 1e-3 * step;
  if (W > 1 && span > 360 + 1e-3 * step) {
    throw new TensorError(
      'MALFORMED_INPUT',
      `latLonGrid: longitudes cover ${span} deg (> 360): a column is duplicated`,
    );
  }
  if (options.periodicLon === true && !wraps) {
    throw new TensorError(
      'MALFORMED_INPUT',
      `latLonGrid: periodicLon requested but W * dlon = ${span} deg, not 360`,
    );
  }
  return { kind: 'latlon', latDeg: lat, lonDeg: lon, periodicLon: options.periodicLon ?? wraps };
}

/** Options of {@link betaPlaneGrid}. */
export interface BetaPlaneGridOptions {
  /** Rows (y, south to north), >= 1. */
  readonly H: number;
  /** Columns (x, east, periodic), >= 1. */
  readonly W: number;
  /** Spacing in x, metres, > 0. */
  readonly dxM: number;
  /** Spacing in y, metres, > 0. */
  readonly dyM: number;
  /** Latitude of the channel centre (between the middle rows), degrees north, in (-90, 90). */
  readonly latCentreDeg: number;
  /**
   * Longitude of column 0, degrees east.
   * @defaultValue 0
   */
  readonly lonWestDeg?: number;
  /**
   * Assigned row latitudes (length H, increasing).
   * @defaultValue latCentreDeg + (i - (H - 1) / 2) * dyM / R, in degrees: the sphere's dy = R dlat
   */
  readonly latDeg?: ArrayLike<number>;
  /**
   * Assigned column longitudes (length W).
   * @defaultValue lonWestDeg + j * dxM / (R cos(latCentre)), in degrees: dx = R cos(lat0) dlon at the centre
   */
  readonly lonDeg?: ArrayLike<number>;
  /**
   * Coriolis parameter at the centre, 1/s.
   * @defaultValue 2 Omega sin(latCentre)
   */
  readonly f0PerS?: number;
  /**
   * Meridional gradient of f, 1/(m s); 0 gives an f-plane.
   * @defaultValue 2 Omega cos(latCentre) / R
   */
  readonly betaPerMS?: number;
}

/**
 * Builds and validates a beta-plane channel grid (row 0 southernmost), with latitudes assigned to rows and
 * f0, beta taken from the centre latitude: f0 = 2 Omega sin(lat0), beta = 2 Omega cos(lat0) / R.
 * @throws TensorError on a non-positive size or spacing, a centre latitude outside (-90, 90), assigned
 *   latitudes outside [-90, 90] or not increasing, or assigned coordinates of the wrong length
 */
export function betaPlaneGrid(options: BetaPlaneGridOptions): BetaPlaneGrid {
  const { H, W, dxM, dyM, latCentreDeg } = options;
  for (const [name, v] of [
    ['H', H],
    ['W', W],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new TensorError('OUT_OF_RANGE', `betaPlaneGrid: ${name} must be an integer >= 1, got ${v}`);
  }
  for (const [name, v] of [
    ['dxM', dxM],
    ['dyM', dyM],
  ] as const) {
    if (!Number.isFinite(v) || v <= 0)
      throw new TensorError('OUT_OF_RANGE', `betaPlaneGrid: ${name} must be > 0, got ${v}`);
  }
  if (!Number.isFinite(latCentreDeg) || Math.abs(latCentreDeg) >= 90) {
    throw new TensorError(
      'OUT_OF_RANGE',
      `betaPlaneGrid: latCentreDeg must be in (-90, 90), got ${latCentreDeg}`,
    );
  }
  const lat0 = (latCentreDeg * Math.PI) / 180;
  const latDeg =
    options.latDeg === undefined
      ? Float64Array.from(
          { length: H },
          (_, i) => latCentreDeg + ((i - (H - 1) / 2) * dyM * 180) / (Math.PI * EARTH_RADIUS_M),
        )
      : Float64Array.from(options.latDeg);
  if (latDeg.length !== H)
    throw new TensorError('SHAPE_MISMATCH', `betaPlaneGrid: latDeg has length ${latDeg.length}, H is ${H}`);
  latDeg.forEach((v, i) => {
    if (!Number.isFinite(v) || v < -90 || v > 90) {
      throw new TensorError(
        'OUT_OF_RANGE',
        `betaPlaneGrid: assigned latitude of row ${i} is ${v}, outside [-90, 90]`,
      );
    }
    if (i > 0 && !(v > at(latDeg, i - 1))) {
      throw new TensorError(
        'MALFORMED_INPUT',
        `betaPlaneGrid: assigned latitudes must increase with the row; rows ${i - 1}..${i} do not`,
      );
    }
  });
  const lonWestDeg = options.lonWestDeg ?? 0;
  const dlonDeg = (dxM * 180) / (Math.PI * EARTH_RADIUS_M * Math.cos(lat0));
  const lonDeg =
    options.lonDeg === undefined
      ? Float64Array.from({ length: W }, (_, j) => lonWestDeg + j * dlonDeg)
      : Float64Array.from(options.lonDeg);
  if (lonDeg.length !== W)
    throw new TensorError('SHAPE_MISMATCH', `betaPlaneGrid: lonDeg has length ${lonDeg.length}, W is ${W}`);
  const f0PerS = options.f0PerS ?? 2 * EARTH_OMEGA_PER_S * Math.sin(lat0);
  const betaPerMS = options.betaPerMS ?? (2 * EARTH_OMEGA_PER_S * Math.cos(lat0)) / EARTH_RADIUS_M;
  if (!Number.isFinite(f0PerS) || !Number.isFinite(betaPerMS)) {
    throw new TensorError(
      'NON_FINITE_VALUES',
      `betaPlaneGrid: f0PerS and betaPerMS must be finite, got ${f0PerS}, ${betaPerMS}`,
    );
  }
  return { kind: 'beta-plane', latDeg, lonDeg, dxM, dyM, f0PerS, betaPerMS, periodicLon: true };
}

/**
 * Northward coordinate of each row in metres, signed (it decreases down the rows when latitudes descend).
 * Lat-lon: y = R lat (radians). Beta-plane: y = (i - (H - 1) / 2) dyM, 0 at the channel centre.
 * @returns shape [H]
 */
export function northingM(grid: Grid): Float64Array {
  const H = gridHeight(grid);
  if (grid.kind === 'latlon') return grid.latDeg.map((v) => (v * Math.PI * EARTH_RADIUS_M) / 180);
  return Float64Array.from({ length: H }, (_, i) => (i - (H - 1) / 2) * grid.dyM);
}

/**
 * Eastward grid spacing of each row in metres. Lat-lon: dx = R cos(lat) dlon (0 at a pole).
 * Beta-plane: dxM on every row.
 * @returns shape [H]
 * @throws TensorError `SHAPE_MISMATCH` on a lat-lon grid with a single column (no spacing defined)
 */
export function zonalSpacingM(grid: Grid): Float64Array {
  if (grid.kind === 'beta-plane') return new Float64Array(gridHeight(grid)).fill(grid.dxM);
  const W = gridWidth(grid);
  if (W < 2)
    throw new TensorError('SHAPE_MISMATCH', `zonalSpacingM: a grid of width ${W} has no zonal spacing`);
  const dlon = (((at(grid.lonDeg, W - 1) - at(grid.lonDeg, 0)) / (W - 1)) * Math.PI) / 180;
  // cos(+-90 deg) is 6e-17 in floating point, not 0: clamp so that pole rows read exactly 0.
  return grid.latDeg.map((v) =>
    Math.abs(v) >= 90 ? 0 : EARTH_RADIUS_M * Math.cos((v * Math.PI) / 180) * dlon,
  );
}

/**
 * Coriolis parameter of each row, 1/s: f = 2 Omega sin(lat) on lat-lon grids, f0 + beta y on the beta-plane
 * (y from {@link northingM}).
 * @returns shape [H]
 */
export function coriolisPerS(grid: Grid): Float64Array {
  if (grid.kind === 'latlon')
    return grid.latDeg.map((v) => 2 * EARTH_OMEGA_PER_S * Math.sin((v * Math.PI) / 180));
  const { f0PerS, betaPerMS } = grid;
  return northingM(grid).map((y) => f0PerS + betaPerMS * y);
}

/** Element i of a Float64Array whose bounds the caller has checked. */
function at(a: Float64Array, i: number): number {
  return a[i] as number;
}

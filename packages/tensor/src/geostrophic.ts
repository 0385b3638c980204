import type { Tensor } from './field.js';
import { ddx, ddy } from './finite-difference.js';
import { coriolisPerS, gridHeight, gridWidth, zonalSpacingM } from './grid.js';
import type { Grid } from './grid.js';
import { pointWeights } from './internal/point-weights.js';
import { checkSameShape, checkTensor, shapeSize } from './internal/shape.js';
import type { FloatArray } from './internal/shape.js';
import { TensorError } from './tensor-error.js';

/** Geostrophic wind components, m/s, each the shape of the geopotential they came from. */
export interface GeostrophicWind {
  /** Eastward component u_g, shape [..., H, W]. */
  readonly u: Tensor<Float64Array>;
  /** Northward component v_g, shape [..., H, W]. */
  readonly v: Tensor<Float64Array>;
}

/** Options of {@link geostrophicWind}. */
export interface GeostrophicWindOptions {
  /**
   * A constant Coriolis parameter f0, 1/s, finite and non-zero, used on every row in place of the grid's own f:
   * the quasi-geostrophic balance of a beta-plane channel (Holton section 6.2), whose winds balance f0, not
   * f0 + beta y (with f0 + beta y even the QG truth looks unbalanced).
   * @defaultValue the grid's f ({@link coriolisPerS}): 2 Omega sin(lat) on lat-lon grids, f0 + beta y on a beta plane
   */
  readonly f0PerS?: number;
}

/**
 * Geostrophic wind from geopotential (METHOD.md section 5; Holton, An Introduction to Dynamic
 * Meteorology, eq. 3.2 with Phi on pressure surfaces): u_g = -(1/f) dPhi/dy, v_g = (1/f) dPhi/dx, with
 * f = 2 Omega sin(lat) on lat-lon grids and f0 + beta y on beta-plane grids ({@link coriolisPerS}), or the
 * constant `options.f0PerS`, and the derivatives of {@link ddx} / {@link ddy}. Rows where f = 0 are NaN in
 * both components, and v_g is NaN on pole rows (dx = 0).
 * @param phi - geopotential in m2 s-2, shape [..., H, W] on `grid`
 * @returns u_g and v_g in m/s, shape of `phi`
 * @throws TensorError `OUT_OF_RANGE` when `options.f0PerS` is given and is 0 or not finite
 */
export function geostrophicWind(
  phi: Tensor<FloatArray>,
  grid: Grid,
  options: GeostrophicWindOptions = {},
): GeostrophicWind {
  const f = coriolisOf('geostrophicWind', grid, options.f0PerS);
  const u = ddy(phi, grid);
  const v = ddx(phi, grid);
  const H = gridHeight(grid);
  const W = gridWidth(grid);
  const n = u.data.length;
  for (let k = 0; k < n; k++) {
    const fi = f[Math.floor(k / W) % H] as number;
    if (fi === 0) {
      u.data[k] = NaN;
      v.data[k] = NaN;
    } else {
      u.data[k] = -(u.data[k] as number) / fi;
      v.data[k] = (v.data[k] as number) / fi;
    }
  }
  return { u, v };
}

/** The Coriolis parameter per row, shape [H]: the grid's own, or the constant f0PerS (checked). */
function coriolisOf(fn: string, grid: Grid, f0PerS: number | undefined): Float64Array {
  if (f0PerS === undefined) return coriolisPerS(grid);
  if (f0PerS === 0 || !Number.isFinite(f0PerS))
    throw new TensorError('OUT_OF_RANGE', `${fn}: f0PerS must be finite and non-zero, got ${f0PerS}`);
  return new Float64Array(gridHeight(grid)).fill(f0PerS);
}

/** Options of {@link geostrophicDeviation}. */
export interface GeostrophicDeviationOptions extends GeostrophicWindOptions {
  /**
   * Rows with |lat| below this many degrees are left out: f -> 0 there and balance does not hold.
   * @defaultValue 15 (METHOD.md section 5)
   */
  readonly tropicsDeg?: number;
  /**
   * Valid-area mask, shape [H, W]; points where it is 0 are left out as well.
   * @defaultValue every point valid
   */
  readonly mask?: Uint8Array;
}

/** The geostrophic deviation and its two halves. */
export interface GeostrophicDeviation {
  /** D = (du + dv) / 2. */
  readonly d: number;
  /** |u - u_g| / |u|. */
  readonly du: number;
  /** |v - v_g| / |v|. */
  readonly dv: number;
}

/**
 * Geostrophic deviation of a wind field from the geostrophic wind of its geopotential (METHOD.md
 * section 5): D = (|u - u_g| / |u| + |v - v_g| / |v|) / 2, with |.| the L2 norm over every slab and every
 * valid point. Valid: |lat| >= tropicsDeg, not a pole row (dx = 0), and the mask. 0 for an exactly
 * geostrophic wind; (e / (1 + e)) for u = (1 + e) u_g, v = (1 + e) v_g. The Coriolis parameter is the grid's
 * own, or the constant `options.f0PerS` (the QG world's balance).
 * @param u - eastward wind, m/s, shape [..., H, W] on `grid`
 * @param v - northward wind, m/s, shape of `u`
 * @param phi - geopotential, m2 s-2, shape of `u`
 * @throws TensorError when shapes differ (`SHAPE_MISMATCH`), `f0PerS` is 0 or not finite (`OUT_OF_RANGE`), or
 *   no point is valid or |u| or |v| is 0 over the valid points (`DEGENERATE`)
 */
export function geostrophicDeviation(
  u: Tensor<FloatArray>,
  v: Tensor<FloatArray>,
  phi: Tensor<FloatArray>,
  grid: Grid,
  options: GeostrophicDeviationOptions = {},
): GeostrophicDeviation {
  const fn = 'geostrophicDeviation';
  checkTensor(fn, 'u', u);
  checkTensor(fn, 'v', v);
  checkSameShape(fn, 'u', u.shape, 'v', v.shape);
  checkSameShape(fn, 'u', u.shape, 'phi', phi.shape);
  if (options.f0PerS !== undefined) coriolisOf(fn, grid, options.f0PerS); // checked here to name this function
  const tropicsDeg = options.tropicsDeg ?? 15;
  const H = gridHeight(grid);
  const W = gridWidth(grid);
  const dx = zonalSpacingM(grid);
  const rowValid = Float64Array.from(grid.latDeg, (lat, i) =>
    Math.abs(lat) >= tropicsDeg && dx[i] !== 0 ? 1 : 0,
  );
  const { weights } = pointWeights(fn, H, W, rowValid, options.mask);
  const g = geostrophicWind(phi, grid, options.f0PerS === undefined ? {} : { f0PerS: options.f0PerS });
  const n = shapeSize(u.shape);
  let eu = 0;
  let ev = 0;
  let nu = 0;
  let nv = 0;
  for (let k = 0; k < n; k++) {
    if (weights[k % (H * W)] === 0) continue;
    const uk = u.data[k] as number;
    const vk = v.data[k] as number;
    eu += (uk - (g.u.data[k] as number)) ** 2;
    ev += (vk - (g.v.data[k] as number)) ** 2;
    nu += uk * uk;
    nv += vk * vk;
  }
  if (!(nu > 0) || !(nv > 0)) {
    throw new TensorError(
      'DEGENERATE',
      `${fn}: |u| = ${Math.sqrt(nu)} and |v| = ${Math.sqrt(nv)} over the valid points; both must be > 0`,
    );
  }
  const du = Math.sqrt(eu / nu);
  const dv = Math.sqrt(ev / nv);
  return { d: (du + dv) / 2, du, dv };
}

/**
 * Geo-Score reward (METHOD.md section 5): 2 sigmoid(-|D - D_truth| / s), in (0, 1], 1 when the sample is
 * exactly as geostrophically balanced as the truth.
 * @param d - deviation D of the sample
 * @param dTruth - deviation D of the truth
 * @param scale - s > 0, the deviation difference at which the score has fallen to 2 sigmoid(-1) = 0.538
 * @throws TensorError `OUT_OF_RANGE` when scale is not a positive finite number
 */
export function geoScore(d: number, dTruth: number, scale: number): number {
  if (!(scale > 0) || !Number.isFinite(scale))
    throw new TensorError('OUT_OF_RANGE', `geoScore: scale must be > 0, got ${scale}`);
  // 2 sigmoid(-a) = 2 / (1 + e^a) for a = |D - D_truth| / s >= 0: no overflow trouble (e^a -> Infinity gives 0).
  return 2 / (1 + Math.exp(Math.abs(d - dTruth) / scale));
}

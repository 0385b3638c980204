import { EARTH_RADIUS_M } from '@alignda/tensor';
import type { Grid } from '@alignda/tensor';
import { symSqrt } from '../internal/linalg.js';
import { invalidArgument } from '../internal/errors.js';
import { correlation } from './correlation.js';
import type { CorrelationKind } from './correlation.js';

/**
 * The separable square root S = (C_lat^(1/2) (x) I_W) blockdiag_i(C_lon,i^(1/2)) of one spatial correlation
 * C = S S^T over [H, W] slabs (see {@link createBSqrt} for the distances and why the square roots are
 * symmetric eigen square roots). Shared by the separable and the balanced B.
 */
export interface SpatialSqrt {
  /** out[outOff .. outOff + H W) = S a[aOff .. aOff + H W); `out` must not overlap the input slab. */
  apply(a: Float64Array, aOff: number, out: Float64Array, outOff: number): void;
  /** out = S^T a on one slab (the meridional factor first, then the zonal one). */
  applyT(a: Float64Array, aOff: number, out: Float64Array, outOff: number): void;
}

const RAD = Math.PI / 180;

/**
 * Meridional distance between rows i and j, metres: R |dlat| on the sphere, dy |i - j| on a beta plane.
 */
export function meridionalDistanceM(grid: Grid, i: number, j: number): number {
  return grid.kind === 'beta-plane'
    ? grid.dyM * Math.abs(i - j)
    : EARTH_RADIUS_M * RAD * Math.abs((grid.latDeg[i] as number) - (grid.latDeg[j] as number));
}

/**
 * Zonal distance of k columns along row i, metres: the chord 2 r sin(dlon k / 2) of the latitude circle
 * (r = R cos(lat_i)) when longitudes wrap, the arc r dlon k otherwise; on a beta plane the chord of the
 * periodic channel of length W dx.
 * @returns a function of k (0 <= k < W)
 */
export function zonalDistanceM(grid: Grid, i: number): (k: number) => number {
  const W = grid.lonDeg.length;
  if (grid.kind === 'beta-plane') {
    const radius = (W * grid.dxM) / (2 * Math.PI);
    return (k) => 2 * radius * Math.abs(Math.sin((Math.PI * k) / W));
  }
  const dLon = W > 1 ? ((grid.lonDeg[W - 1] as number) - (grid.lonDeg[0] as number)) / (W - 1) : 0;
  const r = EARTH_RADIUS_M * Math.cos(RAD * (grid.latDeg[i] as number));
  return grid.periodicLon
    ? (k) => 2 * r * Math.abs(Math.sin((RAD * dLon * k) / 2))
    : (k) => r * RAD * dLon * k;
}

/**
 * Builds the separable spatial square root of the correlation `kind` with length scale `lengthScaleM` on
 * `grid` (H = latitudes, W = longitudes).
 * @param fn - the public function asking, for error messages
 * @throws AppError INVALID_ARGUMENT when the length scale is not finite and > 0
 */
export function createSpatialSqrt(
  fn: string,
  grid: Grid,
  kind: CorrelationKind,
  lengthScaleM: number,
): SpatialSqrt {
  const L = lengthScaleM;
  if (!(L > 0) || !Number.isFinite(L))
    throw invalidArgument(fn, `lengthScaleM must be finite and > 0, got ${L}`);
  const H = grid.latDeg.length;
  const W = grid.lonDeg.length;
  const cLat = new Float64Array(H * H);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < H; j++) cLat[i * H + j] = correlation(kind, meridionalDistanceM(grid, i, j), L);
  const lLat = symSqrt(cLat, H);
  // Zonal square roots per row, shared between rows of equal radius (e.g. mirror latitudes).
  const cache = new Map<number, Float64Array>();
  const lLon: Float64Array[] = [];
  for (let i = 0; i < H; i++) {
    const key =
      grid.kind === 'beta-plane'
        ? 0
        : Math.round(Math.abs(EARTH_RADIUS_M * Math.cos(RAD * (grid.latDeg[i] as number))));
    let m = cache.get(key);
    if (m === undefined) {
      const zonal = zonalDistanceM(grid, i);
      const c = new Float64Array(W * W);
      for (let a = 0; a < W; a++)
        for (let b = 0; b < W; b++) c[a * W + b] = correlation(kind, zonal(Math.abs(a - b)), L);
      m = symSqrt(c, W);
      cache.set(key, m);
    }
    lLon.push(m);
  }
  const HW = H * W;
  const tmp = new Float64Array(HW);
  // Both factors are symmetric; S^T applies them in reverse order.
  const zonal = (a: Float64Array, aOff: number, out: Float64Array, outOff: number): void => {
    for (let i = 0; i < H; i++) {
      const M = lLon[i] as Float64Array;
      const o = i * W;
      for (let k = 0; k < W; k++) {
        let s = 0;
        for (let l = 0; l < W; l++) s += (M[k * W + l] as number) * (a[aOff + o + l] as number);
        out[outOff + o + k] = s;
      }
    }
  };
  const meridional = (a: Float64Array, aOff: number, out: Float64Array, outOff: number): void => {
    out.fill(0, outOff, outOff + HW);
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < H; j++) {
        const m = lLat[i * H + j] as number;
        if (m === 0) continue;
        for (let k = 0; k < W; k++)
          out[outOff + i * W + k] = (out[outOff + i * W + k] as number) + m * (a[aOff + j * W + k] as number);
      }
    }
  };
  return {
    apply(a, aOff, out, outOff) {
      zonal(a, aOff, tmp, 0);
      meridional(tmp, 0, out, outOff);
    },
    applyT(a, aOff, out, outOff) {
      meridional(a, aOff, tmp, 0);
      zonal(tmp, 0, out, outOff);
    },
  };
}

import type { Grid } from '@alignda/tensor';
import type { BackgroundErrorStats } from './background-error.js';
import type { CorrelationModel } from './correlation.js';
import { createSpatialSqrt } from './spatial-sqrt.js';
import { symSqrt } from '../internal/linalg.js';
import { invalidArgument } from '../internal/errors.js';

export { correlation } from './correlation.js';
export type { CorrelationKind, CorrelationModel } from './correlation.js';

/**
 * The square root U = B^(1/2) of a background-error covariance B = U U^T in control-variable form
 * (x = x_b + U v), over states of shape [C, H, W].
 */
export interface BSqrt {
  readonly stateShape: readonly [number, number, number];
  /** x = U v; v and the result have length C H W. */
  apply(v: Float64Array): Float64Array;
  /** v = U^T x. */
  applyT(x: Float64Array): Float64Array;
}

/**
 * Builds U = D^(1/2) (C_chan^(1/2) (x) U_s) for B = D^(1/2) (C_chan (x) C_s) D^(1/2) with a separable spatial
 * square root U_s = (C_lat^(1/2) (x) I_W) blockdiag_i(C_lon,i^(1/2)):
 * - C_lat: the correlation function of the meridional distance between rows (R dlat on the sphere, dy on a
 *   beta plane);
 * - C_lon,i: the correlation function of the zonal distance along row i: the chord 2 r sin(dlon/2) of the
 *   latitude circle (r = R cos(lat_i)) when longitudes wrap (so the matrix is positive definite on the
 *   circle), the arc r dlon otherwise; on a beta plane the chord of the periodic channel of length W dx.
 * The resulting correlation has a unit diagonal and equals the Gaussian of great-circle-like distance
 * exactly on a beta plane (exp(-(dx^2 + dy^2)/2L^2) factorises) and approximately on the sphere.
 * Square roots are the symmetric eigen square roots (clipping round-off negative eigenvalues), which
 * stay defined when a large L makes the correlation matrices numerically singular, where Cholesky fails.
 * Applying U costs C H W (H + W + C) multiply-adds instead of (C H W)^2 for a dense B.
 * @param grid - the grid of the state (rows = latitudes)
 * @param stats - variances (and optional channel correlation) from {@link estimateBackgroundError}
 * @param model - correlation function and length scale
 */
export function createBSqrt(grid: Grid, stats: BackgroundErrorStats, model: CorrelationModel): BSqrt {
  const fn = 'createBSqrt';
  const [C, H, W] = stats.stateShape;
  if (grid.latDeg.length !== H || grid.lonDeg.length !== W) {
    throw invalidArgument(
      fn,
      `the grid is ${grid.latDeg.length} x ${grid.lonDeg.length} but the statistics are for ${H} x ${W}`,
    );
  }
  const spatial = createSpatialSqrt(fn, grid, model.kind ?? 'gaussian', model.lengthScaleM);
  stats.variance.forEach((v, i) => {
    if (!(v >= 0) || !Number.isFinite(v))
      throw invalidArgument(fn, `variance[${i}] = ${v} must be finite and >= 0`);
  });
  const lChan = stats.channelCorrelation === undefined ? undefined : symSqrt(stats.channelCorrelation, C);
  const sd = new Float64Array(C * H);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < H; i++)
      sd[c * H + i] = Math.sqrt(stats.variance[stats.perLatitude ? c * H + i : c] as number);
  }
  const n = C * H * W;
  const check = (name: string, a: Float64Array): void => {
    if (a.length !== n)
      throw invalidArgument(fn, `${name} has length ${a.length} but the state [${C}, ${H}, ${W}] has ${n}`);
  };
  const HW = H * W;
  // All factors are symmetric except the spatial one, whose transpose applies its factors in reverse order.
  const space = (a: Float64Array, transposed: boolean): Float64Array => {
    const out = new Float64Array(n);
    for (let c = 0; c < C; c++) {
      if (transposed) spatial.applyT(a, c * HW, out, c * HW);
      else spatial.apply(a, c * HW, out, c * HW);
    }
    return out;
  };
  const channel = (a: Float64Array): Float64Array => {
    if (lChan === undefined) return a;
    const out = new Float64Array(n);
    for (let c = 0; c < C; c++) {
      for (let d = 0; d < C; d++) {
        const m = lChan[c * C + d] as number;
        for (let p = 0; p < HW; p++)
          out[c * HW + p] = (out[c * HW + p] as number) + m * (a[d * HW + p] as number);
      }
    }
    return out;
  };
  const scale = (a: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H; i++)
        for (let k = 0; k < W; k++) {
          const idx = (c * H + i) * W + k;
          out[idx] = (sd[c * H + i] as number) * (a[idx] as number);
        }
    return out;
  };
  return {
    stateShape: [C, H, W],
    apply(v) {
      check('v', v);
      return scale(channel(space(v, false)));
    },
    applyT(x) {
      check('x', x);
      return space(channel(scale(x)), true);
    },
  };
}

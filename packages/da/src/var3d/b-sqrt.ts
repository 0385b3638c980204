import { EARTH_RADIUS_M } from '@alignda/tensor';
import type { Grid } from '@alignda/tensor';
import type { BackgroundErrorStats } from './background-error.js';
import { symSqrt } from '../internal/linalg.js';
import { invalidArgument } from '../internal/errors.js';

/** Correlation function of distance: Gaussian exp(-d^2 / 2L^2) or SOAR (1 + d/L) exp(-d/L). */
export type CorrelationKind = 'gaussian' | 'soar';

/** The spatial correlation model of B. */
export interface CorrelationModel {
  /** @defaultValue 'gaussian' */
  readonly kind?: CorrelationKind;
  /** Length scale L in metres, > 0. */
  readonly lengthScaleM: number;
}

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

/** Value of the correlation function at distance d. */
export function correlation(kind: CorrelationKind, d: number, L: number): number {
  const r = d / L;
  return kind === 'gaussian' ? Math.exp(-0.5 * r * r) : (1 + r) * Math.exp(-r);
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
  const L = model.lengthScaleM;
  if (!(L > 0) || !Number.isFinite(L))
    throw invalidArgument(fn, `lengthScaleM must be finite and > 0, got ${L}`);
  const kind = model.kind ?? 'gaussian';
  stats.variance.forEach((v, i) => {
    if (!(v >= 0) || !Number.isFinite(v))
      throw invalidArgument(fn, `variance[${i}] = ${v} must be finite and >= 0`);
  });
  const rad = Math.PI / 180;
  const rowDist = (i: number, j: number): number =>
    grid.kind === 'beta-plane'
      ? grid.dyM * Math.abs(i - j)
      : EARTH_RADIUS_M * rad * Math.abs((grid.latDeg[i] as number) - (grid.latDeg[j] as number));
  const cLat = new Float64Array(H * H);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < H; j++) cLat[i * H + j] = correlation(kind, rowDist(i, j), L);
  const lLat = symSqrt(cLat, H);
  // Zonal square roots per row, shared between rows of equal radius (e.g. mirror latitudes).
  const cache = new Map<number, Float64Array>();
  const lLon: Float64Array[] = [];
  const dLon = W > 1 ? ((grid.lonDeg[W - 1] as number) - (grid.lonDeg[0] as number)) / (W - 1) : 0;
  for (let i = 0; i < H; i++) {
    let zonal: (k: number) => number;
    let key: number;
    if (grid.kind === 'beta-plane') {
      const radius = (W * grid.dxM) / (2 * Math.PI);
      zonal = (k) => 2 * radius * Math.abs(Math.sin((Math.PI * k) / W));
      key = 0;
    } else {
      const r = EARTH_RADIUS_M * Math.cos(rad * (grid.latDeg[i] as number));
      zonal = grid.periodicLon
        ? (k) => 2 * r * Math.abs(Math.sin((rad * dLon * k) / 2))
        : (k) => r * rad * dLon * k;
      key = Math.round(Math.abs(r));
    }
    let m = cache.get(key);
    if (m === undefined) {
      const c = new Float64Array(W * W);
      for (let a = 0; a < W; a++)
        for (let b = 0; b < W; b++) c[a * W + b] = correlation(kind, zonal(Math.abs(a - b)), L);
      m = symSqrt(c, W);
      cache.set(key, m);
    }
    lLon.push(m);
  }
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
  // All factors are symmetric, so U^T applies the same factors in reverse order.
  const zonal = (a: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H; i++) {
        const M = lLon[i] as Float64Array;
        const o = (c * H + i) * W;
        for (let k = 0; k < W; k++) {
          let s = 0;
          for (let l = 0; l < W; l++) s += (M[k * W + l] as number) * (a[o + l] as number);
          out[o + k] = s;
        }
      }
    }
    return out;
  };
  const meridional = (a: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    for (let c = 0; c < C; c++) {
      const o = c * H * W;
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < H; j++) {
          const m = lLat[i * H + j] as number;
          if (m === 0) continue;
          for (let k = 0; k < W; k++)
            out[o + i * W + k] = (out[o + i * W + k] as number) + m * (a[o + j * W + k] as number);
        }
      }
    }
    return out;
  };
  const channel = (a: Float64Array): Float64Array => {
    if (lChan === undefined) return a;
    const out = new Float64Array(n);
    const HW = H * W;
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
      return scale(channel(meridional(zonal(v))));
    },
    applyT(x) {
      check('x', x);
      return zonal(meridional(channel(scale(x))));
    },
  };
}

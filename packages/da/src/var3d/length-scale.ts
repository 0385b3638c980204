import type { FloatArray, Grid, Tensor } from '@alignda/tensor';
import { invalidArgument } from '../internal/errors.js';
import { meridionalDistanceM, zonalDistanceM } from './spatial-sqrt.js';

/** Options of {@link estimateLengthScales}. */
export interface LengthScaleOptions {
  /**
   * Lag correlations are fitted from the first lag down to the last lag whose correlation is still at least this.
   * @defaultValue 0.2 (below it the sample correlation of ~30 cases is mostly noise and the tail shape of real
   *   error correlations departs most from a Gaussian)
   */
  readonly correlationFloor?: number;
}

/**
 * Estimates one Gaussian correlation length scale per channel of error fields by fitting
 * rho(d) = exp(-d^2 / 2 L^2) to their empirical lag correlations (a least-squares fit of -ln rho = d^2 / 2L^2,
 * in the spirit of the correlation-shape diagnostics of Bannister 2008, QJRMS 134, part I, section 4; Daley 1991,
 * Atmospheric Data Analysis, section 4.3). The errors are first standardised per channel and latitude row (mean
 * and std over samples and longitudes). Each zonal lag k along row i gives the point (chord or arc distance
 * {@link zonalDistanceM}, pooled correlation over samples and longitudes), each meridional lag between rows
 * i and i + k the point (R dlat or k dy, pooled correlation over samples and longitudes); lags are taken from 1
 * upwards while the correlation stays >= `correlationFloor` (the first lag always counts, its correlation clipped
 * to >= 1e-3). Points are weighted by their number of pairs. A channel with no variance gets the smallest grid
 * spacing (its length scale does not matter); one whose fitted slope is not positive gets the domain's
 * meridional extent.
 * @param errors - background-minus-truth errors (or any error fields), shape [S, C, H, W] on `grid`, S >= 1
 * @returns length scales in metres, shape [C]
 */
export function estimateLengthScales(
  errors: Tensor<FloatArray>,
  grid: Grid,
  options: LengthScaleOptions = {},
): Float64Array {
  const fn = 'estimateLengthScales';
  if (errors.shape.length !== 4)
    throw invalidArgument(fn, `errors must have shape [S, C, H, W], got [${errors.shape.join(', ')}]`);
  const [S, C, H, W] = errors.shape as [number, number, number, number];
  if (grid.latDeg.length !== H || grid.lonDeg.length !== W)
    throw invalidArgument(
      fn,
      `the grid is ${grid.latDeg.length} x ${grid.lonDeg.length} but the errors are ${H} x ${W}`,
    );
  if (errors.data.length !== S * C * H * W)
    throw invalidArgument(fn, `errors hold ${errors.data.length} values, not [${errors.shape.join(', ')}]`);
  const floor = options.correlationFloor ?? 0.2;
  if (!(floor > 0 && floor < 1))
    throw invalidArgument(fn, `correlationFloor must be in (0, 1), got ${floor}`);
  const HW = H * W;
  const spacing = Math.min(
    ...(H > 1 ? [meridionalDistanceM(grid, 0, 1)] : []),
    ...Array.from({ length: H }, (_, i) => zonalDistanceM(grid, i)(1)).filter((d) => d > 0),
  );
  const extent = H > 1 ? meridionalDistanceM(grid, 0, H - 1) : zonalDistanceM(grid, 0)(Math.floor(W / 2));
  const out = new Float64Array(C);
  const z = new Float64Array(S * HW); // one channel, standardised: [S, H, W]
  for (let c = 0; c < C; c++) {
    let any = false;
    for (let i = 0; i < H; i++) {
      let m = 0;
      for (let s = 0; s < S; s++)
        for (let k = 0; k < W; k++) m += errors.data[((s * C + c) * H + i) * W + k] as number;
      m /= S * W;
      let v = 0;
      for (let s = 0; s < S; s++)
        for (let k = 0; k < W; k++) v += ((errors.data[((s * C + c) * H + i) * W + k] as number) - m) ** 2;
      const sd = Math.sqrt(v / (S * W));
      if (!Number.isFinite(sd)) throw invalidArgument(fn, `channel ${c} has non-finite errors on row ${i}`);
      if (sd > 0) any = true;
      for (let s = 0; s < S; s++)
        for (let k = 0; k < W; k++) {
          const e = errors.data[((s * C + c) * H + i) * W + k] as number;
          z[s * HW + i * W + k] = sd > 0 ? (e - m) / sd : 0;
        }
    }
    if (!any) {
      out[c] = spacing;
      continue;
    }
    let num = 0; // sum of w d^2 (-ln rho)
    let den = 0; // sum of w d^4
    const add = (d: number, rho: number, w: number): void => {
      const r = Math.max(rho, 1e-3);
      num += w * d * d * -Math.log(Math.min(r, 1));
      den += w * d ** 4;
    };
    /** Pooled correlation of z at (row a, col k) with z at (row b, col k + lag), over samples and columns. */
    const corr = (a: number, b: number, lag: number): [number, number] => {
      let sxy = 0;
      let sxx = 0;
      let syy = 0;
      let pairs = 0;
      for (let s = 0; s < S; s++) {
        const oa = s * HW + a * W;
        const ob = s * HW + b * W;
        for (let k = 0; k < W; k++) {
          let l = k + lag;
          if (l >= W) {
            if (!grid.periodicLon) break;
            l -= W;
          }
          const x = z[oa + k] as number;
          const y = z[ob + l] as number;
          sxy += x * y;
          sxx += x * x;
          syy += y * y;
          pairs++;
        }
      }
      return [sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0, pairs];
    };
    const maxZonal = grid.periodicLon ? Math.floor(W / 2) : W - 1;
    for (let i = 0; i < H; i++) {
      const dist = zonalDistanceM(grid, i);
      for (let lag = 1; lag <= maxZonal; lag++) {
        const d = dist(lag);
        if (!(d > 0)) break; // a pole row
        const [rho, w] = corr(i, i, lag);
        if (lag > 1 && rho < floor) break;
        add(d, rho, w);
        if (rho < floor) break;
      }
    }
    for (let lag = 1; lag < H; lag++) {
      let kept = false;
      for (let i = 0; i + lag < H; i++) {
        const [rho, w] = corr(i, i + lag, 0);
        if (lag > 1 && rho < floor) continue;
        add(meridionalDistanceM(grid, i, i + lag), rho, w);
        if (rho >= floor) kept = true;
      }
      if (!kept) break;
    }
    const a = den > 0 ? num / den : 0;
    out[c] = a > 0 ? 1 / Math.sqrt(2 * a) : extent;
  }
  return out;
}

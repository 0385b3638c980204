import type { Grid } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';

/** Where a point falls in a grid: corner rows/columns and the weights of the second corner. */
export type PointLocation =
  | {
      readonly ok: true;
      /** Rows bracketing the point (i1 = i0 + 1, or i0 when H = 1). */
      readonly i0: number;
      readonly i1: number;
      /** Weight of row i1, in [0, 1]. */
      readonly fi: number;
      /** Columns bracketing the point (j1 wraps to 0 on a periodic grid). */
      readonly j0: number;
      readonly j1: number;
      /** Weight of column j1, in [0, 1]. */
      readonly fj: number;
    }
  | { readonly ok: false; readonly reason: string };

const fmt = (v: number): string => String(Math.round(v * 1000) / 1000);

/**
 * Locates a point in a grid for bilinear interpolation in (latitude, longitude). Latitudes may be
 * stored in either order (NCEP: descending); longitudes must be equally spaced. On a periodic grid
 * any longitude is wrapped (the cell between the last and the first column included); on a regional
 * grid the longitude is taken modulo 360 into the grid's range. Points outside the grid, or whose
 * interpolation would touch a cell that is 0 in `validMask`, are rejected with a reason.
 * @param validMask - optional valid-area mask, shape [H, W]
 */
export function locatePoint(
  grid: Grid,
  latDeg: number,
  lonDeg: number,
  validMask?: Uint8Array,
): PointLocation {
  const lat = grid.latDeg;
  const lon = grid.lonDeg;
  const H = lat.length;
  const W = lon.length;
  if (!Number.isFinite(latDeg) || !Number.isFinite(lonDeg)) {
    return { ok: false, reason: `location (${latDeg}, ${lonDeg}) is not finite` };
  }
  const first = lat[0] as number;
  const last = lat[H - 1] as number;
  const latLo = Math.min(first, last);
  const latHi = Math.max(first, last);
  if (latDeg < latLo || latDeg > latHi) {
    return { ok: false, reason: `latitude ${fmt(latDeg)} outside the grid's ${fmt(latLo)}..${fmt(latHi)}` };
  }
  let i0 = 0;
  let fi = 0;
  if (H > 1) {
    const asc = last > first;
    // Largest i in [0, H-2] with lat[i] on the near side of the point (binary search, monotone axis).
    let lo = 0;
    let hi = H - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const v = lat[mid] as number;
      if (asc ? v <= latDeg : v >= latDeg) lo = mid;
      else hi = mid - 1;
    }
    i0 = lo;
    const a = lat[i0] as number;
    const b = lat[i0 + 1] as number;
    fi = Math.min(1, Math.max(0, (latDeg - a) / (b - a)));
  }
  const i1 = H > 1 ? i0 + 1 : i0;

  const lon0 = lon[0] as number;
  const d = W > 1 ? ((lon[W - 1] as number) - lon0) / (W - 1) : 360;
  let j0: number;
  let j1: number;
  let fj: number;
  if (grid.periodicLon) {
    const step = Math.abs(d);
    const rel = d > 0 ? lonDeg - lon0 : lon0 - lonDeg;
    const x = (((rel % 360) + 360) % 360) / step;
    j0 = Math.min(W - 1, Math.floor(x));
    fj = Math.min(1, Math.max(0, x - j0));
    j1 = (j0 + 1) % W;
  } else {
    const lonLo = Math.min(lon0, lon[W - 1] as number);
    const lonHi = Math.max(lon0, lon[W - 1] as number);
    const shifted = lonDeg - 360 * Math.floor((lonDeg - lonLo) / 360);
    if (shifted > lonHi) {
      return {
        ok: false,
        reason: `longitude ${fmt(lonDeg)} outside the grid's ${fmt(lonLo)}..${fmt(lonHi)}E`,
      };
    }
    if (W === 1) {
      j0 = 0;
      j1 = 0;
      fj = 0;
    } else {
      const x = (shifted - lon0) / d;
      j0 = Math.min(W - 2, Math.max(0, Math.floor(x)));
      fj = Math.min(1, Math.max(0, x - j0));
      j1 = j0 + 1;
    }
  }
  if (validMask !== undefined) {
    const corners: [number, number, number][] = [
      [i0, j0, (1 - fi) * (1 - fj)],
      [i0, j1, (1 - fi) * fj],
      [i1, j0, fi * (1 - fj)],
      [i1, j1, fi * fj],
    ];
    for (const [i, j, w] of corners) {
      if (w > 0 && validMask[i * W + j] === 0) {
        return {
          ok: false,
          reason: `location (${fmt(latDeg)}, ${fmt(lonDeg)}) is in the grid's padded (invalid) area`,
        };
      }
    }
  }
  return { ok: true, i0, i1, fi, j0, j1, fj };
}

/**
 * A linear observation operator H: state [C, H, W] -> P values, with its adjoint H^T. Structurally an
 * `ObservationOperator` of `@alignda/da`.
 */
export interface PointOperator {
  /** [C, H, W] */
  readonly stateShape: readonly [number, number, number];
  /** Number of operator rows P (accepted points only). */
  readonly size: number;
  /** For each operator row, the index of its point in the input, length P. */
  readonly kept: Int32Array;
  /**
   * y = H x.
   * @param x - one state, length C*H*W (float32 or float64; summed in float64)
   * @param out - length P, overwritten
   */
  apply(x: ArrayLike<number>, out?: Float64Array): Float64Array;
  /**
   * x = H^T r (overwrites `out`, does not accumulate).
   * @param r - length P
   * @param out - length C*H*W
   */
  adjoint(r: ArrayLike<number>, out?: Float64Array): Float64Array;
}

/** Points to observe: channel and location per point. */
export interface PointSet {
  readonly channelIndex: ArrayLike<number>;
  readonly latDeg: ArrayLike<number>;
  readonly lonDeg: ArrayLike<number>;
}

/**
 * Bilinear interpolation in (latitude, longitude) from grid cells to points (METHOD.md section 1: H
 * for point observations). Points off the grid are not rows of H: they come back in `rejected` with
 * their reason.
 * @param stateShape - [C, H, W]; H and W must match the grid
 * @param validMask - optional valid-area mask [H, W] (padded datasets)
 * @throws DatasetError `SHAPE_MISMATCH` when the grid and the state shape disagree, or the point
 *   arrays differ in length; `MALFORMED_INPUT` for a channel index outside [0, C)
 */
export function bilinearOperator(
  grid: Grid,
  stateShape: readonly [number, number, number],
  points: PointSet,
  validMask?: Uint8Array,
): { operator: PointOperator; rejected: { index: number; reason: string }[] } {
  const [C, H, W] = stateShape;
  if (grid.latDeg.length !== H || grid.lonDeg.length !== W) {
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `bilinearOperator: grid ${grid.latDeg.length}x${grid.lonDeg.length} does not match state [${C}, ${H}, ${W}]`,
    );
  }
  if (validMask !== undefined && validMask.length !== H * W) {
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `bilinearOperator: validMask has length ${validMask.length}, expected ${H * W}`,
    );
  }
  const n = points.latDeg.length;
  if (points.lonDeg.length !== n || points.channelIndex.length !== n) {
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `bilinearOperator: ${points.channelIndex.length} channels, ${n} latitudes, ${points.lonDeg.length} longitudes`,
    );
  }
  const idx: number[] = [];
  const wts: number[] = [];
  const kept: number[] = [];
  const rejected: { index: number; reason: string }[] = [];
  for (let p = 0; p < n; p++) {
    const c = points.channelIndex[p] as number;
    if (!Number.isInteger(c) || c < 0 || c >= C) {
      throw new DatasetError(
        'MALFORMED_INPUT',
        `bilinearOperator: point ${p} has channel ${c} outside [0, ${C})`,
      );
    }
    const loc = locatePoint(grid, points.latDeg[p] as number, points.lonDeg[p] as number, validMask);
    if (!loc.ok) {
      rejected.push({ index: p, reason: loc.reason });
      continue;
    }
    const base = c * H * W;
    idx.push(
      base + loc.i0 * W + loc.j0,
      base + loc.i0 * W + loc.j1,
      base + loc.i1 * W + loc.j0,
      base + loc.i1 * W + loc.j1,
    );
    wts.push((1 - loc.fi) * (1 - loc.fj), (1 - loc.fi) * loc.fj, loc.fi * (1 - loc.fj), loc.fi * loc.fj);
    kept.push(p);
  }
  const index = Int32Array.from(idx); // [P, 4]
  const weight = Float64Array.from(wts); // [P, 4]
  const P = kept.length;
  const N = C * H * W;
  const operator: PointOperator = {
    stateShape: [C, H, W],
    size: P,
    kept: Int32Array.from(kept),
    apply(x, out = new Float64Array(P)) {
      if (x.length !== N || out.length !== P) {
        throw new DatasetError(
          'SHAPE_MISMATCH',
          `PointOperator.apply: x has length ${x.length} (want ${N}), out ${out.length} (want ${P})`,
        );
      }
      for (let p = 0; p < P; p++) {
        let s = 0;
        for (let k = 4 * p; k < 4 * p + 4; k++)
          s += (weight[k] as number) * (x[index[k] as number] as number);
        out[p] = s;
      }
      return out;
    },
    adjoint(r, out = new Float64Array(N)) {
      if (r.length !== P || out.length !== N) {
        throw new DatasetError(
          'SHAPE_MISMATCH',
          `PointOperator.adjoint: r has length ${r.length} (want ${P}), out ${out.length} (want ${N})`,
        );
      }
      out.fill(0);
      for (let p = 0; p < P; p++) {
        const rp = r[p] as number;
        for (let k = 4 * p; k < 4 * p + 4; k++) {
          const j = index[k] as number;
          out[j] = (out[j] as number) + (weight[k] as number) * rp;
        }
      }
      return out;
    },
  };
  return { operator, rejected };
}

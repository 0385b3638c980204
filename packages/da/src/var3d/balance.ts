import { coriolisPerS, ddx, ddy } from '@alignda/tensor';
import type { Grid } from '@alignda/tensor';
import { invalidArgument } from '../internal/errors.js';

/** One level of geostrophic balance: its geopotential channel and the wind channels it balances. */
export interface GeostrophicLevel {
  /** Channel index of the level's geopotential (m2 s-2): the balanced control variable. */
  readonly z: number;
  /** Channel index of the eastward wind (m/s) balanced by `z`: u_b = -(1/f) dPhi'/dy. @defaultValue none */
  readonly u?: number;
  /** Channel index of the northward wind (m/s) balanced by `z`: v_b = (1/f) dPhi'/dx. @defaultValue none */
  readonly v?: number;
}

/** One layer of hydrostatic balance: T'_b = (Phi'_upper - Phi'_lower) / thicknessPerKelvin. */
export interface HydrostaticLayer {
  /** Channel index of the layer temperature (K). */
  readonly t: number;
  /** Channel index of the geopotential (m2 s-2) at the layer's top. */
  readonly zUpper: number;
  /** Channel index of the geopotential (m2 s-2) at the layer's bottom. */
  readonly zLower: number;
  /**
   * Thickness per kelvin of layer-mean temperature, J/(kg K) = m2 s-2 K-1: R_d ln(p_lower / p_upper) for
   * the hypsometric equation (Holton, eq. 1.25); the QG world's `thicknessPerKelvin`.
   */
  readonly thicknessPerKelvin: number;
}

/**
 * The Coriolis parameter of the balance:
 * - `f0`: a constant f0 (the quasi-geostrophic balance of a beta-plane channel; Holton section 6.2);
 * - `latitude`: f = the grid's own (2 Omega sin(lat) on lat-lon grids, f0 + beta y on a beta plane), with 1/f
 *   replaced by w(lat)/f, w = 1 - exp(-(lat / equatorTaperDeg)^2), so that the balanced wind goes smoothly to
 *   zero at the equator instead of to infinity (w/f ~ lat / (2 Omega taper^2 (pi/180)) near lat = 0; w > 0.98 at
 *   2 tapers). Rows where f = 0 exactly get no balanced wind.
 */
export type CoriolisSpec =
  | {
      readonly kind: 'f0';
      /** f0, 1/s, non-zero. @defaultValue the grid's f0PerS on a beta plane (required on lat-lon grids) */
      readonly f0PerS?: number;
    }
  | {
      readonly kind: 'latitude';
      /** Latitude scale of the equatorial taper, degrees, > 0. @defaultValue 7.5 (w = 0.98 at 15 deg) */
      readonly equatorTaperDeg?: number;
    };

/** Channel roles of the balance operator K and the units of the states it acts on. */
export interface BalanceSpec {
  /** Geostrophic levels. An empty list and no hydrostatic layers switch the balance off (K = I). */
  readonly levels: readonly GeostrophicLevel[];
  /** Hydrostatic layers. @defaultValue none */
  readonly hydrostatic?: readonly HydrostaticLayer[];
  /** @defaultValue `{ kind: 'f0' }` on a beta plane, `{ kind: 'latitude' }` on a lat-lon grid */
  readonly coriolis?: CoriolisSpec;
  /**
   * Per-channel standard deviation of the normalisation, in each channel's physical units, length C, > 0:
   * states are x_norm = (x - mean_c) / std_c, so increments map as dx_norm = dx / std_c. All ones for states in
   * physical units.
   */
  readonly channelStd: readonly number[];
  /** Channel names, length C, for messages. @defaultValue none */
  readonly channels?: readonly string[];
}

/**
 * The balance operator K of the control-variable transform dx = K dx_u (Derber & Bouttier 1999, QJRMS 125,
 * eq. 3; Bannister 2008 part II, section 3), on normalised states [C, H, W]: identity plus the balanced parts of
 * the target channels (winds, temperatures) computed from the source channels (geopotentials), which it never
 * changes. Hence K^-1 = 2 I - K.
 */
export interface BalanceOperator {
  /** The number of channels C. */
  readonly channels: number;
  /** Whether any role is set (K != I). */
  readonly active: boolean;
  /** Channel groups of like control variables (all z, all u, all v, all t; every other channel alone). */
  readonly groups: readonly (readonly number[])[];
  /** K x, length C H W. */
  apply(x: Float64Array): Float64Array;
  /** K^T x. */
  applyT(x: Float64Array): Float64Array;
  /** K^-1 x: the unbalanced residual of a full increment. */
  applyInverse(x: Float64Array): Float64Array;
}

/** Sparse rows of a finite-difference matrix: row r holds (column, weight) pairs. */
type SparseRows = readonly (readonly (readonly [number, number])[])[];

/**
 * The matrix of tensor's ddy on this grid, read off by applying it to unit rows, so that the balance uses
 * exactly the stencils of `geostrophicWind` and its transpose is exact.
 */
function ddyRows(grid: Grid): SparseRows {
  const H = grid.latDeg.length;
  const column: Grid = { ...grid, lonDeg: Float64Array.of(grid.lonDeg[0] as number) };
  const probe = new Float64Array(H * H); // [H slabs, H, 1]: slab j is the unit vector e_j
  for (let j = 0; j < H; j++) probe[j * H + j] = 1;
  const d = ddy({ data: probe, shape: [H, H, 1] }, column).data; // d[j, i] = Dy[i, j]
  return Array.from({ length: H }, (_, i) => {
    const row: [number, number][] = [];
    for (let j = 0; j < H; j++) if (d[j * H + i] !== 0) row.push([j, d[j * H + i] as number]);
    return row;
  });
}

/** The matrices of tensor's ddx per latitude row (pole rows, where ddx is NaN, are zero). */
function ddxRows(grid: Grid): SparseRows[] {
  const W = grid.lonDeg.length;
  const cache = new Map<number, SparseRows>();
  return Array.from(grid.latDeg, (lat) => {
    const key = grid.kind === 'beta-plane' ? 0 : lat;
    const hit = cache.get(key);
    if (hit) return hit;
    const row: Grid = { ...grid, latDeg: Float64Array.of(lat) };
    const probe = new Float64Array(W * W); // [W slabs, 1, W]: slab l is e_l
    for (let l = 0; l < W; l++) probe[l * W + l] = 1;
    const d = ddx({ data: probe, shape: [W, 1, W] }, row).data; // d[l, k] = Dx[k, l]
    const rows = Array.from({ length: W }, (_, k) => {
      const r: [number, number][] = [];
      for (let l = 0; l < W; l++) {
        const w = d[l * W + k] as number;
        if (w !== 0 && Number.isFinite(w)) r.push([l, w]);
      }
      return r;
    });
    cache.set(key, rows);
    return rows;
  });
}

/** The factor g_i replacing 1/f on row i (see {@link CoriolisSpec}). */
function inverseCoriolis(fn: string, grid: Grid, spec: CoriolisSpec | undefined): Float64Array {
  const H = grid.latDeg.length;
  const c = spec ?? (grid.kind === 'beta-plane' ? { kind: 'f0' } : { kind: 'latitude' });
  if (c.kind === 'f0') {
    const f0 = c.f0PerS ?? (grid.kind === 'beta-plane' ? grid.f0PerS : undefined);
    if (f0 === undefined) throw invalidArgument(fn, 'coriolis { kind: "f0" } on a lat-lon grid needs f0PerS');
    if (f0 === 0 || !Number.isFinite(f0))
      throw invalidArgument(
        fn,
        `the Coriolis parameter f0 is ${f0}: geostrophic balance needs a finite non-zero f0 (an equatorial grid needs { kind: 'latitude' })`,
      );
    return new Float64Array(H).fill(1 / f0);
  }
  const taper = c.equatorTaperDeg ?? 7.5;
  if (!(taper > 0) || !Number.isFinite(taper))
    throw invalidArgument(fn, `equatorTaperDeg must be finite and > 0, got ${taper}`);
  const f = coriolisPerS(grid);
  return f.map((fi, i) => {
    if (fi === 0) return 0;
    const lat = grid.latDeg[i] as number;
    return (1 - Math.exp(-((lat / taper) ** 2))) / fi;
  });
}

/**
 * Builds the balance operator K of `spec` on `grid` for states of C channels.
 * @param fn - the public function asking, for error messages
 * @throws AppError INVALID_ARGUMENT naming the role, channel or parameter at fault
 */
export function createBalanceOperator(fn: string, grid: Grid, spec: BalanceSpec, C: number): BalanceOperator {
  const H = grid.latDeg.length;
  const W = grid.lonDeg.length;
  const name = (c: number): string =>
    spec.channels?.[c] === undefined ? `${c}` : `${c} (${spec.channels[c]})`;
  if (spec.channelStd.length !== C)
    throw invalidArgument(
      fn,
      `channelStd has ${spec.channelStd.length} entries but the state has ${C} channels`,
    );
  spec.channelStd.forEach((s, c) => {
    if (!(s > 0) || !Number.isFinite(s))
      throw invalidArgument(fn, `channelStd[${c}] = ${s} must be finite and > 0`);
  });
  if (spec.channels !== undefined && spec.channels.length !== C)
    throw invalidArgument(fn, `channels has ${spec.channels.length} names but the state has ${C} channels`);
  const checkChannel = (role: string, c: number | undefined): void => {
    if (c === undefined) return;
    if (!Number.isInteger(c) || c < 0 || c >= C)
      throw invalidArgument(fn, `${role} = ${c} is not a channel (the state has ${C} channels, 0..${C - 1})`);
  };
  const levels = spec.levels;
  const layers = spec.hydrostatic ?? [];
  const sources = new Set<number>();
  const targets = new Map<number, string>();
  const addTarget = (role: string, c: number | undefined): void => {
    if (c === undefined) return;
    const prior = targets.get(c);
    if (prior !== undefined)
      throw invalidArgument(fn, `channel ${name(c)} is balanced twice: ${prior} and ${role}`);
    targets.set(c, role);
  };
  levels.forEach((l, k) => {
    checkChannel(`levels[${k}].z`, l.z);
    checkChannel(`levels[${k}].u`, l.u);
    checkChannel(`levels[${k}].v`, l.v);
    sources.add(l.z);
    addTarget(`levels[${k}].u`, l.u);
    addTarget(`levels[${k}].v`, l.v);
  });
  layers.forEach((t, k) => {
    checkChannel(`hydrostatic[${k}].t`, t.t);
    checkChannel(`hydrostatic[${k}].zUpper`, t.zUpper);
    checkChannel(`hydrostatic[${k}].zLower`, t.zLower);
    if (t.zUpper === t.zLower)
      throw invalidArgument(
        fn,
        `hydrostatic[${k}]: zUpper and zLower are the same channel ${name(t.zUpper)}`,
      );
    if (!Number.isFinite(t.thicknessPerKelvin) || t.thicknessPerKelvin === 0)
      throw invalidArgument(
        fn,
        `hydrostatic[${k}].thicknessPerKelvin = ${t.thicknessPerKelvin} must be finite and non-zero`,
      );
    sources.add(t.zUpper);
    sources.add(t.zLower);
    addTarget(`hydrostatic[${k}].t`, t.t);
  });
  for (const [c, role] of targets) {
    if (sources.has(c))
      throw invalidArgument(
        fn,
        `channel ${name(c)} is both a geopotential (source) and ${role} (a balanced target)`,
      );
  }
  const winds = levels.some((l) => l.u !== undefined || l.v !== undefined);
  if (winds && (H < 3 || W < 3))
    throw invalidArgument(
      fn,
      `geostrophic balance needs at least 3 rows and 3 columns, the grid is ${H} x ${W}`,
    );
  const g = winds ? inverseCoriolis(fn, grid, spec.coriolis) : new Float64Array(H);
  const dy = winds ? ddyRows(grid) : [];
  const dx = winds ? ddxRows(grid) : [];
  const std = spec.channelStd;
  const HW = H * W;
  const n = C * HW;

  const groups: number[][] = [];
  const grouped = new Set<number>();
  const group = (cs: (number | undefined)[]): void => {
    const g2 = [...new Set(cs.filter((c): c is number => c !== undefined && !grouped.has(c)))];
    g2.forEach((c) => grouped.add(c));
    if (g2.length > 0) groups.push(g2);
  };
  group(levels.map((l) => l.z));
  group(levels.map((l) => l.u));
  group(levels.map((l) => l.v));
  group(layers.map((t) => t.t));
  group(layers.flatMap((t) => [t.zUpper, t.zLower]));
  for (let c = 0; c < C; c++) group([c]);

  /** out += sign (K - I) x (forward) or sign (K - I)^T x (adjoint). */
  const balanced = (x: Float64Array, out: Float64Array, adjoint: boolean, sign: number): void => {
    for (const l of levels) {
      const zo = l.z * HW;
      const sz = std[l.z] as number;
      if (l.u !== undefined) {
        const uo = l.u * HW;
        const cu = (-sign * sz) / (std[l.u] as number); // u_b = -(1/f) dPhi/dy, in normalised units
        for (let i = 0; i < H; i++) {
          const a = cu * (g[i] as number);
          if (a === 0) continue;
          for (const [j, w] of dy[i] as (readonly [number, number])[]) {
            const aw = a * w;
            if (adjoint)
              for (let k = 0; k < W; k++)
                out[zo + j * W + k] = (out[zo + j * W + k] as number) + aw * (x[uo + i * W + k] as number);
            else
              for (let k = 0; k < W; k++)
                out[uo + i * W + k] = (out[uo + i * W + k] as number) + aw * (x[zo + j * W + k] as number);
          }
        }
      }
      if (l.v !== undefined) {
        const vo = l.v * HW;
        const cv = (sign * sz) / (std[l.v] as number); // v_b = (1/f) dPhi/dx
        for (let i = 0; i < H; i++) {
          const a = cv * (g[i] as number);
          if (a === 0) continue;
          const rows = dx[i] as SparseRows;
          const r0 = i * W;
          for (let k = 0; k < W; k++) {
            for (const [c, w] of rows[k] as (readonly [number, number])[]) {
              if (adjoint)
                out[zo + r0 + c] = (out[zo + r0 + c] as number) + a * w * (x[vo + r0 + k] as number);
              else out[vo + r0 + k] = (out[vo + r0 + k] as number) + a * w * (x[zo + r0 + c] as number);
            }
          }
        }
      }
    }
    for (const t of layers) {
      const to = t.t * HW;
      // T_b = (Phi_upper - Phi_lower) / thicknessPerKelvin, in normalised units.
      const st = (std[t.t] as number) * t.thicknessPerKelvin;
      for (const [zc, s] of [
        [t.zUpper, sign],
        [t.zLower, -sign],
      ] as const) {
        const a = (s * (std[zc] as number)) / st;
        const zo = zc * HW;
        if (adjoint)
          for (let p = 0; p < HW; p++) out[zo + p] = (out[zo + p] as number) + a * (x[to + p] as number);
        else for (let p = 0; p < HW; p++) out[to + p] = (out[to + p] as number) + a * (x[zo + p] as number);
      }
    }
  };
  const check = (what: string, x: Float64Array): void => {
    if (x.length !== n)
      throw invalidArgument(fn, `${what} has length ${x.length} but the state [${C}, ${H}, ${W}] has ${n}`);
  };
  const run = (x: Float64Array, adjoint: boolean, sign: number): Float64Array => {
    check('x', x);
    const out = Float64Array.from(x);
    balanced(x, out, adjoint, sign);
    return out;
  };
  return {
    channels: C,
    active: levels.length > 0 || layers.length > 0,
    groups,
    apply: (x) => run(x, false, 1),
    applyT: (x) => run(x, true, 1),
    applyInverse: (x) => run(x, false, -1),
  };
}

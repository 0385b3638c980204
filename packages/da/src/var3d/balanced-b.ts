import type { Grid } from '@alignda/tensor';
import { symSqrt } from '../internal/linalg.js';
import { invalidArgument } from '../internal/errors.js';
import type { BackgroundErrorStats } from './background-error.js';
import type { BSqrt } from './b-sqrt.js';
import { createBalanceOperator } from './balance.js';
import type { BalanceSpec } from './balance.js';
import type { CorrelationKind } from './correlation.js';
import { createSpatialSqrt } from './spatial-sqrt.js';
import type { SpatialSqrt } from './spatial-sqrt.js';

/** The spatial correlation model of a balanced B: one length scale per control variable. */
export interface BalancedCorrelationModel {
  /** @defaultValue 'gaussian' */
  readonly kind?: CorrelationKind;
  /**
   * Length scale of each control variable, metres, > 0, in channel order (length C; the control variable of a
   * geopotential channel is that geopotential, of a balanced wind or temperature channel its unbalanced
   * residual), or one length scale for all.
   */
  readonly lengthScalesM: number | readonly number[];
}

/**
 * Builds the square root U = K D^(1/2) S L_cv of a multivariate balanced background-error covariance
 * B = U U^T = K B_u K^T in control-variable form (Derber & Bouttier 1999, QJRMS 125, section 2; Bannister 2008,
 * QJRMS 134, part II, sections 3-4; Parrish & Derber 1992 for the geostrophic coupling), over normalised states
 * [C, H, W]:
 * - L_cv = C_cv^(1/2): the correlation of the control variables at one point (`stats.channelCorrelation`;
 *   identity when absent), e.g. between the geopotentials of two levels;
 * - S = blockdiag_c(S_c): each control variable's own separable spatial square root with its own length scale
 *   (see {@link createBSqrt}), so that block (c, d) of B_u is sd_c sd_d rho_cd S_c S_d^T and block (c, c) is
 *   exactly sd_c^2 C(L_c);
 * - D^(1/2): the control variables' standard deviations (per channel or per channel and latitude row);
 * - K: the balance operator of `balance` (geostrophic winds from the geopotential with f0 or the tapered 2 Omega
 *   sin(lat), hydrostatic temperature from the thickness), mapped through the per-channel normalisation std.
 * A geopotential observation thus increments the winds by exactly the geostrophic wind of its geopotential
 * increment and the temperature by its thickness, with no unbalanced part unless C_cv couples them. With no roles
 * (K = I), one length scale and the same statistics it is {@link createBSqrt}'s B.
 * @param grid - the grid of the state (rows = latitudes)
 * @param stats - the control variables' statistics, e.g. from {@link estimateBalancedStats}: variance [C] or
 *   [C, H] in normalised units, and an optional C x C correlation
 * @param balance - channel roles, Coriolis parameter and the normalisation std
 * @param model - correlation function and length scales
 * @throws AppError INVALID_ARGUMENT naming the bad role, length scale, variance or shape
 */
export function createBalancedBSqrt(
  grid: Grid,
  stats: BackgroundErrorStats,
  balance: BalanceSpec,
  model: BalancedCorrelationModel,
): BSqrt {
  const fn = 'createBalancedBSqrt';
  const [C, H, W] = stats.stateShape;
  if (grid.latDeg.length !== H || grid.lonDeg.length !== W) {
    throw invalidArgument(
      fn,
      `the grid is ${grid.latDeg.length} x ${grid.lonDeg.length} but the statistics are for ${H} x ${W}`,
    );
  }
  const expected = stats.perLatitude ? C * H : C;
  if (stats.variance.length !== expected)
    throw invalidArgument(fn, `variance has ${stats.variance.length} values, expected ${expected}`);
  stats.variance.forEach((v, i) => {
    if (!(v >= 0) || !Number.isFinite(v))
      throw invalidArgument(fn, `variance[${i}] = ${v} must be finite and >= 0`);
  });
  const scales =
    typeof model.lengthScalesM === 'number'
      ? Array<number>(C).fill(model.lengthScalesM)
      : model.lengthScalesM;
  if (scales.length !== C)
    throw invalidArgument(fn, `lengthScalesM has ${scales.length} entries but the state has ${C} channels`);
  const kind = model.kind ?? 'gaussian';
  const cache = new Map<number, SpatialSqrt>();
  const spatial = scales.map((L, c) => {
    if (!(L > 0) || !Number.isFinite(L))
      throw invalidArgument(fn, `lengthScalesM[${c}] = ${L} must be finite and > 0`);
    let s = cache.get(L);
    if (s === undefined) {
      s = createSpatialSqrt(fn, grid, kind, L);
      cache.set(L, s);
    }
    return s;
  });
  const K = createBalanceOperator(fn, grid, balance, C);
  const corr = stats.channelCorrelation;
  if (corr !== undefined && corr.length !== C * C)
    throw invalidArgument(fn, `channelCorrelation has ${corr.length} values, expected ${C} x ${C}`);
  const lCv = corr === undefined ? undefined : symSqrt(corr, C);
  const HW = H * W;
  const n = C * HW;
  const sd = new Float64Array(C * H);
  for (let c = 0; c < C; c++)
    for (let i = 0; i < H; i++)
      sd[c * H + i] = Math.sqrt(stats.variance[stats.perLatitude ? c * H + i : c] as number);
  const check = (name: string, a: Float64Array): void => {
    if (a.length !== n)
      throw invalidArgument(fn, `${name} has length ${a.length} but the state [${C}, ${H}, ${W}] has ${n}`);
  };
  /** L_cv a (symmetric, so also L_cv^T a). */
  const mix = (a: Float64Array): Float64Array => {
    if (lCv === undefined) return a;
    const out = new Float64Array(n);
    for (let c = 0; c < C; c++) {
      for (let d = 0; d < C; d++) {
        const m = lCv[c * C + d] as number;
        if (m === 0) continue;
        for (let p = 0; p < HW; p++)
          out[c * HW + p] = (out[c * HW + p] as number) + m * (a[d * HW + p] as number);
      }
    }
    return out;
  };
  /** D^(1/2) a, in place. */
  const scale = (a: Float64Array): Float64Array => {
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H; i++) {
        const s = sd[c * H + i] as number;
        const o = (c * H + i) * W;
        for (let k = 0; k < W; k++) a[o + k] = s * (a[o + k] as number);
      }
    return a;
  };
  const space = (a: Float64Array, transposed: boolean): Float64Array => {
    const out = new Float64Array(n);
    spatial.forEach((s, c) => {
      if (transposed) s.applyT(a, c * HW, out, c * HW);
      else s.apply(a, c * HW, out, c * HW);
    });
    return out;
  };
  return {
    stateShape: [C, H, W],
    apply(v) {
      check('v', v);
      return K.apply(scale(space(mix(v), false)));
    },
    applyT(x) {
      check('x', x);
      return mix(space(scale(K.applyT(x)), true));
    },
  };
}

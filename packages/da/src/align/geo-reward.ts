/**
 * R_geo, the Geo-Score (METHOD.md section 5): how close each sample's geostrophic balance is to the truth's, with the
 * Coriolis parameter of the dataset's own dynamics. Wraps tensor's `geostrophicDeviation`.
 */
import { geostrophicDeviation } from '@alignda/tensor';
import type { FloatArray, Grid, Tensor } from '@alignda/tensor';
import { invalidArgument } from '../internal/errors.js';
import { checkChannel, stackDims } from '../internal/fields.js';
import type { CoriolisSpec, GeostrophicLevel } from '../var3d/balance.js';
import { balanceScores } from './balance-score.js';
import type { BalanceRewardSpec } from './balance-score.js';

/** Options of {@link geoDeviations} and {@link geoReward}. */
export interface GeoRewardOptions {
  /**
   * Rows with |lat| below this many degrees are left out (f -> 0 there).
   * @defaultValue 15 (METHOD.md section 5)
   */
  readonly tropicsDeg?: number;
  /**
   * Valid-area mask, shape [H, W]: points where it is 0 are left out (padded datasets).
   * @defaultValue every point valid
   */
  readonly mask?: Uint8Array;
}

/**
 * The constant f0 a Coriolis spec asks for, or undefined for the grid's own f (tensor's `coriolisPerS`). `f0`: its
 * f0PerS, or the beta plane's f0 (the QG world: its winds balance f0, and f0 + beta y would make even the truth look
 * unbalanced). `latitude`: the grid's f, 2 Omega sin(lat) on lat-lon grids; its equatorial taper, a device of the
 * balanced B, is not used: the deviation leaves the tropics out instead. Default: `f0` on a beta plane, `latitude` on a
 * lat-lon grid, as the balanced B does.
 */
function constantF0(fn: string, grid: Grid, spec: CoriolisSpec | undefined): number | undefined {
  const c = spec ?? (grid.kind === 'beta-plane' ? { kind: 'f0' } : { kind: 'latitude' });
  if (c.kind === 'latitude') return undefined;
  const f0 = c.f0PerS ?? (grid.kind === 'beta-plane' ? grid.f0PerS : undefined);
  if (f0 === undefined) throw invalidArgument(fn, 'coriolis { kind: "f0" } on a lat-lon grid needs f0PerS');
  return f0;
}

/** The levels with a geopotential and both winds, or a clear error. */
function windLevels(fn: string, balance: BalanceRewardSpec): (GeostrophicLevel & { u: number; v: number })[] {
  const levels = balance.levels.filter(
    (l): l is GeostrophicLevel & { u: number; v: number } => l.u !== undefined && l.v !== undefined,
  );
  if (levels.length === 0)
    throw invalidArgument(
      fn,
      `the Geo-Score needs a level with a geopotential and both wind components; the balance has none${balance.channels === undefined ? '' : ` (channels ${balance.channels.join(', ')})`}`,
    );
  return levels;
}

/**
 * The geostrophic deviation D of each field and level (METHOD.md section 5; tensor's `geostrophicDeviation`):
 * D = (|u - u_g| / |u| + |v - v_g| / |v|) / 2, dimensionless, 0 for an exactly geostrophic wind, with f the Coriolis
 * parameter of `balance.coriolis`. Per field, never on an ensemble mean.
 * @param fields - decoded fields in physical units (geopotential m2 s-2, winds m/s), shape [N, C, H, W] or [C, H, W]
 *   (N = 1)
 * @param grid - the fields' grid, H x W
 * @param balance - the levels (those with z, u and v are used, in order) and the Coriolis parameter
 * @returns D, shape [N, L], L the levels with both winds
 * @throws AppError INVALID_ARGUMENT on a bad shape, a channel out of range, no level with both winds, or a lat-lon
 *   grid with `{ kind: 'f0' }` and no f0PerS; tensor's errors on a degenerate field (|u| = 0)
 */
export function geoDeviations(
  fields: Tensor<FloatArray>,
  grid: Grid,
  balance: BalanceRewardSpec,
  options: GeoRewardOptions = {},
): Tensor<Float64Array> {
  return deviationsOf('geoDeviations', fields, grid, balance, options);
}

/** {@link geoDeviations} for the public function `fn`. */
function deviationsOf(
  fn: string,
  fields: Tensor<FloatArray>,
  grid: Grid,
  balance: BalanceRewardSpec,
  options: GeoRewardOptions,
): Tensor<Float64Array> {
  const [N, C, H, W] = stackDims(fn, 'fields', fields);
  if (grid.latDeg.length !== H || grid.lonDeg.length !== W)
    throw invalidArgument(
      fn,
      `the grid is ${grid.latDeg.length} x ${grid.lonDeg.length} but the fields are ${H} x ${W}`,
    );
  const levels = windLevels(fn, balance);
  levels.forEach((l, k) => {
    checkChannel(fn, `levels[${k}].z`, l.z, C);
    checkChannel(fn, `levels[${k}].u`, l.u, C);
    checkChannel(fn, `levels[${k}].v`, l.v, C);
  });
  const f0PerS = constantF0(fn, grid, balance.coriolis);
  const opts = {
    ...(f0PerS === undefined ? {} : { f0PerS }),
    ...(options.tropicsDeg === undefined ? {} : { tropicsDeg: options.tropicsDeg }),
    ...(options.mask === undefined ? {} : { mask: options.mask }),
  };
  const HW = H * W;
  const L = levels.length;
  const out = new Float64Array(N * L); // [N, L]
  for (let n = 0; n < N; n++) {
    const slab = (c: number): Tensor<FloatArray> => ({
      data: fields.data.subarray((n * C + c) * HW, (n * C + c + 1) * HW),
      shape: [H, W],
    }); // [H, W]
    levels.forEach((l, k) => {
      out[n * L + k] = geostrophicDeviation(slab(l.u), slab(l.v), slab(l.z), grid, opts).d;
    });
  }
  return { data: out, shape: [N, L] };
}

/**
 * R_geo, the Geo-Score of each sample (METHOD.md section 5): the mean over levels of 2 sigmoid(-|D - D_truth| / s),
 * D from {@link geoDeviations} of the sample and D_truth from the same formula on the truth. In (0, 1], 1 when the
 * sample is exactly as geostrophically balanced as the truth; higher = better.
 * @param samples - decoded samples in physical units, shape [N, C, H, W]
 * @param truth - the condition's truth, shape [C, H, W]
 * @param scale - s > 0, dimensionless (a difference of D), from {@link deviationScale} on the alignment period
 * @returns shape [N]
 */
export function geoReward(
  samples: Tensor<FloatArray>,
  truth: Tensor<FloatArray>,
  grid: Grid,
  balance: BalanceRewardSpec,
  scale: number,
  options: GeoRewardOptions = {},
): Float64Array {
  const fn = 'geoReward';
  if (
    samples.shape.length !== 4 ||
    truth.shape.length !== 3 ||
    truth.shape.some((d, i) => d !== samples.shape[i + 1])
  )
    throw invalidArgument(
      fn,
      `samples must have shape [N, C, H, W] and truth [C, H, W] with the same C, H, W; got [${samples.shape.join(', ')}] and [${truth.shape.join(', ')}]`,
    );
  const deviations = deviationsOf(fn, samples, grid, balance, options);
  return balanceScores({ deviations, truth: deviationsOf(fn, truth, grid, balance, options).data }, scale);
}

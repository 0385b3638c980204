/**
 * R_hydro (METHOD.md section 5, the 4th reward): how close each sample's hydrostatic (thickness-temperature)
 * balance is to the truth's, scored like the Geo-Score.
 */
import { latWeightedRmse } from '@alignda/tensor';
import type { FloatArray, Grid, Tensor } from '@alignda/tensor';
import { invalidArgument } from '../internal/errors.js';
import { checkChannel, stackDims } from '../internal/fields.js';
import { balanceScores } from './balance-score.js';
import type { BalanceRewardSpec } from './balance-score.js';

/** Options of {@link hydroDeviations} and {@link hydroReward}. */
export interface HydroRewardOptions {
  /**
   * Valid-area mask, shape [H, W]: points where it is 0 are left out (padded datasets).
   * @defaultValue every point valid
   */
  readonly mask?: Uint8Array;
}

/** {@link hydroDeviations} for the public function `fn`. */
function deviationsOf(
  fn: string,
  fields: Tensor<FloatArray>,
  grid: Grid,
  balance: BalanceRewardSpec,
  options: HydroRewardOptions,
): Tensor<Float64Array> {
  const [N, C, H, W] = stackDims(fn, 'fields', fields);
  if (grid.latDeg.length !== H || grid.lonDeg.length !== W)
    throw invalidArgument(
      fn,
      `the grid is ${grid.latDeg.length} x ${grid.lonDeg.length} but the fields are ${H} x ${W}`,
    );
  const layers = balance.hydrostatic ?? [];
  if (layers.length === 0)
    throw invalidArgument(
      fn,
      `the hydrostatic reward needs a temperature between two geopotential levels (a hydrostatic layer); the balance has none${balance.channels === undefined ? '' : ` (channels ${balance.channels.join(', ')})`}`,
    );
  layers.forEach((t, k) => {
    checkChannel(fn, `hydrostatic[${k}].t`, t.t, C);
    checkChannel(fn, `hydrostatic[${k}].zUpper`, t.zUpper, C);
    checkChannel(fn, `hydrostatic[${k}].zLower`, t.zLower, C);
    if (!Number.isFinite(t.thicknessPerKelvin) || t.thicknessPerKelvin === 0)
      throw invalidArgument(
        fn,
        `hydrostatic[${k}].thicknessPerKelvin = ${t.thicknessPerKelvin} must be finite and non-zero`,
      );
  });
  const HW = H * W;
  const L = layers.length;
  const out = new Float64Array(N * L); // [N, L]
  const balanced = new Float64Array(HW); // [H, W]
  const metric = options.mask === undefined ? {} : { mask: options.mask };
  for (let n = 0; n < N; n++) {
    const at = (c: number): number => (n * C + c) * HW;
    layers.forEach((t, k) => {
      const up = at(t.zUpper);
      const lo = at(t.zLower);
      for (let p = 0; p < HW; p++)
        balanced[p] =
          ((fields.data[up + p] as number) - (fields.data[lo + p] as number)) / t.thicknessPerKelvin;
      const temp = { data: fields.data.subarray(at(t.t), at(t.t) + HW), shape: [1, H, W] }; // [1, H, W]
      out[n * L + k] = latWeightedRmse(
        temp,
        { data: balanced, shape: [1, H, W] },
        grid.latDeg,
        metric,
      ).overall;
    });
  }
  return { data: out, shape: [N, L] };
}

/**
 * The hydrostatic deviation of each field and layer, K: the latitude-weighted RMS (tensor's `latWeightedRmse`) of
 * T - (Phi_upper - Phi_lower) / thicknessPerKelvin, the temperature's departure from the layer-mean temperature of
 * the hypsometric equation (Holton, eq. 1.25: Phi_upper - Phi_lower = R_d T ln(p_lower / p_upper)). 0 for an exactly
 * hydrostatic field (the QG world's truth, to float32 rounding).
 * @param fields - decoded fields in physical units (geopotential m2 s-2, temperature K), shape [N, C, H, W] or
 *   [C, H, W] (N = 1)
 * @param grid - the fields' grid (its latitudes weight the RMS)
 * @param balance - the hydrostatic layers
 * @returns D, shape [N, L], L the layers, K
 * @throws AppError INVALID_ARGUMENT on a bad shape, a channel out of range, no hydrostatic layer, or a zero thickness
 */
export function hydroDeviations(
  fields: Tensor<FloatArray>,
  grid: Grid,
  balance: BalanceRewardSpec,
  options: HydroRewardOptions = {},
): Tensor<Float64Array> {
  return deviationsOf('hydroDeviations', fields, grid, balance, options);
}

/**
 * R_hydro of each sample: the mean over layers of 2 sigmoid(-|D - D_truth| / s), D from {@link hydroDeviations}.
 * In (0, 1], 1 when the sample is exactly as hydrostatic as the truth; higher = better.
 * @param samples - decoded samples in physical units, shape [N, C, H, W]
 * @param truth - the condition's truth, shape [C, H, W]
 * @param scale - s > 0, K, from {@link deviationScale} on the alignment period
 * @returns shape [N]
 */
export function hydroReward(
  samples: Tensor<FloatArray>,
  truth: Tensor<FloatArray>,
  grid: Grid,
  balance: BalanceRewardSpec,
  scale: number,
  options: HydroRewardOptions = {},
): Float64Array {
  const fn = 'hydroReward';
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

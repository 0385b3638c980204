import type { FloatArray } from '@alignda/tensor';
import { invalidArgument } from '../internal/errors.js';
import type { BackgroundErrorStats } from './background-error.js';

/**
 * Removes the training period's mean background error from a background: x_b - b with
 * b = mean(x_b - x_t) of {@link estimateBackgroundError} (per channel, or per channel and latitude row when the
 * statistics are per latitude), the simplest offline bias correction (Dee 2005, QJRMS 131, "Bias and data
 * assimilation", section 3: a constant bias estimate from a training sample). 3D-Var assumes an unbiased
 * background; run it on the corrected one and report the corrected background as its own row.
 * @param background - one background, shape [C, H, W] (`stats.stateShape`), or N of them, shape [N, C, H, W]
 *   flattened, in the units the statistics were estimated in
 * @param stats - statistics whose `bias` has shape [C] or [C, H]
 * @returns the corrected background(s), float64, the length of `background`
 * @throws AppError INVALID_ARGUMENT when the length is not a multiple of C H W or a bias is not finite
 */
export function biasCorrect(background: FloatArray, stats: BackgroundErrorStats): Float64Array {
  const fn = 'biasCorrect';
  const [C, H, W] = stats.stateShape;
  const size = C * H * W;
  if (background.length === 0 || background.length % size !== 0)
    throw invalidArgument(
      fn,
      `background has ${background.length} values, not a multiple of the state [${C}, ${H}, ${W}] (${size})`,
    );
  const groups = stats.perLatitude ? C * H : C;
  if (stats.bias.length !== groups)
    throw invalidArgument(fn, `bias has ${stats.bias.length} values, expected ${groups}`);
  stats.bias.forEach((b, i) => {
    if (!Number.isFinite(b)) throw invalidArgument(fn, `bias[${i}] = ${b} is not finite`);
  });
  const out = new Float64Array(background.length);
  for (let o = 0; o < background.length; o += size) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H; i++) {
        const b = stats.bias[stats.perLatitude ? c * H + i : c] as number;
        const r = o + (c * H + i) * W;
        for (let k = 0; k < W; k++) out[r + k] = (background[r + k] as number) - b;
      }
    }
  }
  return out;
}

/**
 * The score shared by the balance rewards R_geo and R_hydro (METHOD.md section 5): 2 sigmoid(-|D - D_truth| / s)
 * per level, averaged over levels, with the scale s fixed on the alignment period.
 */
import { geoScore } from '@alignda/tensor';
import type { FloatArray, Tensor } from '@alignda/tensor';
import { fmtShape, invalidArgument } from '../internal/errors.js';
import { median } from '../internal/order-stats.js';
import type { BalanceSpec } from '../var3d/balance.js';

/**
 * The balance relations the rewards read: geostrophic levels (z with u and v), hydrostatic layers, the Coriolis
 * parameter and channel names. A {@link BalanceSpec} is one.
 */
export type BalanceRewardSpec = Pick<BalanceSpec, 'levels' | 'hydrostatic' | 'coriolis' | 'channels'>;

/** The balance deviations of one condition's candidates and of its truth. */
export interface BalanceDeviations {
  /** D of each candidate and level, shape [N, L]. */
  readonly deviations: Tensor<FloatArray>;
  /** D_truth of each level, shape [L]. */
  readonly truth: ArrayLike<number>;
}

/** Checks a deviation table [N, L] against truth [L]; returns N, L. */
function checkDeviations(fn: string, d: BalanceDeviations, what: string): [number, number] {
  const s = d.deviations.shape;
  if (
    s.length !== 2 ||
    s.some((x) => !Number.isInteger(x) || x < 1) ||
    d.deviations.data.length !== (s[0] ?? 0) * (s[1] ?? 0)
  )
    throw invalidArgument(
      fn,
      `${what} deviations must have shape [N, L] with N L values, got shape ${fmtShape(s)} and ${d.deviations.data.length} values`,
    );
  const [N, L] = s as [number, number];
  if (d.truth.length !== L)
    throw invalidArgument(fn, `${what}: ${d.truth.length} truth deviations for ${L} levels`);
  const bad = (xs: ArrayLike<number>): number =>
    Array.prototype.findIndex.call(xs, (x: number) => !Number.isFinite(x));
  if (bad(d.deviations.data) >= 0 || bad(d.truth) >= 0)
    throw invalidArgument(fn, `${what}: a deviation is not finite`);
  return [N, L];
}

/**
 * The balance score of each candidate: the mean over levels l of 2 sigmoid(-|D[n][l] - D_truth[l]| / s) (tensor's
 * `geoScore`), in (0, 1], 1 when every level is exactly as balanced as the truth's. Higher = better.
 * @param d - deviations of the candidates, shape [N, L], and of the truth, shape [L]
 * @param scale - s, finite and > 0, in the deviations' units ({@link deviationScale})
 * @returns shape [N]
 * @throws AppError INVALID_ARGUMENT on mismatched shapes, non-finite deviations, or a scale not > 0
 */
export function balanceScores(d: BalanceDeviations, scale: number): Float64Array {
  const fn = 'balanceScores';
  const [N, L] = checkDeviations(fn, d, 'the');
  if (!(scale > 0) || !Number.isFinite(scale))
    throw invalidArgument(fn, `scale must be finite and > 0, got ${scale}`);
  const out = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let acc = 0;
    for (let l = 0; l < L; l++)
      acc += geoScore(d.deviations.data[n * L + l] as number, d.truth[l] as number, scale);
    out[n] = acc / L;
  }
  return out;
}

/**
 * The scale s of a balance reward, fixed on the alignment period (METHOD.md section 5, **[choice]**): the median of
 * |D - D_truth| over every candidate, level and condition of the reference's candidates. A candidate one typical
 * deviation away from the truth's balance then scores 2 sigmoid(-1) = 0.54. Stored with the preference set.
 * @param conditions - the deviations of each condition of the period
 * @returns s, in the deviations' units
 * @throws AppError INVALID_ARGUMENT on no conditions, mismatched levels, non-finite deviations, or a median of 0
 *   (candidates as balanced as the truth: no scale to learn)
 */
export function deviationScale(conditions: readonly BalanceDeviations[]): number {
  const fn = 'deviationScale';
  if (conditions.length === 0) throw invalidArgument(fn, 'no conditions: the scale needs at least one');
  const L = conditions[0]?.deviations.shape[1];
  const gaps: number[] = [];
  conditions.forEach((c, i) => {
    const [N, Li] = checkDeviations(fn, c, `conditions[${i}]`);
    if (Li !== L) throw invalidArgument(fn, `conditions[${i}] has ${Li} levels but conditions[0] has ${L}`);
    for (let n = 0; n < N; n++)
      for (let l = 0; l < Li; l++)
        gaps.push(Math.abs((c.deviations.data[n * Li + l] as number) - (c.truth[l] as number)));
  });
  const s = median(gaps);
  if (!(s > 0))
    throw invalidArgument(
      fn,
      `the median |D - D_truth| over ${gaps.length} candidate levels is ${s}: the candidates are as balanced as the truth, no scale`,
    );
  return s;
}

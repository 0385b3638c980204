/** Which states of a period become cases: the picks every use case shares, so that their cases can be compared. */
import { AppError } from '@alignda/errors';
import type { Rng } from '@alignda/tensor';

/**
 * State indices of `n` cases in [lo, hi): evenly spaced, or with `wholeDays` ceil(n / 4) whole days of 4
 * consecutive states, each day starting at a multiple of 4 (00 UTC for sources whose state 0 is at 00 UTC).
 * @throws AppError `INVALID_ARGUMENT` when the range holds too few states or days
 */
export function pickCases(lo: number, hi: number, n: number, wholeDays: boolean): number[] {
  if (wholeDays) {
    const days = Math.ceil(n / 4);
    const first = Math.ceil(lo / 4) * 4;
    const span = Math.floor((hi - first) / 4);
    if (span < days)
      throw new AppError('INVALID_ARGUMENT', `need ${days} days in the test period, it has ${span}`);
    const stride = Math.floor(span / days);
    const out: number[] = [];
    for (let d = 0; d < days; d++) for (let k = 0; k < 4; k++) out.push(first + d * stride * 4 + k);
    return out;
  }
  const span = hi - lo;
  if (span < n)
    throw new AppError(
      'INVALID_ARGUMENT',
      `need ${n} cases in the test period, it has ${span} usable states`,
    );
  const step = span / n;
  return Array.from({ length: n }, (_, k) => lo + Math.floor(step / 2 + k * step));
}

/**
 * State indices of `n` cases in [lo, hi), evenly spaced with a random phase drawn from `rng` (one draw): cases far
 * apart in time are closer to independent.
 * @throws AppError `INVALID_ARGUMENT` when the range holds fewer than `n` states
 */
export function pickPhasedCases(rng: Rng, lo: number, hi: number, n: number): number[] {
  const span = hi - lo;
  if (span < n)
    throw new AppError(
      'INVALID_ARGUMENT',
      `need ${n} cases in [${lo}, ${hi}) but the period has ${span} states`,
    );
  const step = span / n;
  const phase = rng.uniform() * step;
  return Array.from({ length: n }, (_, k) => lo + Math.floor(phase + k * step));
}

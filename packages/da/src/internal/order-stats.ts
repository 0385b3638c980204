/**
 * Median of a non-empty list: the middle value, or the mean of the two middle values for an even length.
 * NaN for an empty list.
 */
export function median(xs: ArrayLike<number>): number {
  const sorted = Float64Array.from(xs).sort();
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = Math.floor(n / 2);
  return n % 2 === 1 ? (sorted[h] as number) : ((sorted[h - 1] as number) + (sorted[h] as number)) / 2;
}

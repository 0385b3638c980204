/** Commander argument parsers shared by the commands: each rejects a bad value with a message naming the option. */
import { InvalidArgumentError } from 'commander';

/** An integer >= `min` (and <= `max` when given). */
export function intArg(name: string, min: number, max = Infinity): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        max === Infinity
          ? `${name} must be an integer >= ${min}`
          : `${name} must be an integer in [${min}, ${max}]`,
      );
    return n;
  };
}

/** A finite number in [lo, hi], or (lo, hi] when `loOpen`. */
export function numArg(name: string, lo: number, hi: number, loOpen: boolean): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || (loOpen ? n <= lo : n < lo) || n > hi)
      throw new InvalidArgumentError(`${name} must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}]`);
    return n;
  };
}

/** A finite number > 0. */
export function positiveArg(v: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/**
 * A comma-separated list of distinct names, each one of `allowed` (e.g. `--models ref,M`).
 * @returns the names in the order given
 */
export function listArg(name: string, allowed: readonly string[]): (v: string) => string[] {
  return (v) => {
    const names = v.split(',').map((x) => x.trim());
    const bad = names.filter((x) => !allowed.includes(x));
    if (bad.length > 0 || names.length === 0)
      throw new InvalidArgumentError(
        `${name}: unknown ${bad.map((x) => `'${x}'`).join(', ')}; choose from ${allowed.join(', ')}, comma-separated`,
      );
    if (new Set(names).size !== names.length)
      throw new InvalidArgumentError(`${name}: a name is given twice in '${v}'`);
    return names;
  };
}

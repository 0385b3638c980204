import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';

/**
 * A seeded pseudo-random source: xoroshiro128+ from `pure-rand` for uniforms, Box-Muller for normals.
 * The same seed gives the same sequence on every run and platform (pure integer arithmetic + IEEE doubles).
 */
export interface Rng {
  /** Uniform draw in [0, 1). */
  uniform(): number;
  /** Standard normal draw. */
  normal(): number;
  /** Fills `out` with N(mean, std^2) draws and returns it. */
  fillNormal<T extends Float32Array | Float64Array>(out: T, mean?: number, std?: number): T;
  /** Fills `out` with U[lo, hi) draws and returns it. */
  fillUniform<T extends Float32Array | Float64Array>(out: T, lo?: number, hi?: number): T;
  /** Integer in [0, n). */
  int(n: number): number;
  /** A new, independent generator derived from this one's next draws (for per-member streams). */
  fork(): Rng;
}

/**
 * Creates a seeded RNG.
 * @param seed - any 32-bit integer; non-integers are truncated.
 */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`createRng: seed must be a finite number, got ${seed}`);
  const gen = xoroshiro128plus(seed | 0);
  let spare: number | undefined;
  const uniform = (): number => uniformFloat64(gen);
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    // Box-Muller; 1 - u keeps the log argument in (0, 1].
    const u1 = 1 - uniform();
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
  const rng: Rng = {
    uniform,
    normal,
    fillNormal(out, mean = 0, std = 1) {
      for (let i = 0; i < out.length; i++) out[i] = mean + std * normal();
      return out;
    },
    fillUniform(out, lo = 0, hi = 1) {
      for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * uniform();
      return out;
    },
    int(n) {
      return Math.floor(uniform() * n);
    },
    fork() {
      return createRng(Math.floor(uniform() * 0x7fffffff) ^ Math.floor(uniform() * 0x7fffffff));
    },
  };
  return rng;
}

import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';
import { xoroshiroStateFromSeed } from './internal/split-mix64.js';
import { TensorError } from './tensor-error.js';

/**
 * A seeded pseudo-random source: xoroshiro128+ from `pure-rand` for uniforms (53-bit doubles), Box-Muller
 * for normals. The same seed gives the same sequence on every run and platform (pure integer arithmetic +
 * IEEE doubles; normals additionally use Math.log/cos/sin, which may differ in the last bit across engines).
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
  /** Integer in [0, n); n a positive integer. */
  int(n: number): number;
  /**
   * A new generator for a sub-stream (e.g. one per ensemble member). The child continues from this
   * generator's current state and this generator jumps 2^64 draws ahead, so parent and successive children
   * own disjoint blocks of the period. Deterministic: the same seed and call order give the same children.
   */
  fork(): Rng;
}

/**
 * Creates a seeded RNG. The 128-bit state is expanded from the seed with SplitMix64, as the xoroshiro
 * authors recommend: pure-rand's own seeding leaves the first few outputs of every seed close to 2^32 - 1.
 * @param seed - any 32-bit integer; non-integers are truncated
 */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed))
    throw new TensorError('OUT_OF_RANGE', `createRng: seed must be a finite number, got ${seed}`);
  return rngFrom(xoroshiro128plusFromState(xoroshiroStateFromSeed(seed | 0)));
}

function rngFrom(gen: JumpableRandomGenerator): Rng {
  let spare: number | undefined;
  const uniform = (): number => uniformFloat64(gen);
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    // Box-Muller (Box & Muller 1958); 1 - u keeps the log argument in (0, 1].
    const u1 = 1 - uniform();
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
  return {
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
      if (!Number.isInteger(n) || n < 1)
        throw new TensorError('OUT_OF_RANGE', `Rng.int: n must be a positive integer, got ${n}`);
      return Math.floor(uniform() * n);
    },
    fork() {
      const child = gen.clone();
      gen.jump();
      return rngFrom(child);
    },
  };
}

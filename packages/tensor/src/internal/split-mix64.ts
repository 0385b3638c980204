/** Golden-ratio increment of SplitMix64 (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators"). */
const GAMMA = 0x9e3779b97f4a7c15n;

/**
 * One SplitMix64 step: the next state and its 64-bit output, both unsigned. This is the seeding routine
 * Blackman & Vigna recommend for xoroshiro128+ (https://prng.di.unimi.it/splitmix64.c).
 */
export function splitMix64(state: bigint): { state: bigint; output: bigint } {
  const s = BigInt.asUintN(64, state + GAMMA);
  let z = s;
  z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
  z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
  return { state: s, output: z ^ (z >> 31n) };
}

/**
 * The xoroshiro128+ state words for a 32-bit seed, in pure-rand's `xoroshiro128plusFromState` order
 * [s0 high, s0 low, s1 high, s1 low] as signed 32-bit integers, with s0, s1 the first two SplitMix64
 * outputs from the seed.
 */
export function xoroshiroStateFromSeed(seed: number): number[] {
  const a = splitMix64(BigInt.asUintN(64, BigInt(seed)));
  const b = splitMix64(a.state);
  const i32 = (x: bigint): number => Number(BigInt.asIntN(32, x));
  return [i32(a.output >> 32n), i32(a.output), i32(b.output >> 32n), i32(b.output)];
}

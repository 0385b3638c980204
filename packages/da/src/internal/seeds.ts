/**
 * Seed of ensemble member `member` of a run with seed `seed`: a 32-bit integer hash of the pair
 * (murmur3's fmix32 finaliser over a golden-ratio combination), so member m's noise does not depend
 * on how members are batched or how many there are.
 */
export function memberSeed(seed: number, member: number): number {
  let h = (Math.trunc(seed) ^ Math.imul(member + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) | 0;
}

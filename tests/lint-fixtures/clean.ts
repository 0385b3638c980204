// Breaks no fence wherever it is linted: a pure kernel over an injected RNG.
import type { Rng } from '@alignda/tensor';

export function jitter(x: Float64Array, rng: Rng): Float64Array {
  return x.map((v) => v + rng.normal());
}

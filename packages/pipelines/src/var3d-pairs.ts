/**
 * The glue between a forecast model and 3D-Var's B: background/truth pairs of training states (the background made
 * by whatever forecast model the caller binds), stacked for `fit3DVar` of packages/da.
 */
import type { BackgroundTruthPairs } from '@alignda/da';

/**
 * Stacks `background(i)` and `truth(i)` of every state index, `[N, ...shape]` each.
 * @param shape - [C, H, W] of one state
 */
export async function backgroundTruthPairs(
  indices: readonly number[],
  shape: readonly [number, number, number],
  background: (i: number) => Float32Array | Promise<Float32Array>,
  truth: (i: number) => Float32Array,
  onProgress?: (fraction: number) => void,
): Promise<BackgroundTruthPairs> {
  const size = shape[0] * shape[1] * shape[2];
  const n = indices.length;
  const bgs = new Float32Array(n * size);
  const truths = new Float32Array(n * size);
  for (const [k, i] of indices.entries()) {
    bgs.set(await background(i), k * size);
    truths.set(truth(i), k * size);
    onProgress?.((k + 1) / n);
  }
  return { background: { data: bgs, shape: [n, ...shape] }, truth: { data: truths, shape: [n, ...shape] } };
}

/**
 * The glue between a forecast model and 3D-Var's B: background/truth pairs of training states (the background made
 * by whatever forecast model the caller binds), stacked for `fit3DVar` of packages/da.
 */
import type { BackgroundTruthPairs } from '@alignda/da';
import { AppError } from '@alignda/errors';

/**
 * Stacks `background(i)` and `truth(i)` of every state index, `[N, ...shape]` each.
 * @param shape - [C, H, W] of one state
 * @throws AppError `INVALID_ARGUMENT` when a background or truth does not hold C x H x W values
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
    const b = await background(i);
    const t = truth(i);
    if (b.length !== size || t.length !== size)
      throw new AppError(
        'INVALID_ARGUMENT',
        `backgroundTruthPairs: state ${i} has a background of ${b.length} and a truth of ${t.length} values; [${shape.join(', ')}] needs ${size}`,
      );
    bgs.set(b, k * size);
    truths.set(t, k * size);
    onProgress?.((k + 1) / n);
  }
  return { background: { data: bgs, shape: [n, ...shape] }, truth: { data: truths, shape: [n, ...shape] } };
}

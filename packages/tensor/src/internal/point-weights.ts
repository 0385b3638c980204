import { fmtShape } from './shape.js';
import { TensorError } from '../tensor-error.js';

/**
 * Point weights w_i * mask_ij over the grid, the form every metric reduces with.
 * @param rowWeights - per-row weights, shape [H], or undefined for 1
 * @param mask - valid-area mask, shape [H, W] (non-zero = valid), or undefined for all valid
 * @returns shape [H, W] and the sum of the weights
 * @throws TensorError when the mask has the wrong length (`SHAPE_MISMATCH`) or the weights sum to 0
 *   (`DEGENERATE`)
 */
export function pointWeights(
  fn: string,
  H: number,
  W: number,
  rowWeights: ArrayLike<number> | undefined,
  mask: Uint8Array | undefined,
): { weights: Float64Array; sum: number } {
  if (mask !== undefined && mask.length !== H * W) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `${fn}: mask has length ${mask.length} but the grid is ${fmtShape([H, W])}`,
    );
  }
  if (rowWeights !== undefined && rowWeights.length !== H) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `${fn}: ${rowWeights.length} row weights for a grid of ${H} rows`,
    );
  }
  const weights = new Float64Array(H * W);
  let sum = 0;
  for (let i = 0; i < H; i++) {
    const wi = rowWeights === undefined ? 1 : (rowWeights[i] as number);
    for (let j = 0; j < W; j++) {
      const k = i * W + j;
      const w = mask === undefined || mask[k] !== 0 ? wi : 0;
      weights[k] = w;
      sum += w;
    }
  }
  if (!(sum > 0))
    throw new TensorError(
      'DEGENERATE',
      `${fn}: the mask and weights leave no grid point with positive weight`,
    );
  return { weights, sum };
}

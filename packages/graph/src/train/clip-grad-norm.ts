import type { ParamMap, ReadonlyParamMap } from './param-map.js';
import { GraphError } from '../errors.js';

/**
 * The global L2 norm of all tensors of a map, sqrt(sum_i sum_j g_ij^2), accumulated in float64
 * in the map's insertion order.
 * @param grads - the tensors
 */
export function globalNorm(grads: ReadonlyParamMap): number {
  let sumSq = 0;
  for (const g of Object.values(grads)) {
    const n = g.length;
    for (let i = 0; i < n; i++) {
      const x = g[i] as number;
      sumSq += x * x;
    }
  }
  return Math.sqrt(sumSq);
}

/**
 * Clips gradients by their global L2 norm (Pascanu, Mikolov & Bengio, "On the difficulty of training
 * recurrent neural networks", ICML 2013, Algorithm 1), in place, as `torch.nn.utils.clip_grad_norm_`:
 * when the norm exceeds `maxNorm`, every gradient is scaled by `maxNorm / (norm + 1e-6)`, which keeps
 * the direction and leaves the clipped norm just below `maxNorm`.
 *
 * A non-finite norm (a NaN or Inf gradient) is returned without touching the gradients: scaling would
 * only spread the NaN; the caller should skip that step.
 * @param grads - gradients, scaled in place when clipped
 * @param maxNorm - the largest allowed global norm, > 0
 * @returns the global norm before clipping
 */
export function clipGradNorm(grads: ParamMap, maxNorm: number): number {
  if (!(maxNorm > 0))
    throw new GraphError('INVALID_OPTION', `clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const norm = globalNorm(grads);
  if (!Number.isFinite(norm) || norm <= maxNorm) return norm;
  const scale = maxNorm / (norm + 1e-6);
  for (const g of Object.values(grads)) {
    const n = g.length;
    for (let i = 0; i < n; i++) g[i] = (g[i] as number) * scale;
  }
  return norm;
}

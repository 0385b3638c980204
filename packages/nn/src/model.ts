/** What every model family's training builder returns. */
import { AppError } from '@alignda/errors';
import { grad, gradName } from '@alignda/graph';
import type { Graph } from '@alignda/graph';

/** A forward graph with a scalar output `loss`, and its gradient graph. */
export interface TrainingGraph {
  /** Forward graph: data inputs, parameters, `loss` and the family's diagnostic outputs. */
  readonly forward: Graph;
  /** `forward` plus one output `grad/<param>` per parameter (see `gradName`), for the optimiser. */
  readonly graph: Graph;
  /** Parameter names in declaration order (the optimiser's layout). */
  readonly params: readonly string[];
  /** Output name of each parameter's gradient, in the order of `params`. */
  readonly gradOutputs: readonly string[];
}

/** Differentiates `forward`'s `loss` output with respect to every parameter. */
export function trainingGraph(forward: Graph): TrainingGraph {
  const params = forward.params.map((p) => p.name);
  return { forward, graph: grad(forward, 'loss', params), params, gradOutputs: params.map(gradName) };
}

/** Number of scalar parameters of a graph. */
export function parameterCount(graph: Graph): number {
  return graph.params.reduce((n, p) => n + p.shape.reduce((a, d) => a * d, 1), 0);
}

/**
 * The entries of `params` that `graph` declares (the runtime rejects unknown feeds), e.g. the `dec.*` part of a
 * full VAE map for the decode graph. Throws an `INVALID_ARGUMENT` AppError naming the first missing parameter.
 */
export function pickParams<T>(graph: Graph, params: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const p of graph.params) {
    const v = params[p.name];
    if (v === undefined)
      throw new AppError(
        'INVALID_ARGUMENT',
        `graph '${graph.name}' needs parameter '${p.name}' [${p.shape.join(',')}], not in the map`,
      );
    out[p.name] = v;
  }
  return out;
}

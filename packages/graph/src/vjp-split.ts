import { GraphError } from './errors.js';
import { Graph } from './graph.js';
import type { ConstSpec, GraphNode, ParamSpec } from './graph.js';
import { vjp } from './grad.js';
import type { Value } from './types.js';

/** Options of {@link vjpSplit}. */
export interface VjpSplitOptions {
  /**
   * Forward nodes whose outputs the backward graph recomputes from their inputs (recursively) instead of taking
   * them as saved residuals: fewer bytes cross between the two sessions, for a little repeated arithmetic.
   * @defaultValue none (every residual is saved)
   */
  readonly recompute?: (node: GraphNode) => boolean;
}

/** Elementwise and reshaping ops: cheap to recompute, see {@link VjpSplitOptions.recompute}. */
export const ELEMENTWISE_OPS: ReadonlySet<string> = new Set([
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Neg',
  'Sqrt',
  'Exp',
  'Log',
  'Abs',
  'Sigmoid',
  'Tanh',
  'Relu',
  'Softplus',
  'Sin',
  'Cos',
  'Sign',
  'Identity',
  'Sum',
  'Where',
  'Cast',
  'Reshape',
  'Expand',
  'Unsqueeze',
  'Squeeze',
]);

/** The two halves of a vector-Jacobian product made by {@link vjpSplit}. */
export interface SplitVjp {
  /**
   * The original graph (same inputs, parameters and nodes) with extra outputs: the original outputs first, then
   * every value of {@link SplitVjp.saved}, each under its own name.
   */
  readonly forward: Graph;
  /**
   * The backward pass alone: inputs are the forward inputs it reads (same names, fed the same values), the
   * {@link SplitVjp.saved} values (fed from the forward's outputs of those names) and the cotangents; outputs
   * `gradName(w)` for each `w` of `wrt` (also in `backward.gradients`).
   */
  readonly backward: Graph;
  /** Forward intermediates the backward reads (the residuals), in forward order: forward outputs, backward inputs. */
  readonly saved: readonly string[];
}

/**
 * {@link vjp} cut into a forward graph that also returns the intermediates its backward reads, and a backward graph
 * that takes them (with the cotangents) instead of recomputing them: one forward pass serves both the outputs the
 * caller needs before it can form the cotangent (e.g. DPS guidance's decoded estimate, whose misfit gives the
 * cotangent) and the VJP. The nodes are exactly those of `vjp(graph, outputs, cotangents, wrt)`, forward nodes in
 * the forward graph and gradient nodes in the backward graph, so the results are the same.
 * Values computed from parameters and constants alone (e.g. folded upsample-conv kernels) are recomputed in the
 * backward graph rather than passed (onnxruntime folds them once at load), and so are the outputs of the nodes that
 * `options.recompute` picks (from their own inputs, recursively): the backward then repeats those forward nodes.
 * @throws GraphError as {@link vjp}; `INTERNAL` when a gradient node reads a value of neither half
 */
export function vjpSplit(
  graph: Graph,
  outputs: readonly (Value | string)[],
  cotangents: readonly string[],
  wrt: readonly (Value | string)[],
  options: VjpSplitOptions = {},
): SplitVjp {
  const recompute = options.recompute ?? ((): boolean => false);
  const full = vjp(graph, outputs, cotangents, wrt);
  const forwardNodes = new Set(graph.nodes.map((n) => n.name));
  const producer = new Map<string, GraphNode>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const params = new Map<string, ParamSpec>(full.params.map((p) => [p.name, p]));
  const constants = new Map<string, ConstSpec>(full.constants.map((c) => [c.name, c]));
  const inputNames = new Set(full.inputs.map((v) => v.name));
  // Forward values computed from parameters and constants alone.
  const fixed = new Set<string>([...params.keys(), ...constants.keys()]);
  for (const n of graph.nodes) {
    if (n.inputs.every((i) => i === '' || fixed.has(i))) for (const o of n.outputs) fixed.add(o);
  }

  const backwardNodes = full.nodes.filter((n) => !forwardNodes.has(n.name));
  const made = new Set<string>(backwardNodes.flatMap((n) => n.outputs));
  const usedParams = new Set<string>();
  const usedConstants = new Set<string>();
  const usedInputs = new Set<string>();
  const saved = new Set<string>();
  const cloned = new Set<string>(); // names of forward nodes recomputed in the backward graph
  const need = (name: string): void => {
    if (name === '' || made.has(name)) return;
    if (params.has(name)) usedParams.add(name);
    else if (constants.has(name)) usedConstants.add(name);
    else if (inputNames.has(name)) usedInputs.add(name);
    else {
      const p = producer.get(name);
      if (p === undefined) {
        throw new GraphError(
          'INTERNAL',
          `vjpSplit: gradient graph of '${graph.name}' reads '${name}', which no node computes`,
        );
      }
      if (!fixed.has(name) && !recompute(p)) saved.add(name);
      else if (!cloned.has(p.name)) {
        cloned.add(p.name);
        for (const i of p.inputs) need(i);
      }
    }
  };
  for (const n of backwardNodes) for (const i of n.inputs) need(i);
  for (const c of cotangents) if (inputNames.has(c)) usedInputs.add(c);

  const order = new Map<string, number>();
  graph.nodes.forEach((n, k) => n.outputs.forEach((o) => order.set(o, k)));
  const savedList = [...saved].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  const value = (name: string): Value => full.value(name);

  // Forward: the original graph plus the saved values as outputs.
  const outNames = new Set(graph.outputs.map((v) => v.name));
  const forward = new Graph(
    {
      name: `${graph.name}_forward`,
      inputs: graph.inputs,
      params: graph.params,
      constants: graph.constants,
      nodes: graph.nodes,
      outputs: [...graph.outputs, ...savedList.filter((s) => !outNames.has(s)).map(value)],
    },
    graph.values(),
  );

  // Backward: recomputed weight-only nodes, then the gradient nodes.
  const nodes = [...graph.nodes.filter((n) => cloned.has(n.name)), ...backwardNodes];
  const inputs = [...full.inputs.filter((v) => usedInputs.has(v.name)), ...savedList.map(value)];
  const values = new Map<string, Value>();
  for (const v of inputs) values.set(v.name, v);
  for (const p of full.params) if (usedParams.has(p.name)) values.set(p.name, p);
  for (const c of full.constants) if (usedConstants.has(c.name)) values.set(c.name, c);
  for (const n of nodes) for (const o of n.outputs) values.set(o, value(o));
  const gradOutputs = Object.values(full.gradients).map(value);
  const backward = new Graph(
    {
      name: `${graph.name}_backward`,
      inputs,
      params: full.params.filter((p) => usedParams.has(p.name)),
      constants: full.constants.filter((c) => usedConstants.has(c.name)),
      nodes,
      outputs: gradOutputs,
      gradients: full.gradients,
    },
    values,
  );
  return { forward, backward, saved: savedList };
}

import { GraphBuilder } from './builder.js';
import { GraphError } from './errors.js';
import type { Graph, GraphNode } from './graph.js';
import { GRAD_RULES } from './internal/grad-rules.js';
import type { GradCtx } from './internal/grad-rule.js';
import { fmtShape, numel } from './types.js';
import type { Value } from './types.js';

/** Name of the output that holds the gradient with respect to `name` in graphs made by {@link grad}/{@link vjp}. */
export function gradName(name: string): string {
  return `grad/${name}`;
}

const isFloat = (v: Value): boolean => v.dtype === 'float32' || v.dtype === 'float64';
const nameOf = (v: Value | string): string => (typeof v === 'string' ? v : v.name);

/** SiLU `y = z * Sigmoid(z)` with the sigmoid used nowhere else: its fused backward is `dz = dy * (s + y * (1 - s))`. */
function siluOf(node: GraphNode, producers: ReadonlyMap<string, GraphNode>, consumers: ReadonlyMap<string, number>): { z: string; s: string } | undefined {
  if (node.op !== 'Mul') return undefined;
  for (const [zi, si] of [[0, 1], [1, 0]] as const) {
    const z = node.inputs[zi] ?? '';
    const s = node.inputs[si] ?? '';
    const p = producers.get(s);
    if (p?.op === 'Sigmoid' && p.inputs[0] === z && consumers.get(s) === 1) return { z, s };
  }
  return undefined;
}

function differentiate(graph: Graph, seeds: ReadonlyArray<readonly [string, (b: GraphBuilder) => Value]>, wrt: readonly string[]): Graph {
  const b = GraphBuilder.extend(graph, 'grad/');
  for (const w of wrt) {
    const v = graph.value(w);
    if (!isFloat(v)) throw new GraphError('NOT_DIFFERENTIABLE', `cannot differentiate with respect to '${w}': dtype ${v.dtype}`);
  }
  // Values that depend on some wrt value: only they carry gradients.
  const depends = new Set(wrt);
  const producers = new Map<string, GraphNode>();
  const consumers = new Map<string, number>();
  for (const n of graph.nodes) {
    for (const o of n.outputs) producers.set(o, n);
    for (const i of n.inputs) consumers.set(i, (consumers.get(i) ?? 0) + 1);
    if (n.inputs.some((i) => depends.has(i))) for (const o of n.outputs) depends.add(o);
  }
  const sources = new Set([...graph.inputs, ...graph.params, ...graph.constants].map((v) => v.name));
  for (const w of [...wrt, ...seeds.map(([name]) => name)]) {
    if (!sources.has(w) && !producers.has(w)) {
      // The builder folds a nearest x2 upsample into the 3x3 conv reading it and drops the Resize when nothing else
      // reads its output: that value then feeds nothing, and its gradient would silently be zero.
      throw new GraphError('NOT_DIFFERENTIABLE', `cannot differentiate with respect to '${w}': no node of graph '${graph.name}' computes it (an upsample folded into the conv that read it); differentiate with respect to its input`);
    }
  }
  const contrib = new Map<string, Value[]>();
  const push = (name: string, g: Value | undefined): void => {
    if (g === undefined || !depends.has(name)) return;
    const list = contrib.get(name);
    if (list === undefined) contrib.set(name, [g]);
    else list.push(g);
  };
  const total = (name: string): Value | undefined => {
    const list = contrib.get(name);
    return list === undefined ? undefined : b.sum(list);
  };
  for (const [name, seed] of seeds) push(name, seed(b));

  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k] as GraphNode;
    if (!node.outputs.some((o) => contrib.has(o))) continue;
    const needs = node.inputs.map((i) => i !== '' && depends.has(i) && isFloat(graph.value(i)));
    if (!needs.some(Boolean)) continue;
    const gy = node.outputs.map(total);
    const silu = siluOf(node, producers, consumers);
    if (silu !== undefined) {
      // ENGINE-NOTES: reuse forward s = Sigmoid(z) and y = z*s; dz = dy * (s + y*(1-s)).
      const s = graph.value(silu.s);
      const y = graph.value(node.outputs[0] ?? '');
      const dy = gy[0] as Value;
      push(silu.z, b.mul(dy, b.add(s, b.mul(y, b.sub(1, s)))));
      continue;
    }
    const rule = GRAD_RULES[node.op];
    if (rule === undefined) {
      throw new GraphError('NOT_DIFFERENTIABLE', `${node.op} node '${node.name}' has no gradient rule`, { node: node.name });
    }
    const c: GradCtx = {
      b,
      node,
      x: node.inputs.map((i) => (i === '' ? undefined : graph.value(i))),
      y: node.outputs.map((o) => graph.value(o)),
      gy,
      needs,
      attrs: node.attrs,
    };
    const gx = rule(c);
    node.inputs.forEach((i, j) => {
      const g = gx[j];
      if (!needs[j] || g === undefined) return;
      const v = graph.value(i);
      if (g.shape.join() !== v.shape.join()) {
        throw new GraphError('INTERNAL', `internal: gradient of ${node.op} node '${node.name}' input ${j} has shape ${fmtShape(g.shape)}, input is ${fmtShape(v.shape)}`, { node: node.name });
      }
      push(i, g);
    });
  }
  const gradients: Record<string, string> = {};
  for (const w of wrt) {
    const v = graph.value(w);
    const g = total(w) ?? b.expand(b.scalar(0, v.dtype), v.shape);
    gradients[w] = b.output(g, gradName(w)).name;
  }
  return b.build(gradients);
}

/**
 * Reverse-mode gradient of a scalar (one-element) `loss` with respect to `wrt` (parameter or input names/values).
 * Returns a new graph computing the original outputs plus one output per `wrt`, named `gradName(w)`
 * (also listed in `graph.gradients`). Forward intermediates are reused; fan-out gradients are summed;
 * broadcast gradients are reduced back to the operand shape.
 */
export function grad(graph: Graph, loss: Value | string, wrt: readonly (Value | string)[]): Graph {
  const l = graph.value(nameOf(loss));
  if (numel(l.shape) !== 1) throw new GraphError('SHAPE_MISMATCH', `grad: loss '${l.name}' must have one element, got shape ${fmtShape(l.shape)}`);
  const seed = (b: GraphBuilder): Value => b.expand(b.scalar(1, l.dtype), l.shape);
  return differentiate(graph, [[l.name, seed]], wrt.map(nameOf));
}

/**
 * Vector-Jacobian product: for each of `outputs`, `cotangents` names a new graph input of the same dtype and shape
 * (or an existing input with them); the returned graph computes the original outputs plus
 * `sum_k <cotangent_k, d output_k / d w>` for each `w` of `wrt` (outputs named `gradName(w)`). One graph serves any
 * cotangent, e.g. DPS guidance with observation-dependent residuals.
 */
export function vjp(graph: Graph, outputs: readonly (Value | string)[], cotangents: readonly string[], wrt: readonly (Value | string)[]): Graph {
  if (outputs.length !== cotangents.length) {
    throw new GraphError('SHAPE_MISMATCH', `vjp: ${outputs.length} outputs but ${cotangents.length} cotangents`);
  }
  const seeds = outputs.map((o, i): readonly [string, (b: GraphBuilder) => Value] => {
    const v = graph.value(nameOf(o));
    const cname = cotangents[i] ?? '';
    return [
      v.name,
      (b) => {
        if (!graph.has(cname)) return b.input(cname, v.dtype, v.shape);
        const c = graph.value(cname);
        if (c.dtype !== v.dtype || c.shape.join() !== v.shape.join()) {
          throw new GraphError('SHAPE_MISMATCH', `vjp: cotangent '${cname}' is ${c.dtype}${fmtShape(c.shape)}, output '${v.name}' is ${v.dtype}${fmtShape(v.shape)}`);
        }
        return c;
      },
    ];
  });
  return differentiate(graph, seeds, wrt.map(nameOf));
}

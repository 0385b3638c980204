import type { GraphBuilder } from '../builder.js';
import { GraphError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import type { AttrValue, Shape, Value } from '../types.js';

/** What a gradient rule sees: the forward node, its values, the output cotangents and which inputs need gradients. */
export interface GradCtx {
  /** Builder of the gradient graph; rules emit ops with it. */
  readonly b: GraphBuilder;
  readonly node: GraphNode;
  /** Forward inputs (`undefined` for an absent optional input). */
  readonly x: readonly (Value | undefined)[];
  /** Forward outputs (reused, never recomputed). */
  readonly y: readonly Value[];
  /** Cotangent of each output; `undefined` where the output does not reach the differentiated outputs. */
  readonly gy: readonly (Value | undefined)[];
  /** Whether input `i` needs a gradient. */
  readonly needs: readonly boolean[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

/** Returns the gradient of each input (`undefined` = zero or not needed), shaped like the input. */
export type GradRule = (c: GradCtx) => readonly (Value | undefined)[];

/** Input `i` of the forward node, which the rule knows to exist. */
export function xi(c: GradCtx, i: number): Value {
  const v = c.x[i];
  if (v === undefined) throw new GraphError('INTERNAL', `internal: ${c.node.name} has no input ${i}`);
  return v;
}

/** The cotangent of output 0, which exists whenever a single-output rule runs. */
export function g0(c: GradCtx): Value {
  const v = c.gy[0];
  if (v === undefined) throw new GraphError('INTERNAL', `internal: ${c.node.name} has no cotangent`);
  return v;
}

/**
 * Sums a broadcast gradient back to `shape`: ReduceSum (keepdims) over the broadcast axes, then Reshape away the
 * leading axes NumPy broadcasting added.
 */
export function sumTo(b: GraphBuilder, g: Value, shape: Shape): Value {
  if (g.shape.join() === shape.join()) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const r = axes.length > 0 ? b.reduceSum(g, axes, true) : g;
  return b.reshape(r, shape);
}

/** `perm` inverted: `transpose(transpose(x, p), inversePerm(p)) = x`. */
export function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length).fill(0);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
}

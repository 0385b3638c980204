import { GraphBuilder } from './builder.js';
import { GraphError } from './errors.js';
import type { Graph } from './graph.js';
import type { ParamInit } from './init.js';
import { fmtShape } from './types.js';
import type { AttrValue, DType, Shape, Value } from './types.js';

/** One node of a {@link GraphSpec}. */
export interface NodeSpec {
  readonly op: string;
  /** @defaultValue a generated name */
  readonly name?: string;
  /** Value names; `''` for an absent optional input. */
  readonly inputs: readonly string[];
  /** Output value names. @defaultValue generated from the node name */
  readonly outputs?: readonly string[];
  readonly attrs?: Readonly<Record<string, AttrValue>>;
}

/** A graph as plain data (e.g. from JSON): nodes in any order; {@link graphFromSpec} sorts and checks them. */
export interface GraphSpec {
  readonly name?: string;
  /** Seed of the parameter initialisers. @defaultValue 0 */
  readonly seed?: number;
  readonly inputs: readonly { readonly name: string; readonly dtype: DType; readonly shape: Shape }[];
  readonly params?: readonly { readonly name: string; readonly shape: Shape; readonly init?: ParamInit }[];
  readonly nodes: readonly NodeSpec[];
  readonly outputs: readonly string[];
}

/** Finds one cycle among `pending` nodes (each depends on the producers of its inputs), as node indices. */
function findCycle(pending: ReadonlySet<number>, deps: ReadonlyMap<number, number[]>): number[] {
  const state = new Map<number, 'open' | 'done'>();
  const stack: number[] = [];
  const visit = (n: number): number[] | undefined => {
    state.set(n, 'open');
    stack.push(n);
    for (const d of deps.get(n) ?? []) {
      if (!pending.has(d)) continue;
      if (state.get(d) === 'open') return [...stack.slice(stack.indexOf(d)), d];
      if (state.get(d) === undefined) {
        const c = visit(d);
        if (c !== undefined) return c;
      }
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of pending) {
    if (state.get(n) !== undefined) continue;
    const c = visit(n);
    if (c !== undefined) return c.reverse();
  }
  return [...pending];
}

/**
 * Builds a {@link Graph} from plain data: topologically sorts the nodes, rejects cycles (`CYCLE`, naming the nodes on
 * the cycle), undefined values (`UNKNOWN_VALUE`), unknown ops or attributes, and runs shape inference on every node.
 */
export function graphFromSpec(spec: GraphSpec): Graph {
  const b = new GraphBuilder({ name: spec.name ?? 'graph', seed: spec.seed ?? 0 });
  const values = new Map<string, Value>();
  for (const i of spec.inputs) values.set(i.name, b.input(i.name, i.dtype, i.shape));
  for (const p of spec.params ?? []) values.set(p.name, b.param(p.name, p.shape, p.init));
  const nodeName = (n: NodeSpec, k: number): string => n.name ?? `${n.op}_${k}`;
  const producer = new Map<string, number>();
  spec.nodes.forEach((n, k) => {
    for (const o of n.outputs ?? [nodeName(n, k)]) {
      if (producer.has(o) || values.has(o)) throw new GraphError('DUPLICATE_NAME', `node '${nodeName(n, k)}': value '${o}' is defined twice`, { node: nodeName(n, k) });
      producer.set(o, k);
    }
  });
  const deps = new Map<number, number[]>();
  spec.nodes.forEach((n, k) => {
    const ds: number[] = [];
    for (const i of n.inputs) {
      if (i === '' || values.has(i)) continue;
      const p = producer.get(i);
      if (p === undefined) throw new GraphError('UNKNOWN_VALUE', `${n.op} node '${nodeName(n, k)}': input '${i}' is not defined`, { node: nodeName(n, k) });
      ds.push(p);
    }
    deps.set(k, ds);
  });
  const pending = new Set(spec.nodes.map((_, k) => k));
  let progress = true;
  while (pending.size > 0 && progress) {
    progress = false;
    for (const k of pending) {
      const n = spec.nodes[k] as NodeSpec;
      if (!n.inputs.every((i) => i === '' || values.has(i))) continue;
      const outs = b.op(n.op, n.inputs.map((i) => (i === '' ? undefined : values.get(i))), n.attrs ?? {}, {
        node: nodeName(n, k),
        outputs: n.outputs ?? [nodeName(n, k)],
      });
      for (const o of outs) values.set(o.name, o);
      pending.delete(k);
      progress = true;
    }
  }
  if (pending.size > 0) {
    const cycle = findCycle(pending, deps);
    const describe = (k: number): string => {
      const n = spec.nodes[k] as NodeSpec;
      const ins = n.inputs.map((i) => {
        const v = values.get(i);
        return v === undefined ? `${i}: ?` : `${i}: ${v.dtype}${fmtShape(v.shape)}`;
      });
      return `'${nodeName(n, k)}' (${n.op}; inputs ${ins.join(', ')})`;
    };
    const names = cycle.map((k) => nodeName(spec.nodes[k] as NodeSpec, k));
    throw new GraphError('CYCLE', `graph '${spec.name ?? 'graph'}' has a cycle: ${names.join(' -> ')}; nodes ${[...new Set(cycle)].map(describe).join(', ')}`, {
      node: names[0] ?? '',
    });
  }
  for (const o of spec.outputs) {
    const v = values.get(o);
    if (v === undefined) throw new GraphError('UNKNOWN_VALUE', `graph output '${o}' is not defined`);
    b.output(v);
  }
  return b.build();
}

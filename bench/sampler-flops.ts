/**
 * FLOP counter over a graph's nodes (packages/graph has none): 2 FLOPs per multiply-add of Conv,
 * ConvTranspose, MatMul and Gemm; everything else (elementwise ops, norms, softmax, resize) is not counted,
 * so the count is a floor on the arithmetic. It reads the nodes our engine emits, after its build-time
 * rewrites (an upsample + 3x3 conv is one stride-2 ConvTranspose), i.e. the FLOPs actually executed.
 * Nodes that read only parameters and constants (the folded-kernel MatMuls of those rewrites) are skipped:
 * onnxruntime folds them once when it loads a frozen graph.
 */
import { numel } from '@alignda/graph';
import type { Graph } from '@alignda/graph';

/** FLOPs of one graph call, by op type. */
export interface GraphFlops {
  /** Total FLOPs (2 per multiply-add) of Conv + ConvTranspose + MatMul + Gemm. */
  readonly total: number;
  /** FLOPs per op type. */
  readonly byOp: Readonly<Record<string, number>>;
  /** Number of counted nodes per op type. */
  readonly nodes: Readonly<Record<string, number>>;
}

/**
 * Counts the multiply-add FLOPs of one call of `graph` (static shapes, so the count is exact).
 * - Conv: weight `[Cout, Cin/g, kh, kw]`, output y: `2 numel(y) (Cin/g) kh kw`
 * - ConvTranspose: weight `[Cin, Cout/g, kh, kw]`, input x: `2 numel(x) (Cout/g) kh kw` (each input
 *   element scatters into Cout/g kh kw outputs)
 * - MatMul: `2 numel(y) K`, K the last axis of the first operand (batched and broadcast alike)
 * - Gemm: `2 M N K` with K read through `transA`
 */
export function countGraphFlops(graph: Graph): GraphFlops {
  const byOp: Record<string, number> = {};
  const nodes: Record<string, number> = {};
  const shape = (name: string | undefined): readonly number[] => {
    if (name === undefined || name === '') throw new Error('countGraphFlops: a node lacks an input');
    return graph.value(name).shape;
  };
  const fixed = new Set<string>([...graph.params, ...graph.constants].map((v) => v.name));
  for (const node of graph.nodes) {
    if (node.inputs.every((i) => i === '' || fixed.has(i))) {
      for (const o of node.outputs) fixed.add(o); // weight-only: constant-folded at load
      continue;
    }
    let f = 0;
    switch (node.op) {
      case 'Conv': {
        const w = shape(node.inputs[1]); // [Cout, Cin/g, kh, kw]
        f = 2 * numel(shape(node.outputs[0])) * numel(w.slice(1));
        break;
      }
      case 'ConvTranspose': {
        const w = shape(node.inputs[1]); // [Cin, Cout/g, kh, kw]
        f = 2 * numel(shape(node.inputs[0])) * numel(w.slice(1));
        break;
      }
      case 'MatMul': {
        const a = shape(node.inputs[0]);
        f = 2 * numel(shape(node.outputs[0])) * (a[a.length - 1] ?? 1);
        break;
      }
      case 'Gemm': {
        const a = shape(node.inputs[0]); // [M, K] or [K, M] with transA
        const k = node.attrs.transA === 1 ? a[0] : a[1];
        f = 2 * numel(shape(node.outputs[0])) * (k ?? 1);
        break;
      }
      default:
        continue;
    }
    byOp[node.op] = (byOp[node.op] ?? 0) + f;
    nodes[node.op] = (nodes[node.op] ?? 0) + 1;
  }
  return { total: Object.values(byOp).reduce((a, b) => a + b, 0), byOp, nodes };
}

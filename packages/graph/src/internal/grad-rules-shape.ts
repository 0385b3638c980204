import { GraphError } from '../errors.js';
import type { Value } from '../types.js';
import type { GradRule } from './grad-rule.js';
import { g0, inversePerm, sumTo, xi } from './grad-rule.js';
import { sliceLength, sliceStart } from './schemas-shape.js';

const ints = (v: unknown, def: readonly number[]): readonly number[] => (Array.isArray(v) ? (v as readonly number[]) : def);
const reshapeBack: GradRule = (c) => [c.b.reshape(g0(c), xi(c, 0).shape)];

/** Gradient rules of the shape-manipulating and reduction ops. */
export const SHAPE_GRADS: Readonly<Record<string, GradRule>> = {
  Reshape: reshapeBack,
  Unsqueeze: reshapeBack,
  Squeeze: reshapeBack,
  Expand: (c) => [sumTo(c.b, g0(c), xi(c, 0).shape)],
  Transpose: (c) => {
    const x = xi(c, 0);
    const perm = ints(c.attrs['perm'], x.shape.map((_, i) => x.shape.length - 1 - i));
    return [c.b.transpose(g0(c), inversePerm(perm))];
  },
  Concat: (c) => {
    const x0 = xi(c, 0);
    const r = x0.shape.length;
    const axis = ((c.attrs['axis'] as number) + r) % r;
    const sizes = c.x.map((v) => v?.shape[axis] ?? 0);
    return c.b.split(g0(c), sizes, axis);
  },
  Split: (c) => {
    const { b } = c;
    const x = xi(c, 0);
    const r = x.shape.length;
    const axis = ((c.attrs['axis'] as number) + r) % r;
    const parts = c.gy.map((g, i) => g ?? b.expand(b.scalar(0, x.dtype), (c.y[i] as Value).shape));
    return [b.concat(parts, axis)];
  },
  Pad: (c) => [c.b.pad(g0(c), ints(c.attrs['pads'], []).map((p) => -p))],
  Slice: (c) => {
    const { b } = c;
    const x = xi(c, 0);
    const r = x.shape.length;
    const starts = ints(c.attrs['starts'], []);
    const ends = ints(c.attrs['ends'], []);
    const axes = ints(c.attrs['axes'], starts.map((_, i) => i)).map((a) => (a + r) % r);
    const steps = ints(c.attrs['steps'], starts.map(() => 1));
    let g = g0(c);
    const pads = new Array<number>(2 * r).fill(0);
    axes.forEach((a, i) => {
      const dim = x.shape[a] ?? 0;
      const step = steps[i] ?? 1;
      const len = sliceLength(dim, starts[i] ?? 0, ends[i] ?? 0, step);
      let first = sliceStart(dim, starts[i] ?? 0, step);
      const k = Math.abs(step);
      if (len === 0) throw new GraphError('NOT_DIFFERENTIABLE', `Slice node '${c.node.name}' selects nothing on axis ${a}`, { node: c.node.name });
      if (step < 0) {
        // Reading backwards from `first`: the same elements read forwards start at first - (len-1)*k.
        g = b.slice(g, [-1], [-Number.MAX_SAFE_INTEGER], [a], [-1]);
        first -= (len - 1) * k;
      }
      if (k > 1) {
        // Interleave k-1 zeros after each element: [.., len, ..] -> [.., len, k, ..] -> [.., len*k, ..].
        const shape = [...g.shape];
        const u = b.unsqueeze(g, [a + 1]);
        const p = new Array<number>(2 * (r + 1)).fill(0);
        p[a + 1 + r + 1] = k - 1;
        shape[a] = len * k;
        g = b.reshape(b.pad(u, p), shape);
      }
      pads[a] = first;
      pads[a + r] = dim - first - (g.shape[a] ?? 0);
    });
    return [pads.every((p) => p === 0) ? g : b.pad(g, pads)];
  },
  Gather: (c) => {
    const { b } = c;
    const [x, idx, g] = [xi(c, 0), xi(c, 1), g0(c)];
    const r = x.shape.length;
    const axis = (((c.attrs['axis'] as number | undefined) ?? 0) + r) % r;
    const n = idx.shape.reduce((p, d) => p * d, 1);
    const shape = x.shape.map((d, i) => (i === axis ? n : d));
    const g2 = b.reshape(g, shape);
    const bshape = x.shape.map((_, i) => (i === axis ? n : 1));
    const i64 = idx.dtype === 'int64' ? idx : b.cast(idx, 'int64');
    const ie = b.expand(b.reshape(i64, bshape), shape);
    const zeros = b.expand(b.scalar(0, x.dtype), x.shape);
    return [b.op('ScatterElements', [zeros, ie, g2], { axis, reduction: 'add' })[0], undefined];
  },
  ReduceSum: (c) => {
    const x = xi(c, 0);
    const axes = ints(c.attrs['axes'], x.shape.map((_, i) => i)).map((a) => (a + x.shape.length) % x.shape.length);
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return [c.b.expand(c.b.reshape(g0(c), kept), x.shape)];
  },
  ReduceMean: (c) => {
    const x = xi(c, 0);
    const axes = ints(c.attrs['axes'], x.shape.map((_, i) => i)).map((a) => (a + x.shape.length) % x.shape.length);
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const count = axes.reduce((p, a) => p * (x.shape[a] ?? 1), 1);
    return [c.b.expand(c.b.mul(c.b.reshape(g0(c), kept), 1 / count), x.shape)];
  },
  DepthToSpace: (c) => [c.b.spaceToDepth(g0(c), c.attrs['blocksize'] as number)],
  SpaceToDepth: (c) => [c.b.depthToSpace(g0(c), c.attrs['blocksize'] as number)],
};

import type { InferCtx, OpSchema } from './schema.js';
import { broadcastShapes, inp, intAttr, intsAttr, nodeError, normAxis, stringAttr } from './schema.js';
import { fmtShape, numel } from '../types.js';

function axesAttr(c: InferCtx, rank: number, def: readonly number[]): number[] {
  const axes = intsAttr(c, 'axes', def).map((a) => normAxis(c, a, rank));
  if (new Set(axes).size !== axes.length) throw nodeError(c, 'INVALID_ATTRIBUTE', `repeated axes [${axes.join(',')}]`);
  return axes;
}

/** Output length of `Slice` along one axis (ONNX semantics: negative indices count from the end, clamped). */
export function sliceLength(dim: number, start: number, end: number, step: number): number {
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = Math.min(Math.max(s, 0), dim - 1);
  e = Math.min(Math.max(e, -1), dim - 1);
  return Math.max(0, Math.ceil((s - e) / -step));
}

/** The clamped first index `Slice` reads along one axis. */
export function sliceStart(dim: number, start: number, step: number): number {
  const s = start < 0 ? start + dim : start;
  return step > 0 ? Math.min(Math.max(s, 0), dim) : Math.min(Math.max(s, 0), dim - 1);
}

const reduce: OpSchema = {
  attrs: { axes: 'ints', keepdims: 'int' },
  arity: [1, 1],
  infer: (c) => {
    const x = inp(c, 0);
    const axes = axesAttr(c, x.shape.length, x.shape.map((_, i) => i));
    const keep = intAttr(c, 'keepdims', 1) !== 0;
    const shape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    return [{ dtype: x.dtype, shape }];
  },
};

/** Shape-manipulating and reduction ops. Shapes, axes and indices that ONNX takes as tensor inputs are static attributes here. */
export const SHAPE_SCHEMAS: Readonly<Record<string, OpSchema>> = {
  Reshape: {
    attrs: { shape: 'ints' },
    arity: [1, 1],
    infer: (c) => {
      const x = inp(c, 0);
      const shape = intsAttr(c, 'shape', []);
      if (shape.some((d) => !Number.isInteger(d) || d < 0) || numel(shape) !== numel(x.shape)) {
        throw nodeError(c, 'SHAPE_MISMATCH', `cannot reshape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
      }
      return [{ dtype: x.dtype, shape }];
    },
  },
  Transpose: {
    attrs: { perm: 'ints' },
    arity: [1, 1],
    infer: (c) => {
      const x = inp(c, 0);
      const r = x.shape.length;
      const perm = intsAttr(c, 'perm', x.shape.map((_, i) => r - 1 - i));
      if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
        throw nodeError(c, 'INVALID_ATTRIBUTE', `perm [${perm.join(',')}] is not a permutation of rank ${r}`);
      }
      return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p] ?? 0) }];
    },
  },
  Concat: {
    attrs: { axis: 'int' },
    arity: [1, Infinity],
    infer: (c) => {
      const x = inp(c, 0);
      const axis = normAxis(c, intAttr(c, 'axis', 0), x.shape.length);
      let total = 0;
      for (const v of c.inputs) {
        if (v.dtype !== x.dtype) throw nodeError(c, 'DTYPE_MISMATCH', `inputs must share one dtype`);
        if (v.shape.length !== x.shape.length || v.shape.some((d, i) => i !== axis && d !== x.shape[i])) {
          throw nodeError(c, 'SHAPE_MISMATCH', `shapes differ outside axis ${axis}`);
        }
        total += v.shape[axis] ?? 0;
      }
      return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? total : d)) }];
    },
  },
  Slice: {
    attrs: { starts: 'ints', ends: 'ints', axes: 'ints', steps: 'ints' },
    arity: [1, 1],
    infer: (c) => {
      const x = inp(c, 0);
      const starts = intsAttr(c, 'starts', []);
      const ends = intsAttr(c, 'ends', []);
      const axes = axesAttr(c, x.shape.length, starts.map((_, i) => i));
      const steps = intsAttr(c, 'steps', starts.map(() => 1));
      if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length || steps.includes(0)) {
        throw nodeError(c, 'INVALID_ATTRIBUTE', `starts/ends/axes/steps must have one entry per sliced axis and steps != 0`);
      }
      const shape = [...x.shape];
      axes.forEach((a, i) => {
        shape[a] = sliceLength(x.shape[a] ?? 0, starts[i] ?? 0, ends[i] ?? 0, steps[i] ?? 1);
      });
      return [{ dtype: x.dtype, shape }];
    },
  },
  Split: {
    attrs: { axis: 'int', split: 'ints' },
    arity: [1, 1],
    infer: (c) => {
      const x = inp(c, 0);
      const axis = normAxis(c, intAttr(c, 'axis', 0), x.shape.length);
      const split = intsAttr(c, 'split', []);
      if (split.length === 0 || split.some((s) => s < 1) || split.reduce((a, b) => a + b, 0) !== x.shape[axis]) {
        throw nodeError(c, 'INVALID_ATTRIBUTE', `split [${split.join(',')}] must be positive and sum to ${x.shape[axis]}`);
      }
      return split.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? s : d)) }));
    },
  },
  Gather: {
    attrs: { axis: 'int' },
    arity: [2, 2],
    infer: (c) => {
      const x = inp(c, 0);
      const idx = inp(c, 1);
      if (idx.dtype !== 'int64' && idx.dtype !== 'int32') throw nodeError(c, 'DTYPE_MISMATCH', `indices must be int64 or int32, got ${idx.dtype}`);
      const axis = normAxis(c, intAttr(c, 'axis', 0), x.shape.length);
      return [{ dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)] }];
    },
  },
  ScatterElements: {
    attrs: { axis: 'int', reduction: 'string' },
    arity: [3, 3],
    infer: (c) => {
      const x = inp(c, 0);
      const idx = inp(c, 1);
      const upd = inp(c, 2);
      normAxis(c, intAttr(c, 'axis', 0), x.shape.length);
      if (idx.shape.join() !== upd.shape.join()) throw nodeError(c, 'SHAPE_MISMATCH', 'indices and updates must have one shape');
      if (!['none', 'add'].includes(stringAttr(c, 'reduction', 'none'))) throw nodeError(c, 'INVALID_ATTRIBUTE', `reduction must be 'none' or 'add'`);
      return [{ dtype: x.dtype, shape: x.shape }];
    },
  },
  Unsqueeze: {
    attrs: { axes: 'ints' },
    arity: [1, 1],
    infer: (c) => {
      const x = inp(c, 0);
      const r = x.shape.length + intsAttr(c, 'axes', []).length;
      const axes = axesAttr(c, r, []);
      const shape: number[] = [];
      let j = 0;
      for (let i = 0; i < r; i++) shape.push(axes.includes(i) ? 1 : (x.shape[j++] ?? 0));
      return [{ dtype: x.dtype, shape }];
    },
  },
  Squeeze: {
    attrs: { axes: 'ints' },
    arity: [1, 1],
    infer: (c) => {
      const x = inp(c, 0);
      const axes = axesAttr(c, x.shape.length, x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
      const bad = axes.find((a) => x.shape[a] !== 1);
      if (bad !== undefined) throw nodeError(c, 'SHAPE_MISMATCH', `axis ${bad} has size ${x.shape[bad]}, not 1`);
      return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
    },
  },
  Expand: {
    attrs: { shape: 'ints' },
    arity: [1, 1],
    infer: (c) => {
      const x = inp(c, 0);
      const target = intsAttr(c, 'shape', []);
      const shape = broadcastShapes([x.shape, target]);
      if (shape === undefined) throw nodeError(c, 'SHAPE_MISMATCH', `cannot expand ${fmtShape(x.shape)} to ${fmtShape(target)}`);
      return [{ dtype: x.dtype, shape }];
    },
  },
  Pad: {
    attrs: { pads: 'ints', value: 'float' },
    arity: [1, 1],
    infer: (c) => {
      const x = inp(c, 0);
      const r = x.shape.length;
      const pads = intsAttr(c, 'pads', []);
      if (pads.length !== 2 * r) throw nodeError(c, 'INVALID_ATTRIBUTE', `pads must hold ${2 * r} integers, got [${pads.join(',')}]`);
      const shape = x.shape.map((d, i) => d + (pads[i] ?? 0) + (pads[i + r] ?? 0));
      if (shape.some((d) => d < 0)) throw nodeError(c, 'SHAPE_MISMATCH', `pads [${pads.join(',')}] crop ${fmtShape(x.shape)} below zero`);
      return [{ dtype: x.dtype, shape }];
    },
  },
  ReduceSum: reduce,
  ReduceMean: reduce,
};

import { GraphError } from '../errors.js';
import type { GraphErrorCode } from '../errors.js';
import { fmtShape } from '../types.js';
import type { AttrValue, DType, Shape, Value } from '../types.js';

/** How an attribute is typed: ints and floats are both JS numbers, the schema tells them apart. */
export type AttrKind = 'int' | 'ints' | 'float' | 'floats' | 'string';

/** What a shape-inference rule sees. */
export interface InferCtx {
  readonly op: string;
  readonly node: string;
  readonly inputs: readonly Value[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

/** Output type of a node. */
export interface OutSpec {
  readonly dtype: DType;
  readonly shape: Shape;
}

/** Static description of one op: attributes it accepts, input arity, output count and shape inference. */
export interface OpSchema {
  readonly attrs: Readonly<Record<string, AttrKind>>;
  /** Minimum and maximum number of inputs (`Infinity` for variadic). */
  readonly arity: readonly [number, number];
  /** Output dtypes and shapes; throws a {@link GraphError} naming the node and the input shapes. */
  infer(c: InferCtx): OutSpec[];
}

/** `node 'Conv_3' (Conv): msg; inputs x:[1,2] float32, ...` */
export function nodeError(c: InferCtx, reason: GraphErrorCode, msg: string): GraphError {
  const ins = c.inputs.map((v) => `${v.name}: ${v.dtype}${fmtShape(v.shape)}`).join(', ');
  return new GraphError(reason, `${c.op} node '${c.node}': ${msg} (inputs ${ins || 'none'})`, { node: c.node });
}

/** Reads an int attribute with a default. */
export function intAttr(c: InferCtx, name: string, def: number): number {
  const v = c.attrs[name];
  return typeof v === 'number' ? v : def;
}

/** Reads a float attribute with a default. */
export function floatAttr(c: InferCtx, name: string, def: number): number {
  const v = c.attrs[name];
  return typeof v === 'number' ? v : def;
}

/** Reads an ints attribute with a default. */
export function intsAttr(c: InferCtx, name: string, def: readonly number[]): readonly number[] {
  const v = c.attrs[name];
  return Array.isArray(v) ? (v as readonly number[]) : def;
}

/** Reads a string attribute with a default. */
export function stringAttr(c: InferCtx, name: string, def: string): string {
  const v = c.attrs[name];
  return typeof v === 'string' ? v : def;
}

/** Input `i`, which arity checking guarantees exists. */
export function inp(c: InferCtx, i: number): Value {
  const v = c.inputs[i];
  if (v === undefined) throw nodeError(c, 'INVALID_ATTRIBUTE', `missing input ${i}`);
  return v;
}

/** Normalises a possibly negative axis against a rank, naming the node when out of range. */
export function normAxis(c: InferCtx, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw nodeError(c, 'INVALID_ATTRIBUTE', `axis ${axis} out of range for rank ${rank}`);
  }
  return a;
}

/** NumPy broadcasting of several shapes, or `undefined` when they do not broadcast. */
export function broadcastShapes(shapes: readonly Shape[]): number[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i] ?? 1;
      const cur = out[o] ?? 1;
      if (d === cur || d === 1) continue;
      if (cur === 1) out[o] = d;
      else return undefined;
    }
  }
  return out;
}

/** Requires all inputs to share one floating dtype (or one dtype, when `floatOnly` is false). */
export function sameDtype(c: InferCtx, inputs: readonly Value[], floatOnly = true): DType {
  const first = inputs[0];
  if (first === undefined) throw nodeError(c, 'INVALID_ATTRIBUTE', 'no inputs');
  for (const v of inputs) {
    if (v.dtype !== first.dtype) {
      throw nodeError(c, 'DTYPE_MISMATCH', `inputs must share one dtype, got ${first.dtype} and ${v.dtype}`);
    }
  }
  if (floatOnly && first.dtype !== 'float32' && first.dtype !== 'float64') {
    throw nodeError(c, 'DTYPE_MISMATCH', `needs float32 or float64 inputs, got ${first.dtype}`);
  }
  return first.dtype;
}

/** Output length of a strided, padded, dilated window along one axis (ONNX Conv/Pool formula). */
export function windowOut(n: number, k: number, stride: number, padBegin: number, padEnd: number, dilation: number): number {
  return Math.floor((n + padBegin + padEnd - dilation * (k - 1) - 1) / stride) + 1;
}

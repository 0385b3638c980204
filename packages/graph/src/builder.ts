import { createRng } from '@alignda/tensor';
import type { Rng } from '@alignda/tensor';
import { GraphError } from './errors.js';
import { Graph } from './graph.js';
import type { ConstSpec, GraphNode, ParamSpec } from './graph.js';
import { initialise } from './init.js';
import type { ParamInit } from './init.js';
import { checkNode } from './internal/node-check.js';
import { upsample2Conv3x3 } from './internal/upsample-conv.js';
import { ARRAY_OF_DTYPE, dtypeOfArray, fmtShape, numel } from './types.js';
import type { AttrValue, DType, Shape, TypedArray, Value } from './types.js';

/** A value or a plain number (a scalar constant of the other operand's dtype). */
export type Operand = Value | number;

/** Options of 2-D convolutions and pools. Pads are `[top, left, bottom, right]` (ONNX order) or one number for all four. */
export interface Conv2dOptions {
  /** @defaultValue 0 */
  readonly pads?: number | readonly number[];
  /** @defaultValue 1 */
  readonly strides?: number | readonly number[];
  /** @defaultValue 1 */
  readonly dilations?: number | readonly number[];
  /** @defaultValue 1 */
  readonly group?: number;
}

/** Options of {@link GraphBuilder.convTranspose}. */
export interface ConvTranspose2dOptions extends Conv2dOptions {
  /** Extra rows/cols at the bottom/right of the output, `[h, w]`; each below the stride. @defaultValue 0 */
  readonly outputPadding?: number | readonly number[];
}

/** Explicit names for a node and its outputs (generated, stable names otherwise). */
export interface NodeNames {
  readonly node?: string;
  readonly outputs?: readonly string[];
}

/** Options of {@link GraphBuilder}. */
export interface GraphBuilderOptions {
  /** Graph name (ONNX graph name). @defaultValue 'graph' */
  readonly name?: string;
  /** Seed of the parameter initialisers; each parameter draws from its own fork, in declaration order. @defaultValue 0 */
  readonly seed?: number;
}

const pair = (v: number | readonly number[] | undefined, def: number): number[] =>
  v === undefined ? [def, def] : typeof v === 'number' ? [v, v] : [...v];
const quad = (v: number | readonly number[] | undefined): number[] =>
  v === undefined ? [0, 0, 0, 0] : typeof v === 'number' ? [v, v, v, v] : [...v];

/**
 * Builds a {@link Graph}: declare inputs and parameters, apply ops (each checked and shape-inferred on the spot,
 * errors naming the node and shapes), mark outputs, then `build()`.
 */
export class GraphBuilder {
  readonly #name: string;
  readonly #rng: Rng;
  readonly #values = new Map<string, Value>();
  readonly #inputs: Value[] = [];
  readonly #params: ParamSpec[] = [];
  readonly #constants: ConstSpec[] = [];
  readonly #nodes: GraphNode[] = [];
  readonly #outputs: Value[] = [];
  readonly #scalars = new Map<string, Value>();
  /** Resize nodes folded into the conv that consumed them; `build` drops those nothing else reads. */
  readonly #folded = new Set<string>();
  #counter = 0;
  #prefix = '';

  constructor(options: GraphBuilderOptions = {}) {
    this.#name = options.name ?? 'graph';
    this.#rng = createRng(options.seed ?? 0);
  }

  /** A builder holding every part of `graph` (outputs included), to append to it; used by `grad`/`vjp`. */
  static extend(graph: Graph, prefix = ''): GraphBuilder {
    const b = new GraphBuilder({ name: graph.name });
    for (const [k, v] of graph.values()) b.#values.set(k, v);
    b.#inputs.push(...graph.inputs);
    b.#params.push(...graph.params);
    b.#constants.push(...graph.constants);
    b.#nodes.push(...graph.nodes);
    b.#outputs.push(...graph.outputs);
    b.#counter = graph.nodes.length + graph.constants.length;
    b.#prefix = prefix;
    return b;
  }

  #claim(name: string): void {
    if (name === '' || this.#values.has(name)) {
      throw new GraphError('DUPLICATE_NAME', `graph '${this.#name}' already has a value named '${name}'`);
    }
  }

  #fresh(base: string): string {
    let name: string;
    do name = `${this.#prefix}${base}_${this.#counter++}`;
    while (this.#values.has(name));
    return name;
  }

  /** Declares a data input fed at run time. */
  input(name: string, dtype: DType, shape: Shape): Value {
    this.#claim(name);
    if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new GraphError('SHAPE_MISMATCH', `input '${name}': shape ${fmtShape(shape)} must hold non-negative integers`);
    }
    const v: Value = { name, dtype, shape: [...shape] };
    this.#values.set(name, v);
    this.#inputs.push(v);
    return v;
  }

  /** Declares a trainable parameter and draws its initial value (seeded). @defaultValue init kaiming, dtype float32 */
  param(name: string, shape: Shape, init: ParamInit = { kind: 'kaiming' }, options: { dtype?: 'float32' | 'float64'; seed?: number } = {}): Value {
    this.#claim(name);
    const dtype = options.dtype ?? 'float32';
    const data = new ARRAY_OF_DTYPE[dtype](numel(shape));
    const rng = options.seed === undefined ? this.#rng.fork() : createRng(options.seed);
    initialise(name, shape, init, rng, data);
    const p: ParamSpec = { name, dtype, shape: [...shape], init: data };
    this.#values.set(name, p);
    this.#params.push(p);
    return p;
  }

  /** A constant tensor; `data` as a typed array fixes the dtype, a number array is float32 unless `dtype` says otherwise. */
  constant(data: TypedArray | readonly number[], shape: Shape, dtype?: DType): Value {
    const dt = dtype ?? dtypeOfArray(data) ?? 'float32';
    let arr: TypedArray;
    if (Array.isArray(data)) {
      arr = dt === 'int64' ? BigInt64Array.from(data as readonly number[], (x) => BigInt(x)) : new ARRAY_OF_DTYPE[dt](data as readonly number[]);
    } else {
      arr = data as TypedArray;
    }
    if (dtypeOfArray(arr) !== dt || arr.length !== numel(shape)) {
      throw new GraphError('SHAPE_MISMATCH', `constant: ${arr.length} ${dtypeOfArray(arr) ?? '?'} elements do not make a ${dt} tensor of shape ${fmtShape(shape)}`);
    }
    const name = this.#fresh('const');
    const c: ConstSpec = { name, dtype: dt, shape: [...shape], data: arr };
    this.#values.set(name, c);
    this.#constants.push(c);
    return c;
  }

  /** A scalar constant (shape `[]`), shared between uses. @defaultValue dtype float32 */
  scalar(value: number, dtype: DType = 'float32'): Value {
    const key = `${dtype}:${value}`;
    const hit = this.#scalars.get(key);
    if (hit !== undefined) return hit;
    const v = this.constant(dtype === 'int64' ? BigInt64Array.of(BigInt(value)) : new ARRAY_OF_DTYPE[dtype]([value]), [], dtype);
    this.#scalars.set(key, v);
    return v;
  }

  /** Marks `v` as a graph output, renaming it through an Identity node when `name` is given. */
  output(v: Value, name?: string): Value {
    this.#own(v);
    let out = v;
    if (name !== undefined && name !== v.name) {
      [out] = this.#emit('Identity', [v], {}, { node: name, outputs: [name] }) as [Value];
    }
    this.#outputs.push(out);
    return out;
  }

  #own(v: Value): void {
    const known = this.#values.get(v.name);
    if (known === undefined || known.dtype !== v.dtype || known.shape.join() !== v.shape.join()) {
      throw new GraphError('UNKNOWN_VALUE', `value '${v.name}' does not belong to graph '${this.#name}'`);
    }
  }

  #emit(op: string, inputs: readonly (Value | undefined)[], attrs: Record<string, AttrValue>, names: NodeNames = {}): Value[] {
    const name = names.node ?? this.#fresh(op);
    for (const v of inputs) if (v !== undefined) this.#own(v);
    const specs = checkNode(op, name, inputs, attrs);
    if (names.outputs !== undefined && names.outputs.length !== specs.length) {
      throw new GraphError('INVALID_ATTRIBUTE', `${op} node '${name}': has ${specs.length} outputs, ${names.outputs.length} names given`, { node: name });
    }
    for (const o of names.outputs ?? []) this.#claim(o);
    const outs = specs.map((s, i) => {
      const vname = names.outputs?.[i] ?? (specs.length === 1 ? name : `${name}:${i}`);
      const v: Value = { name: vname, dtype: s.dtype, shape: s.shape };
      this.#values.set(vname, v);
      return v;
    });
    this.#nodes.push({ name, op, inputs: inputs.map((v) => v?.name ?? ''), outputs: outs.map((v) => v.name), attrs: { ...attrs } });
    return outs;
  }

  /**
   * Applies any supported op by ONNX op_type (see `OP_TYPES`), with static attributes; returns its outputs.
   * Unknown ops or attributes, wrong arity and shape mismatches throw a `GraphError` naming the node.
   */
  op(type: string, inputs: readonly (Value | undefined)[], attrs: Readonly<Record<string, AttrValue>> = {}, names: NodeNames = {}): Value[] {
    return this.#emit(type, inputs, { ...attrs }, names);
  }

  #one(type: string, inputs: readonly (Value | undefined)[], attrs: Record<string, AttrValue> = {}): Value {
    return this.#emit(type, inputs, attrs)[0] as Value;
  }

  #operands(a: Operand, b: Operand): [Value, Value] {
    const dt = typeof a === 'number' ? (typeof b === 'number' ? 'float32' : b.dtype) : a.dtype;
    return [typeof a === 'number' ? this.scalar(a, dt) : a, typeof b === 'number' ? this.scalar(b, dt) : b];
  }

  /** a + b, broadcasting. */
  add(a: Operand, b: Operand): Value {
    return this.#one('Add', this.#operands(a, b));
  }
  /** a - b, broadcasting. */
  sub(a: Operand, b: Operand): Value {
    return this.#one('Sub', this.#operands(a, b));
  }
  /** a * b, broadcasting. */
  mul(a: Operand, b: Operand): Value {
    return this.#one('Mul', this.#operands(a, b));
  }
  /** a / b, broadcasting. */
  div(a: Operand, b: Operand): Value {
    return this.#one('Div', this.#operands(a, b));
  }
  /** a ** b, broadcasting. */
  pow(a: Operand, b: Operand): Value {
    return this.#one('Pow', this.#operands(a, b));
  }
  /** Sum of several same-dtype values, broadcasting (one ONNX Sum node). */
  sum(values: readonly Value[]): Value {
    return values.length === 1 ? (values[0] as Value) : this.#one('Sum', values);
  }
  /** a > b (bool). */
  greater(a: Operand, b: Operand): Value {
    return this.#one('Greater', this.#operands(a, b));
  }
  /** a < b (bool). */
  less(a: Operand, b: Operand): Value {
    return this.#one('Less', this.#operands(a, b));
  }
  /** a == b (bool). */
  equal(a: Operand, b: Operand): Value {
    return this.#one('Equal', this.#operands(a, b));
  }
  /** cond ? a : b, broadcasting. */
  where(cond: Value, a: Operand, b: Operand): Value {
    return this.#one('Where', [cond, ...this.#operands(a, b)]);
  }
  /** -x */
  neg(x: Value): Value {
    return this.#one('Neg', [x]);
  }
  /** sqrt(x) */
  sqrt(x: Value): Value {
    return this.#one('Sqrt', [x]);
  }
  /** exp(x) */
  exp(x: Value): Value {
    return this.#one('Exp', [x]);
  }
  /** log(x) */
  log(x: Value): Value {
    return this.#one('Log', [x]);
  }
  /** |x| */
  abs(x: Value): Value {
    return this.#one('Abs', [x]);
  }
  /** sign(x) (zero gradient). */
  sign(x: Value): Value {
    return this.#one('Sign', [x]);
  }
  /** 1 / (1 + exp(-x)) */
  sigmoid(x: Value): Value {
    return this.#one('Sigmoid', [x]);
  }
  /** tanh(x) */
  tanh(x: Value): Value {
    return this.#one('Tanh', [x]);
  }
  /** max(x, 0) */
  relu(x: Value): Value {
    return this.#one('Relu', [x]);
  }
  /** log(1 + exp(x)) */
  softplus(x: Value): Value {
    return this.#one('Softplus', [x]);
  }
  /** sin(x) */
  sin(x: Value): Value {
    return this.#one('Sin', [x]);
  }
  /** cos(x) */
  cos(x: Value): Value {
    return this.#one('Cos', [x]);
  }
  /** x * sigmoid(x); differentiated with the fused rule `dy * (s + y * (1 - s))`. */
  silu(x: Value): Value {
    return this.mul(x, this.sigmoid(x));
  }
  /** Identity (a named copy; free in onnxruntime). */
  identity(x: Value): Value {
    return this.#one('Identity', [x]);
  }
  /** Element type conversion. */
  cast(x: Value, to: DType): Value {
    return this.#one('Cast', [x], { to });
  }

  /** Batched matrix product with NumPy broadcasting of the leading dims: `[..., m, k] x [..., k, n]`. */
  matmul(a: Value, b: Value): Value {
    return this.#one('MatMul', [a, b]);
  }
  /** `alpha * op(A) op(B) + beta * C`, A and B rank 2, C broadcast to `[m, n]`. */
  gemm(a: Value, b: Value, c?: Value, o: { alpha?: number; beta?: number; transA?: boolean; transB?: boolean } = {}): Value {
    const attrs: Record<string, AttrValue> = {};
    if (o.alpha !== undefined) attrs['alpha'] = o.alpha;
    if (o.beta !== undefined) attrs['beta'] = o.beta;
    if (o.transA) attrs['transA'] = 1;
    if (o.transB) attrs['transB'] = 1;
    return this.#one('Gemm', c === undefined ? [a, b] : [a, b, c], attrs);
  }
  /** 2-D convolution: x `[N,C,H,W]`, w `[M,C/group,kh,kw]`, optional bias `[M]`. */
  conv(x: Value, w: Value, bias?: Value, o: Conv2dOptions = {}): Value {
    const attrs = { pads: quad(o.pads), strides: pair(o.strides, 1), dilations: pair(o.dilations, 1), group: o.group ?? 1 };
    const up = this.#upsample2Input(x, w, bias, attrs);
    if (up !== undefined) {
      // 3x3 conv of a nearest x2 upsample: one stride-2 ConvTranspose of the low-resolution input (4/9 of the FLOPs).
      this.#folded.add(up.node);
      return upsample2Conv3x3(this, up.x, w, bias);
    }
    const fp = this.#transposedPads(x, w, bias, attrs);
    if (fp !== undefined) {
      // At most a quarter as many output as input channels: ConvTranspose with the flipped, transposed kernel scatters
      // through a Cout*k*k column buffer instead of gathering a Cin*k*k im2col buffer (measured, batch 16, 3x3:
      // 32->7 at 32x64 2.0 vs 3.2 ms, 64->16 at 16x32 1.5 vs 2.1 ms; at half as many, 64->32 and 128->64, Conv wins).
      const wt = this.slice(this.transpose(w, [1, 0, 2, 3]), [-1, -1], [-Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER], [2, 3], [-1, -1]);
      return this.convTranspose(x, wt, bias, { pads: fp, dilations: attrs.dilations });
    }
    return this.#one('Conv', bias === undefined ? [x, w] : [x, w, bias], attrs);
  }

  /**
   * Pads `d(k-1) - p` of the equivalent stride-1 ConvTranspose when the conv has at most a quarter as many output as
   * input channels
   * (stride 1, group 1, a kernel larger than 1x1, pads at most `d(k-1)`, consistent shapes); otherwise undefined.
   */
  #transposedPads(x: Value, w: Value, bias: Value | undefined, a: { pads: number[]; strides: number[]; dilations: number[]; group: number }): number[] | undefined {
    const [m = 0, c = 0, kh = 0, kw = 0] = w.shape;
    if (w.shape.length !== 4 || x.shape.length !== 4 || x.shape[1] !== c || 4 * m > c || kh * kw <= 1) return undefined;
    if (a.group !== 1 || a.strides.some((s) => s !== 1) || (x.dtype !== 'float32' && x.dtype !== 'float64') || w.dtype !== x.dtype) return undefined;
    if (bias !== undefined && (bias.dtype !== x.dtype || bias.shape.join() !== `${m}`)) return undefined;
    const [dh = 1, dw = 1] = a.dilations;
    const [pt = 0, pl = 0, pb = 0, pr = 0] = a.pads;
    const fp = [dh * (kh - 1) - pt, dw * (kw - 1) - pl, dh * (kh - 1) - pb, dw * (kw - 1) - pr];
    const own = this.#values.get(x.name);
    if (own === undefined || own.shape.join() !== x.shape.join() || fp.some((p) => p < 0)) return undefined;
    return fp;
  }

  /**
   * The Resize node and its low-resolution input when `x` is a nearest x2 upsample made by this builder and the conv is
   * 3x3, pads 1, stride 1, dilation 1, group 1 with consistent shapes and dtypes; otherwise undefined.
   */
  #upsample2Input(x: Value, w: Value, bias: Value | undefined, a: { pads: number[]; strides: number[]; dilations: number[]; group: number }): { node: string; x: Value } | undefined {
    const all = (xs: readonly number[], v: number): boolean => xs.every((e) => e === v);
    if (!all(a.pads, 1) || !all(a.strides, 1) || !all(a.dilations, 1) || a.group !== 1) return undefined;
    if (w.shape.length !== 4 || w.shape[2] !== 3 || w.shape[3] !== 3 || x.shape.length !== 4 || w.shape[1] !== x.shape[1]) return undefined;
    if ((x.dtype !== 'float32' && x.dtype !== 'float64') || w.dtype !== x.dtype) return undefined;
    if (bias !== undefined && (bias.dtype !== x.dtype || bias.shape.join() !== `${w.shape[0] ?? 0}`)) return undefined;
    const own = this.#values.get(x.name);
    if (own === undefined || own.dtype !== x.dtype || own.shape.join() !== x.shape.join()) return undefined;
    let node: GraphNode | undefined;
    for (let i = this.#nodes.length - 1; i >= 0 && node === undefined; i--) if (this.#nodes[i]?.outputs.includes(x.name)) node = this.#nodes[i];
    const scales = node?.attrs['scales'];
    if (node?.op !== 'Resize' || !Array.isArray(scales) || scales.join() !== '1,1,2,2' || (node.attrs['mode'] ?? 'nearest') !== 'nearest') return undefined;
    const low = this.#values.get(node.inputs[0] ?? '');
    return low === undefined ? undefined : { node: node.name, x: low };
  }
  /** 2-D transposed convolution: x `[N,C,H,W]`, w `[C,M/group,kh,kw]`, optional bias `[M]`. */
  convTranspose(x: Value, w: Value, bias?: Value, o: ConvTranspose2dOptions = {}): Value {
    return this.#one('ConvTranspose', bias === undefined ? [x, w] : [x, w, bias], {
      pads: quad(o.pads),
      strides: pair(o.strides, 1),
      dilations: pair(o.dilations, 1),
      group: o.group ?? 1,
      output_padding: pair(o.outputPadding, 0),
    });
  }
  /** Average pool over `kernel` windows, pads counted as zeros. */
  averagePool(x: Value, kernel: number | readonly number[], o: { strides?: number | readonly number[]; pads?: number | readonly number[] } = {}): Value {
    const k = pair(kernel, 1);
    return this.#one('AveragePool', [x], { kernel_shape: k, strides: pair(o.strides, 1), pads: quad(o.pads), count_include_pad: 1 });
  }
  /** Nearest-neighbour upsampling of `[N,C,H,W]` by integer factors (Resize nearest, asymmetric, floor). @defaultValue factor 2 */
  upsampleNearest(x: Value, factor: number | readonly number[] = 2): Value {
    const [fh, fw] = pair(factor, 2);
    return this.#one('Resize', [x], { scales: [1, 1, fh ?? 2, fw ?? 2], mode: 'nearest' });
  }
  /** DepthToSpace (DCR): `[N, C*b*b, H, W] -> [N, C, H*b, W*b]`. */
  depthToSpace(x: Value, blocksize: number): Value {
    return this.#one('DepthToSpace', [x], { blocksize });
  }
  /** SpaceToDepth: inverse of {@link GraphBuilder.depthToSpace}. */
  spaceToDepth(x: Value, blocksize: number): Value {
    return this.#one('SpaceToDepth', [x], { blocksize });
  }
  /** Softmax along `axis`. @defaultValue axis -1 */
  softmax(x: Value, axis = -1): Value {
    return this.#one('Softmax', [x], { axis });
  }

  /** Reshape to a static shape; one `-1` entry is inferred. */
  reshape(x: Value, shape: readonly number[]): Value {
    const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
    const resolved = shape.map((d) => (d === -1 ? (known === 0 ? 0 : numel(x.shape) / known) : d));
    if (resolved.join() === x.shape.join()) return x;
    return this.#one('Reshape', [x], { shape: resolved });
  }
  /** Transpose by `perm`. */
  transpose(x: Value, perm: readonly number[]): Value {
    return this.#one('Transpose', [x], { perm: [...perm] });
  }
  /** Concatenation along `axis`. */
  concat(values: readonly Value[], axis: number): Value {
    return this.#one('Concat', values, { axis });
  }
  /** ONNX Slice: `starts`/`ends`/`steps` per entry of `axes` (negative counts from the end; clamped). */
  slice(x: Value, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): Value {
    const attrs: Record<string, AttrValue> = { starts: [...starts], ends: [...ends], axes: [...(axes ?? starts.map((_, i) => i))] };
    if (steps !== undefined) attrs['steps'] = [...steps];
    return this.#one('Slice', [x], attrs);
  }
  /** Splits along `axis` into pieces of the given sizes. */
  split(x: Value, sizes: readonly number[], axis: number): Value[] {
    return this.#emit('Split', [x], { axis, split: [...sizes] });
  }
  /** Gathers entries of `x` along `axis` at `indices` (int64/int32 value). */
  gather(x: Value, indices: Value, axis = 0): Value {
    return this.#one('Gather', [x, indices], { axis });
  }
  /** Inserts size-1 axes (positions in the output). */
  unsqueeze(x: Value, axes: readonly number[]): Value {
    return this.#one('Unsqueeze', [x], { axes: [...axes] });
  }
  /** Removes size-1 axes (all of them when `axes` is omitted). */
  squeeze(x: Value, axes?: readonly number[]): Value {
    return this.#one('Squeeze', [x], axes === undefined ? {} : { axes: [...axes] });
  }
  /** Broadcasts `x` to `shape`. */
  expand(x: Value, shape: readonly number[]): Value {
    return this.#one('Expand', [x], { shape: [...shape] });
  }
  /** Constant padding, `pads` = `[begin_0, ..., begin_r, end_0, ..., end_r]` (ONNX order). @defaultValue value 0 */
  pad(x: Value, pads: readonly number[], value = 0): Value {
    return this.#one('Pad', [x], { pads: [...pads], value });
  }
  /** Periodic padding along one axis (e.g. longitude): a Concat of the edge Slices around `x`. */
  padPeriodic(x: Value, axis: number, before: number, after: number): Value {
    const parts: Value[] = [];
    if (before > 0) parts.push(this.slice(x, [-before], [Number.MAX_SAFE_INTEGER], [axis]));
    parts.push(x);
    if (after > 0) parts.push(this.slice(x, [0], [after], [axis]));
    return parts.length === 1 ? x : this.concat(parts, axis);
  }
  /** Sum over `axes` (all when omitted). @defaultValue keepdims false */
  reduceSum(x: Value, axes?: readonly number[], keepdims = false): Value {
    return this.#one('ReduceSum', [x], { ...(axes === undefined ? {} : { axes: [...axes] }), keepdims: keepdims ? 1 : 0 });
  }
  /** Mean over `axes` (all when omitted). @defaultValue keepdims false */
  reduceMean(x: Value, axes?: readonly number[], keepdims = false): Value {
    return this.#one('ReduceMean', [x], { ...(axes === undefined ? {} : { axes: [...axes] }), keepdims: keepdims ? 1 : 0 });
  }

  /** The nodes, less folded Resize nodes whose outputs nothing reads. */
  #live(): GraphNode[] {
    if (this.#folded.size === 0) return this.#nodes;
    const read = new Set(this.#outputs.map((v) => v.name));
    for (const n of this.#nodes) for (const i of n.inputs) read.add(i);
    return this.#nodes.filter((n) => !this.#folded.has(n.name) || n.outputs.some((o) => read.has(o)));
  }

  /** Freezes the graph; outputs are the values passed to {@link GraphBuilder.output}. */
  build(gradients?: Readonly<Record<string, string>>): Graph {
    if (this.#outputs.length === 0) throw new GraphError('UNKNOWN_VALUE', `graph '${this.#name}' has no outputs`);
    return new Graph(
      {
        name: this.#name,
        inputs: this.#inputs,
        params: this.#params,
        constants: this.#constants,
        nodes: this.#live(),
        outputs: this.#outputs,
        ...(gradients === undefined ? {} : { gradients }),
      },
      this.#values,
    );
  }
}

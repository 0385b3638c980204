import { GraphError } from './errors.js';
import type { Graph, GraphNode } from './graph.js';
import { ATTR_TYPE, ModelProto, ONNX_DTYPE } from './internal/onnx-proto.js';
import { SCHEMAS } from './internal/registry.js';
import { numel } from './types.js';
import type { AttrValue, DType, Shape, TypedArray, Value } from './types.js';

/** ONNX opset the engine writes (axes-as-input ReduceSum, attribute-axes ReduceMean, Split sizes as input). */
export const OPSET = 17;

/** A serialised ONNX model with the signature the runtime checks feeds against. */
export interface OnnxModel {
  /** onnx.ModelProto bytes (write them to a `.onnx` file as they are). */
  readonly bytes: Uint8Array;
  /** Graph inputs in order: data inputs, then (training graphs) parameters. */
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  /**
   * True when parameters are baked in as initialisers (inference export): the runtime then defaults to
   * graphOptimizationLevel 'all'; training graphs (parameters as inputs) default to 'extended'.
   */
  readonly frozen: boolean;
}

interface Initializer {
  name: string;
  dtype: DType;
  shape: Shape;
  data: TypedArray;
}

function tensorProto(t: Initializer): Record<string, unknown> {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name: t.name, dims: [...t.shape], dataType: ONNX_DTYPE[t.dtype], rawData: bytes };
}

function valueInfo(v: Value): Record<string, unknown> {
  return {
    name: v.name,
    type: { tensorType: { elemType: ONNX_DTYPE[v.dtype], shape: { dim: v.shape.map((d) => ({ dimValue: d })) } } },
  };
}

const i64 = (xs: readonly number[]): BigInt64Array =>
  BigInt64Array.from(xs, (x) => BigInt(Math.max(Math.min(Math.trunc(x), Number.MAX_SAFE_INTEGER), -Number.MAX_SAFE_INTEGER)));

/** Attributes that ONNX (opset 17) takes as int64 tensor inputs, in input order after the data input. */
const AS_INPUTS: Readonly<Record<string, readonly string[]>> = {
  ReduceSum: ['axes'],
  Reshape: ['shape'],
  Expand: ['shape'],
  Squeeze: ['axes'],
  Unsqueeze: ['axes'],
  Slice: ['starts', 'ends', 'axes', 'steps'],
  Split: ['split'],
  Pad: ['pads'],
};

function nodeProto(node: GraphNode, graph: Graph, inits: Initializer[]): Record<string, unknown> {
  const schema = SCHEMAS[node.op];
  if (schema === undefined) throw new GraphError('UNKNOWN_OP', `node '${node.name}': unknown op '${node.op}'`, { node: node.name });
  const x = node.inputs[0] === undefined || node.inputs[0] === '' ? undefined : graph.value(node.inputs[0]);
  const attrs: Record<string, AttrValue> = { ...node.attrs };
  const inputs = [...node.inputs];
  const rank = x?.shape.length ?? 0;
  const allAxes = Array.from({ length: rank }, (_, i) => i);
  if ((node.op === 'ReduceSum' || node.op === 'ReduceMean') && attrs['axes'] === undefined) attrs['axes'] = allAxes;
  if (node.op === 'Squeeze' && attrs['axes'] === undefined) attrs['axes'] = allAxes.filter((i) => x?.shape[i] === 1);
  const addConst = (suffix: string, dtype: DType, shape: Shape, data: TypedArray): void => {
    const name = `${node.name}/${suffix}`;
    inits.push({ name, dtype, shape, data });
    inputs.push(name);
  };
  for (const key of AS_INPUTS[node.op] ?? []) {
    const v = attrs[key];
    delete attrs[key];
    if (v === undefined) continue;
    const xs = v as readonly number[];
    addConst(key, 'int64', [xs.length], i64(xs));
  }
  const extra: Record<string, unknown>[] = [];
  if (node.op === 'Pad') {
    const value = typeof attrs['value'] === 'number' ? attrs['value'] : 0;
    delete attrs['value'];
    const dt = x?.dtype ?? 'float32';
    addConst('value', dt, [], dt === 'float64' ? Float64Array.of(value) : Float32Array.of(value));
  } else if (node.op === 'Resize') {
    const scales = attrs['scales'] as readonly number[];
    delete attrs['scales'];
    delete attrs['mode'];
    inputs.push('');
    addConst('scales', 'float32', [scales.length], Float32Array.from(scales));
    extra.push(
      { name: 'mode', type: ATTR_TYPE.STRING, s: new TextEncoder().encode('nearest') },
      { name: 'coordinate_transformation_mode', type: ATTR_TYPE.STRING, s: new TextEncoder().encode('asymmetric') },
      { name: 'nearest_mode', type: ATTR_TYPE.STRING, s: new TextEncoder().encode('floor') },
    );
  } else if (node.op === 'Cast') {
    extra.push({ name: 'to', type: ATTR_TYPE.INT, i: ONNX_DTYPE[attrs['to'] as DType] });
    delete attrs['to'];
  }
  const attribute = [
    ...Object.entries(attrs).map(([name, v]) => {
      const kind = schema.attrs[name];
      if (kind === undefined) {
        throw new GraphError('UNKNOWN_ATTRIBUTE', `node '${node.name}' (${node.op}): unknown attribute '${name}'`, { node: node.name });
      }
      switch (kind) {
        case 'int':
          return { name, type: ATTR_TYPE.INT, i: v as number };
        case 'float':
          return { name, type: ATTR_TYPE.FLOAT, f: v as number };
        case 'ints':
          return { name, type: ATTR_TYPE.INTS, ints: [...(v as readonly number[])] };
        case 'floats':
          return { name, type: ATTR_TYPE.FLOATS, floats: [...(v as readonly number[])] };
        case 'string':
          return { name, type: ATTR_TYPE.STRING, s: new TextEncoder().encode(v as string) };
      }
    }),
    ...extra,
  ];
  while (inputs.length > 0 && inputs[inputs.length - 1] === '') inputs.pop();
  return { name: node.name, opType: node.op, input: inputs, output: [...node.outputs], attribute };
}

function encode(graph: Graph, params: Readonly<Record<string, Float32Array | Float64Array>> | undefined): OnnxModel {
  const inits: Initializer[] = graph.constants.map((c) => ({ name: c.name, dtype: c.dtype, shape: c.shape, data: c.data }));
  const inputs: Value[] = [...graph.inputs];
  for (const p of graph.params) {
    if (params === undefined) {
      inputs.push(p);
      continue;
    }
    const data = params[p.name] ?? p.init;
    if (data.length !== numel(p.shape) || (p.dtype === 'float32') !== data instanceof Float32Array) {
      throw new GraphError('SHAPE_MISMATCH', `param '${p.name}': expected ${p.dtype} with ${numel(p.shape)} elements, got ${data.constructor.name} of ${data.length}`);
    }
    inits.push({ name: p.name, dtype: p.dtype, shape: p.shape, data });
  }
  const nodes = graph.nodes.map((n) => nodeProto(n, graph, inits));
  const model = {
    irVersion: 8,
    producerName: 'alignda',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: graph.name,
      node: nodes,
      initializer: inits.map(tensorProto),
      input: inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  };
  const bytes = ModelProto.encode(ModelProto.fromObject(model)).finish();
  return { bytes, inputs, outputs: graph.outputs, frozen: params !== undefined };
}

/** Serialises a training graph: parameters are graph inputs (fed every step without copies), constants are initialisers. */
export function toOnnx(graph: Graph): OnnxModel {
  return encode(graph, undefined);
}

/**
 * Freezes parameters as initialisers (values from `params`, falling back to each parameter's initial value):
 * a self-contained inference model loadable by any ONNX runtime.
 */
export function exportInference(graph: Graph, params: Readonly<Record<string, Float32Array | Float64Array>> = {}): OnnxModel {
  return encode(graph, params);
}

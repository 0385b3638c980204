import { GraphError } from './errors.js';
import type { AttrValue, TypedArray, Value } from './types.js';

/** One op application. Inputs and outputs are value names; an absent optional input is `''`. */
export interface GraphNode {
  /** Stable generated name, e.g. `Conv_3` or `grad/Mul_12`. */
  readonly name: string;
  /** ONNX op_type. */
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Static attributes; shapes/axes that ONNX takes as tensor inputs are kept here and written as constants on export. */
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

/** A trainable parameter: a graph input in training graphs, an initialiser in exported inference graphs. */
export interface ParamSpec extends Value {
  /** Initial value drawn at build time from the builder's seed. */
  readonly init: Float32Array | Float64Array;
}

/** A constant tensor (an ONNX initialiser in every export). */
export interface ConstSpec extends Value {
  readonly data: TypedArray;
}

/** The parts of a {@link Graph}. */
export interface GraphParts {
  readonly name: string;
  readonly inputs: readonly Value[];
  readonly params: readonly ParamSpec[];
  readonly constants: readonly ConstSpec[];
  readonly nodes: readonly GraphNode[];
  readonly outputs: readonly Value[];
  readonly gradients?: Readonly<Record<string, string>>;
}

/**
 * An immutable, shape-checked computation graph in topological order. Built by `GraphBuilder`,
 * differentiated by `grad`/`vjp` (which return new graphs), serialised by `toOnnx`/`exportInference`.
 */
export class Graph {
  readonly name: string;
  /** Data inputs (fed at run time), in order. */
  readonly inputs: readonly Value[];
  /** Parameters; training graphs take them as inputs after the data inputs. */
  readonly params: readonly ParamSpec[];
  readonly constants: readonly ConstSpec[];
  readonly nodes: readonly GraphNode[];
  readonly outputs: readonly Value[];
  /** For graphs made by `grad`/`vjp`: differentiated value name -> name of the output holding its gradient. */
  readonly gradients: Readonly<Record<string, string>>;
  readonly #values = new Map<string, Value>();

  constructor(parts: GraphParts, values: ReadonlyMap<string, Value>) {
    this.name = parts.name;
    this.inputs = Object.freeze([...parts.inputs]);
    this.params = Object.freeze([...parts.params]);
    this.constants = Object.freeze([...parts.constants]);
    this.nodes = Object.freeze([...parts.nodes]);
    this.outputs = Object.freeze([...parts.outputs]);
    this.gradients = Object.freeze({ ...(parts.gradients ?? {}) });
    for (const [k, v] of values) this.#values.set(k, v);
  }

  /** The value called `name`; throws `UNKNOWN_VALUE` when there is none. */
  value(name: string): Value {
    const v = this.#values.get(name);
    if (v === undefined) throw new GraphError('UNKNOWN_VALUE', `graph '${this.name}' has no value '${name}'`);
    return v;
  }

  /** Whether the graph has a value called `name`. */
  has(name: string): boolean {
    return this.#values.has(name);
  }

  /** Every value (inputs, params, constants, node outputs) by name. */
  values(): ReadonlyMap<string, Value> {
    return this.#values;
  }

  /** Fresh copies of the parameters' initial values, keyed by parameter name (ready to feed). */
  initialParams(): Record<string, Float32Array | Float64Array> {
    const out: Record<string, Float32Array | Float64Array> = {};
    for (const p of this.params) out[p.name] = p.init.slice();
    return out;
  }
}

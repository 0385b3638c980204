import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { GraphError } from './errors.js';
import { Graph } from './graph.js';
import { toOnnx } from './onnx.js';
import type { OnnxModel } from './onnx.js';
import { dtypeOfArray, fmtShape, numel } from './types.js';
import type { Shape, TensorData, TypedArray, Value } from './types.js';

/** Which execution provider to ask for: `auto` tries CUDA and falls back to CPU. */
export type ExecutionProviderChoice = 'cpu' | 'cuda' | 'auto';

/** The execution provider a session actually runs on. */
export type ExecutionProvider = 'cpu' | 'cuda';

/** onnxruntime graph optimisation level. */
export type OptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/** Session options. */
export interface RuntimeOptions {
  /** `cuda` fails when CUDA cannot be used; `auto` falls back to CPU. @defaultValue 'auto' */
  readonly executionProvider?: ExecutionProviderChoice;
  /** Intra-op threads; 1 is fastest on the project's 2-core machines (scale with processes). @defaultValue 1 */
  readonly intraOpNumThreads?: number;
  /** Inter-op threads (sequential execution). @defaultValue 1 */
  readonly interOpNumThreads?: number;
  /**
   * 'extended' for training graphs (ENGINE-NOTES: 'all' re-lays-out the constant unfold convs, ~19 ms a step slower);
   * 'all' for frozen inference graphs (blocked conv kernels and weight prepacking).
   * @defaultValue 'all' when the model is frozen, else 'extended'
   */
  readonly graphOptimizationLevel?: OptimizationLevel;
}

/** A feed: a typed array of the declared shape, or data with an explicit shape (checked against the declared one). */
export type Feed = TypedArray | { readonly data: TypedArray; readonly shape: Shape };

/** A loaded model ready to run. Sessions are cached by model bytes and options; creating one twice is cheap. */
export interface Session {
  /** The execution provider in use (the caller logs it; this package does not log). */
  readonly executionProvider: ExecutionProvider;
  readonly graphOptimizationLevel: OptimizationLevel;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  /**
   * Runs the model. Feeds are checked before onnxruntime sees them: missing feeds are listed, and a wrong
   * dtype or shape names the input with expected and actual types. Fetches default to every output.
   */
  run(feeds: Readonly<Record<string, Feed>>, fetches?: readonly string[]): Promise<Record<string, TensorData>>;
}

interface Loaded {
  session: ort.InferenceSession;
  ep: ExecutionProvider;
}

const cache = new Map<string, Promise<Loaded>>();
let cudaUsable: boolean | undefined;

/**
 * Whether onnxruntime-node's CUDA provider library is installed (its install script downloads it on GPU hosts).
 * Checked before trying CUDA under 'auto' so CPU-only hosts skip a failing, noisy session creation.
 */
function cudaInstalled(): boolean {
  if (process.platform !== 'linux' && process.platform !== 'win32') return false;
  try {
    const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-node'));
    const dir = join(dist, '..', 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(join(dir, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

function sessionOptions(ep: ExecutionProvider, level: OptimizationLevel, o: RuntimeOptions): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [ep],
    intraOpNumThreads: o.intraOpNumThreads ?? 1,
    interOpNumThreads: o.interOpNumThreads ?? 1,
    executionMode: 'sequential',
    graphOptimizationLevel: level,
  };
}

async function load(bytes: Uint8Array, level: OptimizationLevel, o: RuntimeOptions): Promise<Loaded> {
  const choice = o.executionProvider ?? 'auto';
  cudaUsable ??= choice === 'auto' ? cudaInstalled() : undefined;
  if (choice === 'cuda' || (choice === 'auto' && cudaUsable !== false)) {
    try {
      const session = await ort.InferenceSession.create(bytes, sessionOptions('cuda', level, o));
      cudaUsable = true;
      return { session, ep: 'cuda' };
    } catch (err) {
      if (choice === 'cuda') throw new GraphError('RUNTIME', `CUDA execution provider requested but unavailable: ${String(err)}`, { cause: err });
      cudaUsable = false;
    }
  }
  try {
    return { session: await ort.InferenceSession.create(bytes, sessionOptions('cpu', level, o)), ep: 'cpu' };
  } catch (err) {
    throw new GraphError('RUNTIME', `onnxruntime could not load the model: ${String(err)}`, { cause: err });
  }
}

function describe(v: Value): string {
  return `${v.dtype}${fmtShape(v.shape)}`;
}

function toOrt(spec: Value, feed: Feed | undefined): ort.Tensor {
  if (feed === undefined) throw new GraphError('MISSING_FEED', `feed '${spec.name}' missing`);
  const data = ArrayBuffer.isView(feed) ? feed : feed.data;
  const dtype = dtypeOfArray(data);
  if (dtype !== spec.dtype) {
    throw new GraphError('DTYPE_MISMATCH', `feed '${spec.name}': expected ${describe(spec)} (${spec.dtype}), got ${data.constructor.name}${dtype === undefined ? '' : ` (${dtype})`}`);
  }
  if (!ArrayBuffer.isView(feed) && feed.shape.join() !== spec.shape.join()) {
    throw new GraphError('SHAPE_MISMATCH', `feed '${spec.name}': expected shape ${fmtShape(spec.shape)}, got ${fmtShape(feed.shape)}`);
  }
  if (data.length !== numel(spec.shape)) {
    throw new GraphError('SHAPE_MISMATCH', `feed '${spec.name}': expected ${describe(spec)} = ${numel(spec.shape)} elements, got ${data.length}`);
  }
  return new ort.Tensor(spec.dtype, data, [...spec.shape]);
}

/**
 * Loads `model` (a training graph, serialised with parameters as inputs, or an exported `OnnxModel`) into a cached
 * onnxruntime session. The cache key is the SHA-256 of the model bytes plus the resolved options.
 */
export async function createSession(model: Graph | OnnxModel, options: RuntimeOptions = {}): Promise<Session> {
  const onnx = model instanceof Graph ? toOnnx(model) : model;
  const level = options.graphOptimizationLevel ?? (onnx.frozen ? 'all' : 'extended');
  const key = `${createHash('sha256').update(onnx.bytes).digest('hex')}|${level}|${options.executionProvider ?? 'auto'}|${options.intraOpNumThreads ?? 1}|${options.interOpNumThreads ?? 1}`;
  let pending = cache.get(key);
  if (pending === undefined) {
    pending = load(onnx.bytes, level, options);
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  const { session, ep } = await pending;
  const inputs = onnx.inputs;
  const outputs = onnx.outputs;
  const outSpec = new Map(outputs.map((v) => [v.name, v]));
  return {
    executionProvider: ep,
    graphOptimizationLevel: level,
    inputs,
    outputs,
    async run(feeds, fetches) {
      const known = new Set(inputs.map((v) => v.name));
      const unknown = Object.keys(feeds).filter((k) => !known.has(k));
      if (unknown.length > 0) {
        throw new GraphError('UNKNOWN_FEED', `unknown feeds ${unknown.map((k) => `'${k}'`).join(', ')}; inputs are ${inputs.map((v) => `${v.name}: ${describe(v)}`).join(', ')}`);
      }
      const missing = inputs.filter((v) => feeds[v.name] === undefined);
      if (missing.length > 0) {
        throw new GraphError('MISSING_FEED', `missing feeds: ${missing.map((v) => `${v.name}: ${describe(v)}`).join(', ')}`);
      }
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const v of inputs) ortFeeds[v.name] = toOrt(v, feeds[v.name]);
      const names = fetches ?? outputs.map((v) => v.name);
      for (const n of names) {
        if (!outSpec.has(n)) throw new GraphError('UNKNOWN_VALUE', `unknown fetch '${n}'; outputs are ${outputs.map((v) => v.name).join(', ')}`);
      }
      let result: ort.InferenceSession.ReturnType;
      try {
        result = await session.run(ortFeeds, [...names]);
      } catch (err) {
        throw new GraphError('RUNTIME', `onnxruntime run failed: ${String(err)}`, { cause: err });
      }
      const out: Record<string, TensorData> = {};
      for (const n of names) {
        const t = result[n];
        const spec = outSpec.get(n);
        if (t === undefined || spec === undefined) throw new GraphError('RUNTIME', `onnxruntime returned no '${n}'`);
        out[n] = { dtype: spec.dtype, shape: [...t.dims], data: t.data as TypedArray };
      }
      return out;
    },
  };
}

/** Releases every cached onnxruntime session (tests, shutdown). */
export async function releaseSessions(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  for (const p of all) {
    try {
      await (await p).session.release();
    } catch {
      // a session that failed to load has nothing to release
    }
  }
}

/** The version of onnxruntime-node this process runs (e.g. `1.30.0`), for provenance records. */
export function onnxruntimeVersion(): string {
  return ort.env.versions.node ?? ort.env.versions.common;
}

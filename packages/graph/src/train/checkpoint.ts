import { readFile, rename, writeFile } from 'node:fs/promises';

import type { AdamWConfig, AdamWState } from './adamw.js';
import type { EmaState } from './ema.js';
import type { ParamMap } from './param-map.js';
import { SafetensorsError, decodeSafetensors, encodeSafetensors } from './safetensors.js';
import type { SafetensorsTensor } from './safetensors.js';

/** The value of the `format` metadata entry; bump on an incompatible layout change. */
export const CHECKPOINT_FORMAT = 'alignda-checkpoint/1';

/** Everything needed to resume training, or to rebuild a model for inference. */
export interface Checkpoint {
  /** Model configuration, any JSON-serialisable value; stored as the `config` metadata string. */
  readonly config: unknown;
  /** Parameters by name. */
  readonly params: ParamMap;
  /**
   * Row-major shapes by parameter name (stored in the file so other tools can read it); a missing
   * entry is stored as the flat shape `[length]`.
   */
  readonly shapes?: Readonly<Record<string, readonly number[]>>;
  /** Optimizer state and hyper-parameters, when resuming training. */
  readonly optimizer?: { readonly config: AdamWConfig; readonly state: AdamWState };
  /** Exponential moving average of the parameters, when kept. */
  readonly ema?: { readonly decay: number; readonly warmup: boolean; readonly state: EmaState };
}

// Tensor-name prefixes inside the file. A parameter named "enc.conv1.w" is stored as "params/enc.conv1.w".
const P = 'params/';
const M = 'adamw.m/';
const V = 'adamw.v/';
const E = 'ema/';

function parseJson(key: string, text: string | undefined): unknown {
  if (text === undefined)
    throw new SafetensorsError('BAD_METADATA', `checkpoint metadata has no '${key}' entry`);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SafetensorsError(
      'BAD_METADATA',
      `checkpoint metadata '${key}' is not JSON: ${(err as Error).message}`,
    );
  }
}

/**
 * Serialises a checkpoint to safetensors bytes: tensors `params/<name>`, `adamw.m/<name>`,
 * `adamw.v/<name>`, `ema/<name>` (F32, or F64 for Float64Array parameters), and metadata strings `format`, `config` (JSON),
 * `optimizer` (JSON `{ name, step, config }`) and `ema` (JSON `{ updates, decay, warmup }`).
 * @param ckpt - the checkpoint
 */
export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  const tensors: Record<string, SafetensorsTensor> = {};
  const add = (prefix: string, map: ParamMap): void => {
    for (const [name, data] of Object.entries(map)) {
      const shape = ckpt.shapes?.[name] ?? [data.length];
      tensors[prefix + name] = { dtype: data instanceof Float64Array ? 'F64' : 'F32', shape, data };
    }
  };
  add(P, ckpt.params);
  const config = JSON.stringify(ckpt.config);
  if (config === undefined)
    throw new SafetensorsError('BAD_METADATA', 'checkpoint config is not JSON-serialisable');
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, config };
  if (ckpt.optimizer !== undefined) {
    add(M, ckpt.optimizer.state.m);
    add(V, ckpt.optimizer.state.v);
    metadata.optimizer = JSON.stringify({
      name: 'adamw',
      step: ckpt.optimizer.state.step,
      config: ckpt.optimizer.config,
    });
  }
  if (ckpt.ema !== undefined) {
    add(E, ckpt.ema.state.shadow);
    metadata.ema = JSON.stringify({
      updates: ckpt.ema.state.updates,
      decay: ckpt.ema.decay,
      warmup: ckpt.ema.warmup,
    });
  }
  return encodeSafetensors(tensors, metadata);
}

/**
 * Parses checkpoint bytes written by {@link encodeCheckpoint}; values are bit-identical to those saved.
 * @param bytes - the file
 * @throws SafetensorsError for a malformed file or one that is not an alignda checkpoint
 */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new SafetensorsError(
      'BAD_METADATA',
      `not an alignda checkpoint: metadata format is ${JSON.stringify(metadata.format)}, expected '${CHECKPOINT_FORMAT}'`,
    );
  }
  const groups: Record<string, ParamMap> = { [P]: {}, [M]: {}, [V]: {}, [E]: {} };
  const shapes: Record<string, readonly number[]> = {};
  for (const [key, t] of Object.entries(tensors)) {
    const prefix = [P, M, V, E].find((p) => key.startsWith(p));
    if (prefix === undefined)
      throw new SafetensorsError(
        'BAD_TENSOR',
        `checkpoint tensor '${key}' has no known prefix (${P}, ${M}, ${V}, ${E})`,
      );
    if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
      throw new SafetensorsError(
        'BAD_DTYPE',
        `checkpoint tensor '${key}' is ${t.dtype}, expected F32 or F64`,
      );
    }
    const name = key.slice(prefix.length);
    (groups[prefix] as ParamMap)[name] = t.data;
    if (prefix === P) shapes[name] = t.shape;
  }
  const params = groups[P] as ParamMap;
  const sameNames = (what: string, map: ParamMap): void => {
    const a = Object.keys(params).sort();
    const b = Object.keys(map).sort();
    if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
      throw new SafetensorsError(
        'BAD_TENSOR',
        `checkpoint ${what} covers [${b.join(', ')}], the parameters are [${a.join(', ')}]`,
      );
    }
  };
  let optimizer: Checkpoint['optimizer'];
  if (metadata.optimizer !== undefined) {
    const o = parseJson('optimizer', metadata.optimizer) as {
      name?: unknown;
      step?: unknown;
      config?: unknown;
    };
    if (
      o.name !== 'adamw' ||
      !Number.isInteger(o.step) ||
      typeof o.config !== 'object' ||
      o.config === null
    ) {
      throw new SafetensorsError(
        'BAD_METADATA',
        `checkpoint optimizer metadata is malformed: ${metadata.optimizer}`,
      );
    }
    sameNames('adamw.m', groups[M] as ParamMap);
    sameNames('adamw.v', groups[V] as ParamMap);
    optimizer = {
      config: o.config as AdamWConfig,
      state: { step: o.step as number, m: groups[M] as ParamMap, v: groups[V] as ParamMap },
    };
  }
  let ema: Checkpoint['ema'];
  if (metadata.ema !== undefined) {
    const e = parseJson('ema', metadata.ema) as { updates?: unknown; decay?: unknown; warmup?: unknown };
    if (!Number.isInteger(e.updates) || typeof e.decay !== 'number' || typeof e.warmup !== 'boolean') {
      throw new SafetensorsError('BAD_METADATA', `checkpoint ema metadata is malformed: ${metadata.ema}`);
    }
    sameNames('ema', groups[E] as ParamMap);
    ema = {
      decay: e.decay,
      warmup: e.warmup,
      state: { updates: e.updates as number, shadow: groups[E] as ParamMap },
    };
  }
  return { config: parseJson('config', metadata.config), params, shapes, optimizer, ema };
}

/**
 * Writes a checkpoint atomically (to `<path>.tmp-<pid>`, then renamed), so a crash never leaves a
 * half-written file under `path`.
 * @param path - destination file, conventionally `*.safetensors`
 * @param ckpt - the checkpoint
 */
export async function saveCheckpoint(path: string, ckpt: Checkpoint): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, encodeCheckpoint(ckpt));
  await rename(tmp, path);
}

/**
 * Reads a checkpoint written by {@link saveCheckpoint}.
 * @param path - the file
 * @throws SafetensorsError for a malformed file (the message starts with the path)
 */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const bytes = await readFile(path);
  try {
    return decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    if (err instanceof SafetensorsError)
      throw new SafetensorsError(err.reason, `${path}: ${err.message.replace(/^safetensors: /, '')}`);
    throw err;
  }
}

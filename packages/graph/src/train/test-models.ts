/**
 * Small networks and a training loop for the training tests of this folder (not exported from the
 * package): a conv net and a self-attention block, each learning a "teacher" network of the same
 * architecture with other weights, on fresh seeded batches.
 */
import { createRng } from '@alignda/tensor';

import { GraphBuilder } from '../builder.js';
import type { Graph } from '../graph.js';
import { grad, gradName } from '../grad.js';
import { exportInference } from '../onnx.js';
import { createSession } from '../runtime.js';
import type { Session } from '../runtime.js';
import type { TensorData, Value } from '../types.js';
import type { AdamW } from './adamw.js';
import type { ParamMap } from './param-map.js';

/** A regression model: inputs `x` (data) and `y` (target); outputs `pred` and the MSE `loss`. */
export interface RegressionModel {
  readonly graph: Graph;
  /** Shape of one batch of `x`. */
  readonly xShape: readonly number[];
  /** Shape of `y` and `pred`. */
  readonly yShape: readonly number[];
}

function mseHead(b: GraphBuilder, pred: Value, yShape: readonly number[]): Graph {
  const d = b.sub(pred, b.input('y', 'float32', yShape));
  b.output(pred, 'pred');
  b.output(b.reduceMean(b.mul(d, d)), 'loss'); // []
  return b.build();
}

/** conv3x3 (2 -> 8) + SiLU + conv3x3 (8 -> 1) on [8, 2, 8, 8] fields. */
export function convNet(seed: number): RegressionModel {
  const xShape = [8, 2, 8, 8];
  const yShape = [8, 1, 8, 8];
  const b = new GraphBuilder({ name: 'convnet', seed });
  const x = b.input('x', 'float32', xShape);
  const w1 = b.param('c1.w', [8, 2, 3, 3]);
  const b1 = b.param('c1.b', [8], { kind: 'normal', std: 0.1 });
  const w2 = b.param('c2.w', [1, 8, 3, 3], { kind: 'kaiming', gain: 1 });
  const b2 = b.param('c2.b', [1], { kind: 'zeros' });
  const h = b.silu(b.conv(x, w1, b1, { pads: 1 })); // [8, 8, 8, 8]
  return { graph: mseHead(b, b.conv(h, w2, b2, { pads: 1 }), yShape), xShape, yShape }; // pred [8, 1, 8, 8]
}

/**
 * One-head self-attention on [B=8, T=6, D=8] tokens: softmax(Q K^T / sqrt(D)) V Wo, with
 * Q = X Wq, K = X Wk, V = X Wv.
 */
export function attentionBlock(seed: number): RegressionModel {
  const [bs, t, d] = [8, 6, 8];
  const b = new GraphBuilder({ name: 'attention', seed });
  const x = b.input('x', 'float32', [bs, t, d]);
  const xavier = { kind: 'xavier' } as const;
  const q = b.matmul(x, b.param('wq', [d, d], xavier)); // [B, T, D]
  const k = b.matmul(x, b.param('wk', [d, d], xavier)); // [B, T, D]
  const v = b.matmul(x, b.param('wv', [d, d], xavier)); // [B, T, D]
  const scores = b.mul(b.matmul(q, b.transpose(k, [0, 2, 1])), 1 / Math.sqrt(d)); // [B, T, T]
  const att = b.softmax(scores, -1); // [B, T, T]
  const out = b.matmul(b.matmul(att, v), b.param('wo', [d, d], xavier)); // [B, T, D]
  return { graph: mseHead(b, out, [bs, t, d]), xShape: [bs, t, d], yShape: [bs, t, d] };
}

/** Feeds of one batch. */
export interface Batch {
  readonly x: Float32Array;
  readonly y: Float32Array;
}

const size = (s: readonly number[]): number => s.reduce((a, v) => a * v, 1);

/**
 * A batch source: batch k has x ~ N(0, 1) from seed `seed + k` and y = teacher(x), so any run can
 * regenerate batch k (a resumed run sees the same data as an uninterrupted one).
 */
export async function teacherData(
  model: (seed: number) => RegressionModel,
  teacherSeed: number,
  seed: number,
): Promise<(k: number) => Promise<Batch>> {
  const teacher = model(teacherSeed);
  const session = await createSession(exportInference(teacher.graph, teacher.graph.initialParams()));
  const zeros = new Float32Array(size(teacher.yShape));
  return async (k) => {
    const x = createRng(seed + k).fillNormal(new Float32Array(size(teacher.xShape)));
    const out = await session.run({ x, y: zeros }, ['pred']);
    return { x, y: (out.pred as TensorData).data as Float32Array };
  };
}

/** A model's gradient session and the names of its parameters. */
export interface Trainer {
  readonly model: RegressionModel;
  readonly session: Session;
  readonly names: readonly string[];
}

/** Differentiates `model`'s loss with respect to every parameter and loads the gradient graph. */
export async function trainer(model: RegressionModel): Promise<Trainer> {
  const names = model.graph.params.map((p) => p.name);
  return { model, names, session: await createSession(grad(model.graph, 'loss', names)) };
}

/**
 * Runs AdamW steps `from` .. `to - 1` on batches `data(k)`, updating `params` in place.
 * @returns the loss of each step (before its update)
 */
export async function trainSteps(
  t: Trainer,
  params: ParamMap,
  opt: AdamW,
  data: (k: number) => Promise<Batch>,
  from: number,
  to: number,
  lr: (k: number) => number,
): Promise<number[]> {
  const losses: number[] = [];
  const fetches = ['loss', ...t.names.map(gradName)];
  for (let k = from; k < to; k++) {
    const { x, y } = await data(k);
    const out = await t.session.run({ x, y, ...params }, fetches);
    const grads: ParamMap = {};
    for (const name of t.names) grads[name] = (out[gradName(name)] as TensorData).data as Float32Array;
    losses.push(((out.loss as TensorData).data as Float32Array)[0] as number);
    opt.step(params, grads, lr(k));
  }
  return losses;
}

/** Mean loss of `params` over batches `data(k)`, k in `ks`, and the variance of y over them (the loss of predicting the mean). */
export async function evaluate(
  t: Trainer,
  params: ParamMap,
  data: (k: number) => Promise<Batch>,
  ks: readonly number[],
): Promise<{ loss: number; varY: number }> {
  let loss = 0;
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (const k of ks) {
    const { x, y } = await data(k);
    const out = await t.session.run({ x, y, ...params }, ['loss']);
    loss += ((out.loss as TensorData).data as Float32Array)[0] as number;
    for (const v of y) {
      s += v;
      s2 += v * v;
      n++;
    }
  }
  return { loss: loss / ks.length, varY: s2 / n - (s / n) ** 2 };
}

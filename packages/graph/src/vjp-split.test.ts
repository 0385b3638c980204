import { createRng } from '@alignda/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import { gradName, vjp } from './grad.js';
import { exportInference } from './onnx.js';
import { createSession, releaseSessions } from './runtime.js';
import type { Feed } from './runtime.js';
import type { TensorData } from './types.js';
import { ELEMENTWISE_OPS, vjpSplit } from './vjp-split.js';

afterAll(releaseSessions);

/**
 * A small denoise-then-decode map, as in latent DPS: z [2,3,4,4] and s [2] -> eps (a conv net with SiLU), then
 * x0 = decoder((z - s eps) / 2) with a folded upsample + conv (its kernel computed from parameters alone).
 */
function net() {
  const b = new GraphBuilder({ name: 'toy', seed: 7 });
  const z = b.input('z', 'float32', [2, 3, 4, 4]);
  const s = b.reshape(b.input('s', 'float32', [2]), [2, 1, 1, 1]);
  const h = b.silu(
    b.conv(z, b.param('w1', [5, 3, 3, 3]), b.param('b1', [5], { kind: 'normal', std: 0.1 }), { pads: 1 }),
  );
  const eps = b.conv(h, b.param('w2', [3, 5, 3, 3], { kind: 'xavier' }), undefined, { pads: 1 });
  const z0 = b.div(b.sub(z, b.mul(s, eps)), 2);
  const u = b.conv(b.upsampleNearest(z0), b.param('w3', [4, 3, 3, 3]), undefined, { pads: 1 }); // folded
  const x0 = b.output(b.tanh(u), 'x0');
  b.output(eps, 'eps');
  return { graph: b.build(), x0 };
}

/** The backward's feeds: each input from the cotangents, else the forward's feeds, else the forward's outputs. */
function backwardFeeds(
  inputs: readonly { readonly name: string }[],
  cotangents: Readonly<Record<string, Feed>>,
  forwardFeeds: Readonly<Record<string, Feed>>,
  forwardOut: Readonly<Record<string, TensorData>>,
): Record<string, Feed> {
  const feeds: Record<string, Feed> = {};
  for (const { name } of inputs) {
    const f = cotangents[name] ?? forwardFeeds[name] ?? forwardOut[name]?.data;
    if (f === undefined) throw new Error(`no feed for backward input '${name}'`);
    feeds[name] = f;
  }
  return feeds;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

describe('vjpSplit', () => {
  const { graph, x0 } = net();
  const split = vjpSplit(graph, [x0], ['cot'], ['z']);
  const rng = createRng(3);
  const z = rng.fillNormal(new Float32Array(2 * 3 * 4 * 4));
  const s = Float32Array.of(0.4, 0.9);
  const cot = rng.fillNormal(new Float32Array(2 * 4 * 8 * 8));

  it('cuts the VJP graph: forward nodes in the forward, gradient nodes (and weight-only ones) in the backward', () => {
    const full = vjp(graph, [x0], ['cot'], ['z']);
    expect(split.forward.nodes).toEqual(graph.nodes);
    expect(split.forward.outputs.slice(0, 2).map((v) => v.name)).toEqual(['x0', 'eps']);
    expect(split.forward.outputs.slice(2).map((v) => v.name)).toEqual(
      split.saved.filter((n) => n !== 'x0' && n !== 'eps'),
    );
    const fwd = new Set(graph.nodes.map((n) => n.name));
    const back = split.backward.nodes.filter((n) => fwd.has(n.name));
    // Only the fold's weight-only nodes are recomputed; every other backward node is a gradient node of `full`.
    expect(back.length).toBeGreaterThan(0);
    const fixed = new Set([...graph.params, ...graph.constants].map((v) => v.name));
    for (const n of back) {
      expect(n.inputs.every((i) => fixed.has(i) || back.some((m) => m.outputs.includes(i)))).toBe(true);
    }
    expect(split.backward.nodes.length - back.length).toBe(full.nodes.length - graph.nodes.length);
    // z itself is not read (the first conv's input gradient needs only its weights); s only through its reshape.
    expect(split.backward.inputs.map((v) => v.name)).toEqual(['cot', ...split.saved]);
    expect(split.backward.outputs.map((v) => v.name)).toEqual([gradName('z')]);
    expect(split.backward.gradients).toEqual({ z: gradName('z') });
    // The saved values include the SiLU's sigmoid and product (its fused backward reads them).
    expect(split.saved.length).toBeGreaterThan(2);
    expect(split.saved.some((n) => n.startsWith('grad/'))).toBe(false);
  });

  it('gives the outputs and the VJP of the one-graph vjp, live and frozen', async () => {
    const params = graph.initialParams();
    for (const frozen of [false, true]) {
      const load = async (g: typeof graph) =>
        createSession(frozen ? exportInference(g, params) : g, { executionProvider: 'cpu' });
      const p: Record<string, Feed> = frozen ? {} : params;
      const full = await load(vjp(graph, [x0], ['cot'], ['z']));
      const f = await load(split.forward);
      const bw = await load(split.backward);
      const want = await full.run({ z, s, cot, ...p });
      const out = await f.run({ z, s, ...p });
      const got = await bw.run(backwardFeeds(bw.inputs, { cot }, { z, s, ...p }, out));
      for (const k of ['x0', 'eps']) {
        expect(
          maxDiff((out[k] as TensorData).data as Float32Array, (want[k] as TensorData).data as Float32Array),
        ).toBe(0);
      }
      const g = (got[gradName('z')] as TensorData).data as Float32Array;
      const w = (want[gradName('z')] as TensorData).data as Float32Array;
      const scale = maxDiff(w, new Float32Array(w.length));
      expect(scale).toBeGreaterThan(1e-2);
      expect(maxDiff(g, w)).toBeLessThanOrEqual(1e-6 * scale);
    }
  });

  it('matches central finite differences of <cot, x0(z)>', async () => {
    const params = graph.initialParams();
    const f = await createSession(exportInference(split.forward, params), { executionProvider: 'cpu' });
    const bw = await createSession(exportInference(split.backward, params), { executionProvider: 'cpu' });
    const out = await f.run({ z, s });
    const g = (await bw.run(backwardFeeds(bw.inputs, { cot }, { z, s }, out)))[gradName('z')]
      ?.data as Float32Array;
    const dir = createRng(9).fillNormal(new Float32Array(z.length));
    const at = async (h: number): Promise<number> => {
      const x = (await f.run({ z: z.map((v, i) => v + h * (dir[i] as number)), s }, ['x0'])).x0
        ?.data as Float32Array;
      let acc = 0;
      for (let i = 0; i < x.length; i++) acc += (x[i] as number) * (cot[i] as number);
      return acc;
    };
    const h = 1e-2;
    const fd = ((await at(h)) - (await at(-h))) / (2 * h);
    const ad = g.reduce((acc, v, i) => acc + v * (dir[i] as number), 0);
    expect(Math.abs(ad)).toBeGreaterThan(1e-1);
    expect(Math.abs(ad - fd)).toBeLessThanOrEqual(2e-3 * Math.abs(ad) + 1e-4);
  });

  it('recomputes the values of the nodes `recompute` picks in the backward, with the same VJP', async () => {
    const lean = vjpSplit(graph, [x0], ['cot'], ['z'], { recompute: (n) => ELEMENTWISE_OPS.has(n.op) });
    const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n.op] as const)));
    // Only the SiLU's input and the tanh's input cross (conv outputs); the SiLU and the tanh are recomputed, and
    // nothing of eps is needed (the Tweedie estimate is linear in it and the convs' input gradients need weights only).
    expect(lean.saved.map((n) => producer.get(n))).toEqual(['Conv', 'ConvTranspose']);
    expect(split.saved.length).toBeGreaterThan(lean.saved.length);
    const fwd = new Set(graph.nodes.map((n) => n.name));
    const again = lean.backward.nodes.filter((n) => fwd.has(n.name)).map((n) => n.op);
    // s's reshape, the SiLU, the fold's weight-only kernel (Transpose, Reshape, MatMul, Reshape) and the tanh.
    expect(again).toEqual(['Reshape', 'Sigmoid', 'Mul', 'Transpose', 'Reshape', 'MatMul', 'Reshape', 'Tanh']);
    expect(lean.backward.inputs.map((v) => v.name)).toEqual(['s', 'cot', ...lean.saved]);
    const params = graph.initialParams();
    const f = await createSession(exportInference(lean.forward, params), { executionProvider: 'cpu' });
    const bw = await createSession(exportInference(lean.backward, params), { executionProvider: 'cpu' });
    const full = await createSession(exportInference(vjp(graph, [x0], ['cot'], ['z']), params));
    const out = await f.run({ z, s });
    const g = (await bw.run(backwardFeeds(bw.inputs, { cot }, { z, s }, out)))[gradName('z')]
      ?.data as Float32Array;
    const w = (await full.run({ z, s, cot }))[gradName('z')]?.data as Float32Array;
    expect(maxDiff(g, w)).toBeLessThanOrEqual(1e-6 * maxDiff(w, new Float32Array(w.length)));
  });

  it('refuses what vjp refuses', () => {
    expect(() => vjpSplit(graph, [x0], [], ['z'])).toThrow(/1 outputs but 0 cotangents/);
  });
});

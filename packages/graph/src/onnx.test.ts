import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@alignda/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import { grad, gradName } from './grad.js';
import { ModelProto } from './internal/onnx-proto.js';
import { OPSET, exportInference, toOnnx } from './onnx.js';
import { createSession, releaseSessions } from './runtime.js';

const dir = mkdtempSync(join(tmpdir(), 'alignda-graph-'));
afterAll(async () => {
  await releaseSessions();
  rmSync(dir, { recursive: true, force: true });
});

/** A small encoder-decoder exercising Conv (stride 1/2), periodic padding, SiLU, Resize, ReduceMean/ReduceSum, MatMul. */
function net() {
  const b = new GraphBuilder({ name: 'tiny-ae', seed: 7 });
  const x = b.input('x', 'float32', [2, 3, 8, 16]);
  let h = b.conv(b.padPeriodic(x, 3, 1, 1), b.param('w1', [8, 3, 3, 3]), b.param('b1', [8], { kind: 'zeros' }), { pads: [1, 0, 1, 0] });
  h = b.silu(h);
  h = b.silu(b.conv(h, b.param('w2', [8, 8, 3, 3]), b.param('b2', [8], { kind: 'normal', std: 0.1 }), { pads: 1, strides: 2 }));
  h = b.upsampleNearest(h);
  h = b.conv(h, b.param('w3', [3, 8, 3, 3], { kind: 'xavier' }), undefined, { pads: 1 });
  const mix = b.matmul(b.reshape(h, [2, 3, 128]), b.reshape(b.param('m', [128, 4], { kind: 'xavier' }), [128, 4]));
  const y = b.reduceMean(b.sub(h, x), [1, 2, 3]);
  const loss = b.add(b.reduceMean(b.mul(b.sub(h, x), b.sub(h, x))), b.mul(b.reduceSum(mix), 1e-3));
  b.output(y, 'y');
  b.output(loss, 'loss');
  return b.build();
}

describe('ONNX serialisation', () => {
  it(`writes opset ${OPSET} with ReduceSum axes as an input, ReduceMean axes as an attribute and Resize's empty ROI`, () => {
    const m = ModelProto.toObject(ModelProto.decode(toOnnx(net()).bytes), { longs: Number }) as {
      opsetImport: { version: number }[];
      graph: { node: { opType: string; input: string[]; attribute?: { name: string }[] }[]; input: { name: string }[] };
    };
    expect(m.opsetImport[0]?.version).toBe(17);
    const nodes = m.graph.node;
    const rs = nodes.find((n) => n.opType === 'ReduceSum');
    expect(rs?.input).toHaveLength(2);
    const rm = nodes.find((n) => n.opType === 'ReduceMean');
    expect(rm?.input).toHaveLength(1);
    expect(rm?.attribute?.map((a) => a.name)).toContain('axes');
    // net()'s upsample feeds a 3x3 conv, which folds it into a ConvTranspose: no Resize left there. A Resize that
    // stays is written with the empty ROI input.
    expect(nodes.find((n) => n.opType === 'Resize')).toBeUndefined();
    const rb = new GraphBuilder();
    rb.output(rb.upsampleNearest(rb.input('x', 'float32', [1, 2, 3, 4])), 'u');
    const ru = ModelProto.toObject(ModelProto.decode(toOnnx(rb.build()).bytes)) as { graph: { node: { opType: string; input: string[] }[] } };
    expect(ru.graph.node.find((n) => n.opType === 'Resize')?.input[1]).toBe('');
    // Training graphs take the parameters as inputs after the data inputs.
    expect(m.graph.input.map((i) => i.name)).toEqual(['x', 'w1', 'b1', 'w2', 'b2', 'w3', 'm']);
  });

  it('an exported inference graph, written to disk and reloaded, reproduces the training graph forward to 1e-6', async () => {
    const g = net();
    const params = g.initialParams();
    // Perturb the parameters so the export must use the given values, not the initial ones.
    const rng = createRng(3);
    for (const p of Object.values(params)) for (let i = 0; i < p.length; i++) p[i] = (p[i] ?? 0) + 0.05 * rng.normal();
    const x = createRng(4).fillNormal(new Float32Array(2 * 3 * 8 * 16));

    const train = await createSession(grad(g, 'loss', Object.keys(params)), { executionProvider: 'cpu' });
    const ref = await train.run({ x, ...params });
    expect(ref[gradName('w1')]?.shape).toEqual([8, 3, 3, 3]);

    const model = exportInference(g, params);
    const file = join(dir, 'tiny-ae.onnx');
    writeFileSync(file, model.bytes);
    const reloaded = await createSession({ ...model, bytes: new Uint8Array(readFileSync(file)) }, { executionProvider: 'cpu' });
    expect(reloaded.graphOptimizationLevel).toBe('all');
    expect(reloaded.inputs.map((v) => v.name)).toEqual(['x']);
    const out = await reloaded.run({ x });
    for (const name of ['y', 'loss']) {
      const a = ref[name]?.data as Float32Array;
      const b = out[name]?.data as Float32Array;
      expect(b.length).toBe(a.length);
      const scale = Math.max(...Array.from(a, Math.abs));
      const err = Math.max(...Array.from(a, (v, i) => Math.abs(v - (b[i] ?? NaN))));
      expect(err / scale).toBeLessThanOrEqual(1e-6);
    }
    const unperturbed = await (await createSession(exportInference(g), { executionProvider: 'cpu' })).run({ x });
    expect(unperturbed['loss']?.data[0]).not.toBeCloseTo(out['loss']?.data[0] as number, 6);
  });

  it('serialises the same graph to the same bytes (stable names, seeded initialisers)', () => {
    const a = exportInference(net()).bytes;
    const b = exportInference(net()).bytes;
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
  });
});

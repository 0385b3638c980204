import { createRng } from '@alignda/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import { grad } from './grad.js';
import { createSession, releaseSessions } from './runtime.js';
import type { DType, Value } from './types.js';

afterAll(releaseSessions);

/** `Conv3x3(pad 1)(upsample x2 (x))` with the builder's fold (`folded`) or as the plain Resize + Conv nodes. */
function net(folded: boolean, dtype: 'float32' | 'float64') {
  const b = new GraphBuilder({ seed: 5 });
  const x = b.input('x', dtype, [2, 3, 4, 5]);
  const w = b.input('w', dtype, [4, 3, 3, 3]);
  const bias = b.input('bias', dtype, [4]);
  const u = b.upsampleNearest(x);
  const y: Value = folded
    ? b.conv(u, w, bias, { pads: 1 })
    : (b.op('Conv', [u, w, bias], {
        pads: [1, 1, 1, 1],
        strides: [1, 1],
        dilations: [1, 1],
        group: 1,
      })[0] as Value);
  b.output(y, 'y');
  return b.build();
}

const draw = (dtype: DType, n: number, seed: number): Float32Array | Float64Array => {
  const a = createRng(seed).fillNormal(new Float64Array(n));
  return dtype === 'float64' ? a : Float32Array.from(a);
};

describe('nearest x2 upsample followed by a 3x3 conv', () => {
  it('is folded into one stride-2 ConvTranspose; the Resize node is dropped', () => {
    const ops = net(true, 'float32').nodes.map((n) => n.op);
    expect(ops).toContain('ConvTranspose');
    expect(ops).not.toContain('Resize');
    expect(ops).not.toContain('Conv');
  });

  it('keeps the Resize when another op reads the upsampled value, and leaves other convs alone', () => {
    const b = new GraphBuilder();
    const u = b.upsampleNearest(b.input('x', 'float32', [1, 2, 3, 3]));
    const w = b.input('w', 'float32', [2, 2, 3, 3]);
    b.output(b.add(b.conv(u, w, undefined, { pads: 1 }), u), 'y');
    b.output(b.conv(u, w, undefined, { pads: 1, strides: 2 }), 'z'); // stride 2: not folded
    const ops = b.build().nodes.map((n) => n.op);
    expect(ops.filter((o) => o === 'Resize')).toHaveLength(1);
    expect(ops.filter((o) => o === 'Conv')).toHaveLength(1);
  });

  it('refuses to differentiate with respect to a folded (dropped) upsample output', () => {
    const b = new GraphBuilder();
    const u = b.upsampleNearest(b.input('x', 'float32', [1, 2, 3, 3]));
    b.output(b.reduceSum(b.conv(u, b.input('w', 'float32', [2, 2, 3, 3]), undefined, { pads: 1 })), 'loss');
    expect(() => grad(b.build(), 'loss', [u.name])).toThrow(/no node of graph .* computes it/);
  });

  {
    const dtype = 'float32';
    it('matches Resize + Conv to float32 rounding', async () => {
      const feeds = {
        x: draw(dtype, 2 * 3 * 4 * 5, 1),
        w: draw(dtype, 4 * 3 * 9, 2),
        bias: draw(dtype, 4, 3),
      };
      const a = (await (await createSession(net(true, dtype), { executionProvider: 'cpu' })).run(feeds)).y
        ?.data as Float32Array;
      const r = (await (await createSession(net(false, dtype), { executionProvider: 'cpu' })).run(feeds)).y
        ?.data as Float32Array;
      expect(a).toHaveLength(2 * 4 * 8 * 10);
      let err = 0;
      let scale = 0;
      for (let i = 0; i < r.length; i++) {
        err = Math.max(err, Math.abs((a[i] ?? 0) - (r[i] ?? 0)));
        scale = Math.max(scale, Math.abs(r[i] ?? 0));
      }
      expect(err / scale).toBeLessThan(1e-6);
    });
  }
});

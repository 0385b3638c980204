import { createRng } from '@alignda/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import { grad, gradName, vjp } from './grad.js';
import { createSession, releaseSessions } from './runtime.js';

afterAll(releaseSessions);

/** A decoder-like map z [1,4] -> field [1,2,3,3] with a parameter, as in DPS guidance. */
function decoder() {
  const b = new GraphBuilder({ seed: 11 });
  const z = b.input('z', 'float32', [1, 4]);
  const h = b.tanh(b.matmul(z, b.param('w', [4, 18], { kind: 'xavier' })));
  b.output(b.mul(b.reshape(h, [1, 2, 3, 3]), 2), 'field');
  return b.build();
}

describe('vjp', () => {
  it('serves any cotangent from one graph: the result is linear in the cotangent', async () => {
    const g = decoder();
    const s = await createSession(vjp(g, ['field'], ['residual'], ['z']), { executionProvider: 'cpu' });
    expect(s.inputs.map((v) => v.name)).toEqual(['z', 'residual', 'w']);
    const rng = createRng(1);
    const z = rng.fillNormal(new Float32Array(4));
    const r1 = rng.fillNormal(new Float32Array(18));
    const r2 = rng.fillNormal(new Float32Array(18));
    const run = async (r: Float32Array) => (await s.run({ z, ...g.initialParams(), residual: r }))[gradName('z')]?.data as Float32Array;
    const [a, c, both] = [await run(r1), await run(r2), await run(r1.map((v, i) => 3 * v - (r2[i] ?? 0)))];
    const expected = a.map((v, i) => 3 * v - (c[i] ?? 0));
    for (let i = 0; i < 4; i++) expect(both[i]).toBeCloseTo(expected[i] ?? NaN, 5);
    expect(Math.max(...Array.from(a, Math.abs))).toBeGreaterThan(1e-3);
  });

  it('agrees with grad of sum(cotangent * output)', async () => {
    const g = decoder();
    const rng = createRng(2);
    const r = rng.fillNormal(new Float32Array(18));
    const b = GraphBuilder.extend(g);
    b.output(b.reduceSum(b.mul(g.value('field'), b.constant(r, [1, 2, 3, 3]))), 'l');
    const viaGrad = await createSession(grad(b.build(), 'l', ['z', 'w']), { executionProvider: 'cpu' });
    const viaVjp = await createSession(vjp(g, ['field'], ['cot'], ['z', 'w']), { executionProvider: 'cpu' });
    const z = rng.fillNormal(new Float32Array(4));
    const p = g.initialParams();
    const a = await viaGrad.run({ z, ...p });
    const c = await viaVjp.run({ z, ...p, cot: r });
    for (const name of ['z', 'w']) {
      const x = a[gradName(name)]?.data as Float32Array;
      const y = c[gradName(name)]?.data as Float32Array;
      expect(y.length).toBe(x.length);
      x.forEach((v, i) => expect(y[i]).toBeCloseTo(v, 5));
    }
  });

  it('returns zeros for a wrt value the outputs do not depend on', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2]);
    b.input('unused', 'float32', [3]);
    b.output(b.exp(x), 'y');
    const s = await createSession(vjp(b.build(), ['y'], ['cot'], ['unused']), { executionProvider: 'cpu' });
    const r = await s.run({ x: Float32Array.of(0, 1), unused: Float32Array.of(1, 2, 3), cot: Float32Array.of(1, 1) });
    expect([...(r[gradName('unused')]?.data as Float32Array)]).toEqual([0, 0, 0]);
  });
});

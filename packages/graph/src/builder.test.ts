import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import { fans } from './init.js';

const stats = (a: Float32Array | Float64Array): { mean: number; std: number; min: number; max: number } => {
  let s = 0;
  let s2 = 0;
  for (const v of a) {
    s += v;
    s2 += v * v;
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean), min: Math.min(...a), max: Math.max(...a) };
};

describe('GraphBuilder', () => {
  it('draws the same initial parameters from the same seed and different ones from another seed', () => {
    const make = (seed: number) => {
      const b = new GraphBuilder({ seed });
      b.output(b.param('w', [4, 3, 3, 3]));
      return b.build().initialParams()['w'] as Float32Array;
    };
    expect(make(1)).toEqual(make(1));
    expect(make(1)).not.toEqual(make(2));
  });

  it('initialises Kaiming-normal with std sqrt(2/fanIn) and Xavier-uniform within sqrt(6/(fanIn+fanOut))', () => {
    const b = new GraphBuilder({ seed: 5 });
    const k = b.param('k', [64, 32, 3, 3]);
    const x = b.param('x', [200, 100], { kind: 'xavier' });
    const z = b.param('z', [7], { kind: 'zeros' });
    b.output(b.add(b.reduceSum(k), b.add(b.reduceSum(x), b.reduceSum(z))));
    const p = b.build().initialParams();
    expect(fans([64, 32, 3, 3])).toEqual([288, 576]);
    const ks = stats(p['k'] as Float32Array);
    expect(ks.std).toBeGreaterThan(Math.sqrt(2 / 288) * 0.97);
    expect(ks.std).toBeLessThan(Math.sqrt(2 / 288) * 1.03);
    const a = Math.sqrt(6 / 300);
    const xs = stats(p['x'] as Float32Array);
    expect(xs.max).toBeLessThanOrEqual(a);
    expect(xs.min).toBeGreaterThanOrEqual(-a);
    expect(xs.std).toBeGreaterThan((a / Math.sqrt(3)) * 0.97);
    expect([...(p['z'] as Float32Array)]).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('names nodes with stable generated names and infers shapes at build time', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [16, 7, 32, 64]);
    const h = b.conv(x, b.param('w', [32, 7, 3, 3]), undefined, { pads: 1, strides: 2 });
    const u = b.upsampleNearest(h);
    const p = b.padPeriodic(u, 3, 2, 1);
    expect(h.name).toBe('Conv_0');
    expect(h.shape).toEqual([16, 32, 16, 32]);
    expect(u.shape).toEqual([16, 32, 32, 64]);
    expect(p.shape).toEqual([16, 32, 32, 67]);
    expect(b.split(p, [60, 7], 3).map((v) => v.shape[3])).toEqual([60, 7]);
  });

  it('refuses a second value with an existing name', () => {
    const b = new GraphBuilder();
    b.input('x', 'float32', [1]);
    expect(() => b.param('x', [1])).toThrow(/already has a value named 'x'/);
  });
});

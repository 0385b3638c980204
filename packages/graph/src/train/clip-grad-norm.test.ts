import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { clipGradNorm, globalNorm } from './clip-grad-norm.js';
import type { ParamMap } from './param-map.js';

describe('clipGradNorm', () => {
  it('computes the global norm over all tensors', () => {
    expect(globalNorm({ a: new Float32Array([3]), b: new Float32Array([0, 4]) })).toBe(5);
  });

  it('scales an over-long gradient to maxNorm, keeps its direction, and returns the norm before', () => {
    const rng = createRng(5);
    const g: ParamMap = {
      a: rng.fillNormal(new Float32Array(100), 0, 3),
      b: rng.fillNormal(new Float32Array(7)),
    };
    const before = { a: (g.a as Float32Array).slice(), b: (g.b as Float32Array).slice() };
    const norm0 = globalNorm(g);
    const returned = clipGradNorm(g, 1.5);
    expect(returned).toBe(norm0);
    const norm1 = globalNorm(g);
    expect(norm1).toBeLessThanOrEqual(1.5);
    expect(norm1).toBeGreaterThan(1.5 * (1 - 1e-5));
    const ratio = (g.a?.[0] as number) / (before.a[0] as number);
    for (const k of ['a', 'b'] as const) {
      for (let i = 0; i < before[k].length; i++) {
        expect((g[k]?.[i] as number) / (before[k][i] as number)).toBeCloseTo(ratio, 5);
      }
    }
  });

  it('leaves a gradient within the bound bit-identical', () => {
    const g: ParamMap = { a: new Float32Array([0.1, -0.2, 0.3]) };
    const before = (g.a as Float32Array).slice();
    expect(clipGradNorm(g, 1)).toBeCloseTo(Math.sqrt(0.14), 6);
    expect(g.a).toEqual(before);
  });

  it('returns a non-finite norm without touching the gradients', () => {
    const g: ParamMap = { a: new Float32Array([1, NaN, 2]) };
    expect(clipGradNorm(g, 1)).toBeNaN();
    expect(g.a?.[0]).toBe(1);
    expect(g.a?.[2]).toBe(2);
    expect(() => clipGradNorm(g, 0)).toThrow(/maxNorm/);
  });
});

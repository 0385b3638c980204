import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { AdamW } from './adamw.js';
import type { ParamMap } from './param-map.js';

describe('AdamW', () => {
  it('matches hand-computed values for its first two steps', () => {
    // Computed by hand (checked with plain float64 Python) from Kingma & Ba, Algorithm 1, with
    // beta1 = 0.9, beta2 = 0.999, eps = 1e-8, lr = 0.1, no decay, p0 = 1, g1 = 0.5, g2 = -0.25:
    //   t=1: m = 0.05, v = 2.5e-4, mhat = 0.5, vhat = 0.25, p1 = 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.900000002
    //   t=2: m = 0.045 - 0.025 = 0.02, v = 0.999 * 2.5e-4 + 0.001 * 0.0625 = 3.1225e-4,
    //        mhat = 0.02 / 0.19 = 0.1052632, vhat = 3.1225e-4 / 0.001999 = 0.1562031,
    //        p2 = p1 - 0.1 * 0.1052632 / sqrt(0.1562031) = 0.8733663
    const p: ParamMap = { w: new Float32Array([1]) };
    const opt = new AdamW(p, { lr: 0.1, weightDecay: 0 });
    opt.step(p, { w: new Float32Array([0.5]) });
    expect(p.w?.[0]).toBe(Math.fround(0.900000002));
    opt.step(p, { w: new Float32Array([-0.25]) });
    expect(p.w?.[0]).toBeCloseTo(0.8733663, 6);
    expect(opt.stepCount).toBe(2);
  });

  it('matches torch.optim.AdamW over three steps with weight decay', () => {
    // Golden values from PyTorch 1.13 (Debian python3-torch), float32:
    //   p = torch.tensor([0.5, -1.25, 3.0, 1e-3, -2e-4]); AdamW([p], lr=1e-2, betas=(0.9, 0.999),
    //   eps=1e-8, weight_decay=0.1); three steps with the gradients below.
    const p: ParamMap = { w: new Float32Array([0.5, -1.25, 3.0, 1e-3, -2e-4]) };
    const grads = [
      [0.3, -0.7, 1.5, 0.0, 2e-3],
      [-0.1, 0.2, 0.9, 0.0, -4e-3],
      [0.25, -0.05, -1.0, 0.0, 1e-3],
    ];
    const opt = new AdamW(p, { lr: 1e-2, weightDecay: 0.1 });
    for (const g of grads) opt.step(p, { w: new Float32Array(g) });
    const torch = [
      0.4781332314014435, -1.2280516624450684, 2.9682118892669678, 0.0009970030514523387,
      -0.00515509769320488,
    ];
    for (let i = 0; i < torch.length; i++) {
      // PyTorch rounds to float32 between sub-operations, we round once per element: a few ulps apart.
      expect(Math.abs((p.w?.[i] ?? NaN) - (torch[i] as number))).toBeLessThan(
        4e-7 * Math.max(1, Math.abs(torch[i] as number)),
      );
    }
  });

  it('minimises an ill-conditioned quadratic', () => {
    // f(p) = 1/2 sum_i a_i (p_i - c_i)^2, curvatures a_i spread over [0.1, 10]; seed 7, 1500 steps.
    const rng = createRng(7);
    const n = 64;
    const a = rng.fillUniform(new Float64Array(n), 0.1, 10);
    const c = rng.fillNormal(new Float64Array(n));
    const p: ParamMap = { x: rng.fillNormal(new Float32Array(n), 0, 3) };
    const g: ParamMap = { x: new Float32Array(n) };
    const loss = (): number => {
      let f = 0;
      for (let i = 0; i < n; i++)
        f += 0.5 * (a[i] as number) * ((p.x?.[i] as number) - (c[i] as number)) ** 2;
      return f;
    };
    const initial = loss();
    const opt = new AdamW(p, { lr: 0.05, weightDecay: 0 });
    for (let t = 0; t < 1500; t++) {
      const lr = 0.05 * 0.5 * (1 + Math.cos((Math.PI * t) / 1500));
      for (let i = 0; i < n; i++)
        (g.x as Float32Array)[i] = (a[i] as number) * ((p.x?.[i] as number) - (c[i] as number));
      opt.step(p, g, lr);
    }
    expect(initial).toBeGreaterThan(10);
    expect(loss()).toBeLessThan(1e-6 * initial);
  });

  it('decays weights decoupled from the gradient: a zero gradient shrinks p by exactly lr * wd * p', () => {
    const rng = createRng(11);
    const w = rng.fillNormal(new Float32Array(50));
    w[0] = 1000;
    w[1] = 1e-3;
    const before = w.slice();
    const p: ParamMap = { w, bias: new Float32Array([0.5, -0.5]) };
    const lr = 0.01;
    const wd = 0.1;
    const opt = new AdamW(p, { lr, weightDecay: wd, decay: (name) => name !== 'bias' });
    opt.step(p, { w: new Float32Array(50), bias: new Float32Array(2) });
    for (let i = 0; i < w.length; i++) {
      const p0 = before[i] as number;
      expect(w[i]).toBe(Math.fround(p0 * (1 - lr * wd)));
      // The shrink is lr * wd * p to float32 rounding, whatever |p| is: an L2 penalty added to the
      // gradient would instead be normalised by Adam to a step of about lr * sign(p).
      expect(Math.abs(p0 - (w[i] as number) - lr * wd * p0)).toBeLessThanOrEqual(Math.abs(p0) * 2 ** -23);
    }
    expect(Array.from(p.bias ?? [])).toEqual([0.5, -0.5]);
  });

  it('resumes from a saved state exactly as if never interrupted', () => {
    const rng = createRng(3);
    const grads = Array.from({ length: 10 }, () => ({ w: rng.fillNormal(new Float32Array(20)) }));
    const init = rng.fillNormal(new Float32Array(20));
    const straight: ParamMap = { w: init.slice() };
    const optA = new AdamW(straight, { lr: 0.01 });
    for (const g of grads) optA.step(straight, g);

    const resumed: ParamMap = { w: init.slice() };
    const optB = new AdamW(resumed, { lr: 0.01 });
    for (const g of grads.slice(0, 4)) optB.step(resumed, g);
    const optC = new AdamW(resumed, { lr: 0.01 });
    optC.loadState(optB.state());
    for (const g of grads.slice(4)) optC.step(resumed, g);
    expect(resumed.w).toEqual(straight.w);
    expect(optC.stepCount).toBe(10);
  });

  it('rejects gradients whose names or lengths differ from the parameters', () => {
    const p: ParamMap = { a: new Float32Array(3) };
    const opt = new AdamW(p);
    expect(() => opt.step(p, { a: new Float32Array(2) })).toThrow(
      /'a' has length 2, the parameter has length 3/,
    );
    expect(() => opt.step(p, { b: new Float32Array(3) })).toThrow(/missing entry 'a'/);
    expect(() => new AdamW(p, { beta2: 1 })).toThrow(/beta2/);
  });
});

import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { Ema } from './ema.js';
import type { ParamMap } from './param-map.js';

describe('Ema', () => {
  it('keeps the average of a constant exactly equal to that constant', () => {
    const rng = createRng(1);
    const p: ParamMap = { w: rng.fillNormal(new Float32Array(33), 0, 100) };
    const ema = new Ema(p, { decay: 0.9 });
    for (let t = 0; t < 50; t++) ema.update(p);
    expect(ema.shadow.w).toEqual(p.w);
  });

  it('warms its decay up as min(decay, (1 + n) / (10 + n))', () => {
    const ema = new Ema({ w: new Float32Array(1) }, { decay: 0.99 });
    expect(ema.nextDecay()).toBeCloseTo(2 / 11, 15);
    for (let i = 0; i < 1000; i++) ema.update({ w: new Float32Array(1) });
    expect(ema.nextDecay()).toBe(0.99);
  });

  it('follows the closed form c1 + (c0 - c1) d^k after a step change', () => {
    const ema = new Ema({ w: new Float32Array([0]) }, { decay: 0.8, warmup: false });
    const p: ParamMap = { w: new Float32Array([1]) };
    for (let k = 1; k <= 20; k++) {
      ema.update(p);
      expect(ema.shadow.w?.[0]).toBeCloseTo(1 - 0.8 ** k, 6);
    }
  });

  it('restores its state so that later updates match an uninterrupted average', () => {
    const rng = createRng(2);
    const seq = Array.from({ length: 12 }, () => ({ w: rng.fillNormal(new Float32Array(5)) }));
    const a = new Ema({ w: new Float32Array(5) }, { decay: 0.95 });
    for (const p of seq) a.update(p);
    const b = new Ema({ w: new Float32Array(5) }, { decay: 0.95 });
    for (const p of seq.slice(0, 5)) b.update(p);
    const c = new Ema({ w: new Float32Array(5) }, { decay: 0.95 });
    c.loadState(b.state());
    for (const p of seq.slice(5)) c.update(p);
    expect(c.shadow.w).toEqual(a.shadow.w);
    expect(c.updates).toBe(12);
  });
});

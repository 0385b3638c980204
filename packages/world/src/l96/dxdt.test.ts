import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { l96Advection, l96Dxdt } from './dxdt.js';

describe('l96Dxdt', () => {
  it('is zero at the rest state x_i = F', () => {
    for (const F of [8, 3.5, -1]) {
      const out = l96Dxdt(new Float64Array(40).fill(F), new Float64Array(40), F);
      for (const v of out) expect(v).toBe(0);
    }
  });

  it('is advection - x + F, with the published stencil (x_{i+1} - x_{i-2}) x_{i-1} at every point, wrap included', () => {
    const n = 7;
    const x = createRng(3).fillNormal(new Float64Array(n), 0, 3);
    const got = l96Dxdt(x, new Float64Array(n), 8);
    const at = (i: number): number => x[(i + n) % n] as number;
    for (let i = 0; i < n; i++)
      expect(got[i]).toBeCloseTo((at(i + 1) - at(i - 2)) * at(i - 1) - at(i) + 8, 12);
  });

  it('has an advection term that adds nothing to d/dt sum x_i^2 (energy conservation), to 1e-12', () => {
    const rng = createRng(11);
    for (const n of [4, 5, 40, 101]) {
      const x = rng.fillNormal(new Float64Array(n), 2, 4);
      const adv = l96Advection(x, new Float64Array(n));
      let dEnergy = 0;
      let scale = 0;
      for (let i = 0; i < n; i++) {
        dEnergy += (x[i] as number) * (adv[i] as number);
        scale += Math.abs((x[i] as number) * (adv[i] as number));
      }
      expect(Math.abs(dEnergy) / scale).toBeLessThan(1e-12);
      // not trivially zero: the advection itself is large
      expect(scale).toBeGreaterThan(1);
    }
  });
});

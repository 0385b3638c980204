import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { qgEnergy } from './diagnostics.js';
import { createQgModel } from './model.js';

describe('forced-dissipative QG run', () => {
  it('is statistically stationary: mean perturbation kinetic energy of two consecutive 200-day halves agrees within 25 %', () => {
    // Half resolution (32 x 16, dt 2 h) of the nature run's physics to keep the test cheap (~5000 steps).
    const m = createQgModel({ nx: 32, ny: 16, dtS: 7200 });
    const q = m.randomState(createRng(11), 1e6);
    m.advance(q, 24 * 150); // spin-up, discarded
    const halves = [0, 0];
    const days = 200;
    for (let h = 0; h < 2; h++) {
      for (let d = 0; d < days; d++) {
        m.advance(q, 24);
        halves[h] = (halves[h] as number) + qgEnergy(m.core, q).kinetic / days;
      }
    }
    const [a, b] = halves as [number, number];
    // Eddies really are present (energy grew by orders of magnitude from the 1e6 m2/s seed noise, ~0.1 J/kg)...
    expect(Math.min(a, b)).toBeGreaterThan(20);
    // ...and the two halves have the same climate. Tolerance: the EKE time series decorrelates in
    // ~10 days with ~40 % fluctuations, so a 200-day mean carries ~9 % sampling error per half.
    expect(Math.abs(a - b) / (0.5 * (a + b))).toBeLessThan(0.25);
  });
});

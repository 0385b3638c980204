import { describe, expect, it } from 'vitest';

import { gaspariCohn, gaspariCohnHalfWidth } from './gaspari-cohn.js';

/** Gaspari & Cohn 1999, eq. 4.10, written term by term (the kernel nests it in Horner form). */
function reference(d: number, c: number): number {
  const z = Math.abs(d) / c;
  if (z <= 1) return -(z ** 5) / 4 + z ** 4 / 2 + (5 / 8) * z ** 3 - (5 / 3) * z ** 2 + 1;
  if (z <= 2) return z ** 5 / 12 - z ** 4 / 2 + (5 / 8) * z ** 3 + (5 / 3) * z ** 2 - 5 * z + 4 - 2 / (3 * z);
  return 0;
}

describe('gaspariCohn', () => {
  it('is 1 at distance 0 and 0 at and beyond the support 2c', () => {
    for (const c of [0.5, 1, 7.28]) {
      expect(gaspariCohn(0, c)).toBe(1);
      expect(Math.abs(gaspariCohn(2 * c, c))).toBeLessThan(1e-14);
      for (const z of [2.0001, 2.5, 10, 1e9]) expect(gaspariCohn(z * c, c)).toBe(0);
    }
  });

  it('equals the published piecewise polynomial, and is even in the distance', () => {
    for (let d = -3; d <= 3; d += 0.0625) {
      expect(gaspariCohn(d, 1.5)).toBeCloseTo(reference(d, 1.5), 14);
      expect(gaspariCohn(d, 1.5)).toBe(gaspariCohn(-d, 1.5));
    }
    expect(gaspariCohn(1, 1)).toBeCloseTo(5 / 24 + 0, 14); // -1/4 + 1/2 + 5/8 - 5/3 + 1
  });

  it('is continuous at z = 1 and z = 2 and decreases monotonically on [0, 2c]', () => {
    const c = 3;
    for (const z of [1, 2]) {
      expect(Math.abs(gaspariCohn(z * c - 1e-9, c) - gaspariCohn(z * c + 1e-9, c))).toBeLessThan(1e-8);
    }
    let prev = 2;
    for (let d = 0; d <= 2 * c; d += 0.01) {
      const v = gaspariCohn(d, c);
      expect(v).toBeLessThanOrEqual(prev);
      expect(v).toBeGreaterThanOrEqual(0);
      prev = v;
    }
  });

  it('is close to the Gaussian of matching length L = c sqrt(3/10) (within 0.04 everywhere; measured 0.034)', () => {
    const L = 4;
    const c = gaspariCohnHalfWidth(L);
    let worst = 0;
    for (let d = 0; d <= 4 * c; d += 0.01)
      worst = Math.max(worst, Math.abs(gaspariCohn(d, c) - Math.exp(-(d * d) / (2 * L * L))));
    expect(worst).toBeLessThan(0.04);
    // and both have the same curvature at 0
    const h = 1e-3;
    expect((1 - gaspariCohn(h, c)) / (h * h)).toBeCloseTo(1 / (2 * L * L), 5);
  });

  it('is 1 for every finite distance with an infinite half-width (no localisation)', () => {
    for (const d of [0, 1, 1e6]) expect(gaspariCohn(d, Infinity)).toBe(1);
  });
});

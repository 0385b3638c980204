import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { selectionOperator } from './observations.js';
import { staticKalmanGain } from './static-kalman.js';

describe('staticKalmanGain', () => {
  const n = 5;
  const rng = createRng(9);
  const A = rng.fillNormal(new Float64Array(n * n));
  const B = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = i === j ? 0.5 : 0;
      for (let r = 0; r < n; r++) s += (A[i * n + r] as number) * (A[j * n + r] as number);
      B[i * n + j] = s;
    }
  const operator = selectionOperator([n], Int32Array.of(1, 3));
  const std = Float64Array.of(0.5, 2);

  it('minimises the 3D-Var cost: its gradient B^-1 (x - x_b) - H^T R^-1 (y - H x) vanishes at the analysis', () => {
    const { update } = staticKalmanGain(B, operator, std);
    const xb = rng.fillNormal(new Float64Array(n));
    const y = Float64Array.of(1.5, -2);
    const xa = update(xb, y);
    // B^-1 (xa - xb) = H^T R^-1 (y - H xa)  <=>  (xa - xb) = B H^T R^-1 (y - H xa)
    const r = Float64Array.of((1.5 - (xa[1] as number)) / 0.25, (-2 - (xa[3] as number)) / 4);
    for (let i = 0; i < n; i++) {
      const rhs = (B[i * n + 1] as number) * (r[0] as number) + (B[i * n + 3] as number) * (r[1] as number);
      expect((xa[i] as number) - (xb[i] as number)).toBeCloseTo(rhs, 10);
    }
  });

  it('draws an observed value towards the observation by B_ii / (B_ii + R) when the observations are independent', () => {
    const diag = new Float64Array(n * n);
    for (let i = 0; i < n; i++) diag[i * n + i] = 3;
    const xa = staticKalmanGain(diag, operator, std).update(new Float64Array(n), Float64Array.of(1, 1));
    expect(xa[1]).toBeCloseTo(3 / 3.25, 12);
    expect(xa[3]).toBeCloseTo(3 / 7, 12);
    expect(xa[0]).toBe(0);
  });

  it('rejects a B of the wrong size, an asymmetric B and a non-positive error', () => {
    expect(() => staticKalmanGain(new Float64Array(16), operator, std)).toThrow(
      /16 entries .*\[5\] needs \[5, 5\]/,
    );
    const asym = Float64Array.from(B);
    asym[1] = (asym[1] as number) + 1;
    expect(() => staticKalmanGain(asym, operator, std)).toThrow(/symmetric; entry \(0, 1\)/);
    expect(() => staticKalmanGain(B, operator, Float64Array.of(1, 0))).toThrow(
      /observation 1 has error standard deviation 0/,
    );
  });
});

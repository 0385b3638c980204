import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { symEig } from './linalg.js';
import { symEigQl } from './sym-eig-ql.js';

/** A random symmetric n x n matrix, optionally with a repeated eigenvalue block (Y^T Y + c I, rank-deficient Y). */
function randomSymmetric(n: number, seed: number, rank = n): Float64Array {
  const rng = createRng(seed);
  const Y = rng.fillNormal(new Float64Array(rank * n));
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = i === j ? 3 : 0;
      for (let r = 0; r < rank; r++) s += (Y[r * n + i] as number) * (Y[r * n + j] as number);
      A[i * n + j] = s;
    }
  return A;
}

describe('symEigQl', () => {
  it.each([
    [1, 1],
    [2, 2],
    [7, 7],
    [24, 24],
    [40, 40],
    [40, 5],
  ])(
    'reconstructs A = V diag V^T with orthonormal V and matches Jacobi (n %i, rank %i) to 1e-12',
    (n, rank) => {
      const A = randomSymmetric(n, n + rank, rank);
      const { values, vectors: V } = symEigQl(A, n);
      const scale = Math.max(...A.map(Math.abs));
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let a = 0;
          let o = 0;
          for (let q = 0; q < n; q++) {
            a += (V[i * n + q] as number) * (values[q] as number) * (V[j * n + q] as number);
            o += (V[q * n + i] as number) * (V[q * n + j] as number);
          }
          expect(Math.abs(a - (A[i * n + j] as number)) / scale).toBeLessThan(1e-12);
          expect(Math.abs(o - (i === j ? 1 : 0))).toBeLessThan(1e-12);
        }
      const jacobi = [...symEig(A, n).values].sort((x, y) => x - y);
      for (let q = 0; q < n; q++) {
        expect(Math.abs((values[q] as number) - (jacobi[q] as number)) / scale).toBeLessThan(1e-12);
        if (q > 0) expect(values[q] as number).toBeGreaterThanOrEqual(values[q - 1] as number);
      }
    },
  );

  it('diagonalises an already diagonal matrix and the zero matrix', () => {
    expect([...symEigQl(Float64Array.from([3, 0, 0, 0, 1, 0, 0, 0, 2]), 3).values]).toEqual([1, 2, 3]);
    expect([...symEigQl(new Float64Array(9), 3).values]).toEqual([0, 0, 0]);
  });
});

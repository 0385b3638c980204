import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { randomMeanPreservingRotation } from './ensemble-rotation.js';

describe('randomMeanPreservingRotation', () => {
  it.each([2, 3, 7, 24])('is orthogonal and maps the ones vector to itself (k = %i)', (k) => {
    const Q = randomMeanPreservingRotation(k, createRng(k));
    for (let i = 0; i < k; i++) {
      let row = 0;
      for (let j = 0; j < k; j++) {
        row += Q[i * k + j] as number;
        let dot = 0;
        for (let q = 0; q < k; q++) dot += (Q[i * k + q] as number) * (Q[j * k + q] as number);
        expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-12);
      }
      expect(Math.abs(row - 1)).toBeLessThan(1e-12);
    }
  });

  it('differs from the identity and between draws, and repeats for the same seed', () => {
    const rng = createRng(3);
    const a = randomMeanPreservingRotation(5, rng);
    const b = randomMeanPreservingRotation(5, rng);
    expect(Math.max(...a.map((v, i) => Math.abs(v - (i % 6 === 0 ? 1 : 0))))).toBeGreaterThan(0.1);
    expect(Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))))).toBeGreaterThan(0.1);
    expect(randomMeanPreservingRotation(5, createRng(3))).toEqual(a);
  });

  it('rejects fewer than 2 members', () => {
    expect(() => randomMeanPreservingRotation(1, createRng(0))).toThrow(/k must be an integer >= 2, got 1/);
  });
});

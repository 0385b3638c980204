import { describe, expect, it } from 'vitest';
import { axpy, dot, norm2, sub, zeros } from './ops.js';

describe('tensor utilities', () => {
  it('zeros makes a zero tensor of the requested shape and element type', () => {
    const a = zeros([2, 3]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(a.data.length).toBe(6);
    expect(a.shape).toEqual([2, 3]);
    expect(zeros([4], 'float64').data).toBeInstanceOf(Float64Array);
    expect(zeros([]).data.length).toBe(1);
    expect(() => zeros([2, -1])).toThrow(/invalid shape \[2, -1\]/);
  });

  it('sub, axpy, dot and norm2 give the hand-computed values', () => {
    const a = new Float64Array([1, 2, 3]);
    const b = new Float64Array([4, -5, 6]);
    expect(Array.from(sub(a, b))).toEqual([-3, 7, -3]);
    // 1*4 - 2*5 + 3*6 = 12; |b| = sqrt(16 + 25 + 36) = sqrt(77).
    expect(dot(a, b)).toBe(12);
    expect(norm2(b)).toBe(Math.sqrt(77));
    const y = Float64Array.from(b);
    expect(axpy(2, a, y)).toBe(y);
    expect(Array.from(y)).toEqual([6, -1, 12]);
  });

  it('sub writes into out, which may alias an input, and keeps the element type of a', () => {
    const a = new Float32Array([1.5, 2.5]);
    expect(sub(a, new Float64Array([0.5, 0.5]), a)).toBe(a);
    expect(Array.from(a)).toEqual([1, 2]);
    expect(sub(a, a)).toBeInstanceOf(Float32Array);
  });

  it('accumulates dot in float64 even for float32 inputs', () => {
    // Sum of 1e5 copies of 0.1f: float32 accumulation drifts by ~1e1 (ulp 1e-3 at 1e4); float64 stays within 1e-10.
    const x = new Float32Array(100_000).fill(0.1);
    const ones = new Float32Array(100_000).fill(1);
    expect(dot(x, ones)).toBeCloseTo(1e5 * Math.fround(0.1), 3);
  });

  it('refuses arrays of different lengths', () => {
    expect(() => dot(new Float64Array(2), new Float64Array(3))).toThrow(/lengths 2 and 3/);
    expect(() => axpy(1, new Float64Array(2), new Float64Array(3))).toThrow(/lengths 2 and 3/);
    expect(() => sub(new Float64Array(2), new Float64Array(2), new Float64Array(1))).toThrow(
      /out has length 1/,
    );
  });
});

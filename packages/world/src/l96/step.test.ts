import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { createL96Step } from './step.js';

/** A state on the attractor: the rest state plus a seeded perturbation, spun up for 20 time units. */
function attractorState(seed: number): Float64Array {
  const x = createRng(seed).fillNormal(new Float64Array(40), 8, 1);
  const step = createL96Step();
  for (let t = 0; t < 400; t++) step(x);
  return x;
}

/** Advances `x` over `T` time units with steps of `dt`. */
function integrate(x0: Float64Array, dt: number, T: number): Float64Array {
  const x = Float64Array.from(x0);
  const step = createL96Step({ dt });
  for (let t = 0; t < Math.round(T / dt); t++) step(x);
  return x;
}

function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2;
  return Math.sqrt(s);
}

describe('createL96Step (RK4)', () => {
  it('keeps the rest state x_i = F fixed', () => {
    const x = new Float64Array(40).fill(8);
    createL96Step()(x);
    for (const v of x) expect(v).toBe(8);
  });

  it('converges at 4th order: halving dt divides the error over a fixed time by ~16', () => {
    const x0 = attractorState(1);
    const T = 0.2;
    const ref = integrate(x0, 0.2 / 256, T);
    const errors = [0.05, 0.025, 0.0125].map((dt) => distance(integrate(x0, dt, T), ref));
    const ratios = [errors[0] as number, errors[1] as number].map((e, i) => e / (errors[i + 1] as number));
    for (const r of ratios) {
      expect(r).toBeGreaterThan(13);
      expect(r).toBeLessThan(19);
    }
  });

  it('gives a leading Lyapunov exponent of about 1.67 per time unit for F = 8, N = 40 (twin trajectories, seeded)', () => {
    // Benettin's method: a twin at distance d0, renormalised to d0 every step; the mean log growth rate.
    const x = attractorState(2);
    const y = Float64Array.from(x);
    const d0 = 1e-8;
    const dir = createRng(5).fillNormal(new Float64Array(40));
    const n0 = Math.hypot(...dir);
    for (let i = 0; i < 40; i++) y[i] = (x[i] as number) + (d0 * (dir[i] as number)) / n0;
    const step = createL96Step();
    const dt = 0.05;
    let sum = 0;
    let counted = 0;
    for (let t = 0; t < 3000; t++) {
      step(x);
      step(y);
      const d = distance(x, y);
      // the first 5 time units align the twin with the leading vector; not counted
      if (t >= 100) {
        sum += Math.log(d / d0);
        counted++;
      }
      for (let i = 0; i < 40; i++) y[i] = (x[i] as number) + (d0 * ((y[i] as number) - (x[i] as number))) / d;
    }
    const lambda = sum / (counted * dt);
    expect(lambda).toBeGreaterThan(1.2);
    expect(lambda).toBeLessThan(2.2);
  });

  it('rejects a state of the wrong length and bad parameters, naming them', () => {
    expect(() => createL96Step()(new Float64Array(39))).toThrow(/39 values but nx = 40/);
    expect(() => createL96Step({ nx: 3 })).toThrow(/nx must be an integer >= 4/);
    expect(() => createL96Step({ dt: 0 })).toThrow(/dt must be finite and > 0/);
    expect(() => createL96Step({ forcing: Number.NaN })).toThrow(/forcing must be finite/);
  });
});

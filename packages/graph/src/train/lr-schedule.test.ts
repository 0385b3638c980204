import { describe, expect, it } from 'vitest';

import { warmupCosineLr, warmupCosineSchedule } from './lr-schedule.js';

describe('warmupCosineSchedule', () => {
  const opts = { peakLr: 1e-3, warmupSteps: 10, totalSteps: 110, minLr: 1e-4 };
  const lr = warmupCosineSchedule(opts);

  it('starts at peak / warmupSteps, reaches the peak at the end of warm-up and the floor at totalSteps', () => {
    expect(lr(0)).toBeCloseTo(1e-4, 15);
    expect(lr(9)).toBe(1e-3);
    expect(lr(10)).toBe(1e-3);
    expect(lr(60)).toBeCloseTo((1e-3 + 1e-4) / 2, 15);
    expect(lr(110)).toBeCloseTo(1e-4, 15);
    expect(lr(111)).toBe(1e-4);
    expect(lr(10_000)).toBe(1e-4);
  });

  it('rises monotonically during warm-up and decays monotonically after', () => {
    for (let t = 1; t <= 10; t++) expect(lr(t)).toBeGreaterThanOrEqual(lr(t - 1));
    for (let t = 11; t <= 200; t++) expect(lr(t)).toBeLessThanOrEqual(lr(t - 1));
    for (let t = 11; t < 110; t++) expect(lr(t)).toBeLessThan(lr(t - 1));
  });

  it('starts at the peak without warm-up and defaults the floor to a tenth of it', () => {
    const s = warmupCosineSchedule({ peakLr: 2, totalSteps: 4 });
    expect(s(0)).toBe(2);
    expect(s(4)).toBeCloseTo(0.2, 12);
  });

  it('rejects inconsistent options', () => {
    expect(() => warmupCosineSchedule({ peakLr: 1, warmupSteps: 5, totalSteps: 4 })).toThrow(/totalSteps/);
    expect(() => warmupCosineSchedule({ peakLr: 1, totalSteps: 4, minLr: 2 })).toThrow(/minLr/);
    expect(() => warmupCosineSchedule({ peakLr: 0, totalSteps: 4 })).toThrow(/peakLr/);
    expect(() => warmupCosineLr(-1, opts)).toThrow(/step/);
  });
});

import { describe, expect, it } from 'vitest';
import { SCHEDULE_ETA, alpha, mu, sigma, tweedie } from './schedule.js';

describe('cosine VP schedule', () => {
  it('goes from data (mu = 1, sigma = eta) at t = 0 to noise (mu = eta, sigma = 1) at t = 1', () => {
    expect(mu(0)).toBeCloseTo(1, 14);
    expect(sigma(0)).toBeCloseTo(SCHEDULE_ETA, 14);
    expect(mu(1)).toBeCloseTo(SCHEDULE_ETA, 14);
    expect(sigma(1)).toBeCloseTo(1, 14);
  });

  it('matches alpha(t) = cos(arccos(sqrt(eta)) t)^2 and sigma^2 = 1 - alpha^2 + eta^2 at interior times', () => {
    for (const t of [0.1, 0.37, 0.5, 0.9]) {
      const a = Math.cos(Math.acos(Math.sqrt(1e-3)) * t) ** 2;
      expect(alpha(t)).toBeCloseTo(a, 14);
      expect(sigma(t) ** 2).toBeCloseTo(1 - a * a + 1e-6, 14);
    }
  });

  it('decreases mu and increases sigma monotonically in t', () => {
    for (let k = 0; k < 100; k++) {
      expect(mu((k + 1) / 100)).toBeLessThan(mu(k / 100));
      expect(sigma((k + 1) / 100)).toBeGreaterThan(sigma(k / 100));
    }
  });

  it('recovers z0 exactly from z_t = mu z0 + sigma eps when given the true eps (Tweedie with a perfect denoiser)', () => {
    const z0 = Float32Array.from([0.3, -1.2, 2.5]);
    const eps = Float32Array.from([1.1, 0.4, -0.7]);
    const t = 0.6;
    const zt = z0.map((v, i) => mu(t) * v + sigma(t) * (eps[i] as number));
    const back = tweedie(zt, eps, t);
    for (let i = 0; i < 3; i++) expect(back[i]).toBeCloseTo(z0[i] as number, 5);
  });

  it('rejects arrays of different lengths', () => {
    expect(() => tweedie(new Float32Array(3), new Float32Array(2), 0.5)).toThrow(/zt has length 3, eps 2/);
  });
});

import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { qgEnergy, qgEnstrophy } from './diagnostics.js';
import { createQgModel } from './model.js';
import type { QgModel } from './model.js';
import { zeroState } from './core.js';

/** Inviscid, unforced configuration: no mean flow, no drag, no hyperviscosity (beta kept). */
const INVISCID = { uUpperMPerS: 0, uLowerMPerS: 0, dragPerS: 0, hyperviscosityTimeS: Infinity } as const;

/** Index of mode (i >= 0, j signed) in a [ny, nkx] spectral layer. */
function modeIndex(m: QgModel, i: number, j: number): number {
  const { ny, nx } = m.params;
  return ((j + ny) % ny) * (nx / 2 + 1) + i;
}

/** Sets streamfunction mode (i, j) of both layers to amplitudes a1, a2 (real) and returns the PV state. */
function singleMode(m: QgModel, i: number, j: number, a1: number, a2: number): Float64Array {
  const F = m.core.derived.fCouplingPerM2;
  const idx = modeIndex(m, i, j);
  const K2 = m.core.k2[idx] as number;
  const q = zeroState(m.core);
  // q1 = -K^2 psi1 + F (psi2 - psi1), q2 likewise; spectral amplitude N = nx ny per unit physical amplitude / 2
  const n = (m.params.nx * m.params.ny) / 2;
  q[2 * idx] = n * (-K2 * a1 + F * (a2 - a1));
  q[2 * (m.core.modes + idx)] = n * (-K2 * a2 + F * (a1 - a2));
  return q;
}

/** Phase (rad) of complex entry `idx` of layer `layer`. */
function phase(m: QgModel, q: Float64Array, layer: number, idx: number): number {
  const r = 2 * (layer * m.core.modes + idx);
  return Math.atan2(q[r + 1] as number, q[r] as number);
}

describe('two-layer QG model physics', () => {
  it('conserves total energy and potential enstrophy to 5e-6 (relative) over 240 half-hour steps without forcing and dissipation, the drift shrinking >16x when dt halves', () => {
    // White-noise streamfunction of rms 2e6 m2/s: winds up to ~44 m/s at the smallest scales, strongly nonlinear.
    const drift = (dtS: number, steps: number): [number, number, number] => {
      const m = createQgModel({ ...INVISCID, dtS });
      const q = m.randomState(createRng(7), 2e6);
      const e0 = qgEnergy(m.core, q);
      const z0 = qgEnstrophy(m.core, q);
      for (let s = 0; s < steps; s++) m.step(q);
      const e1 = qgEnergy(m.core, q);
      const exchanged = Math.abs(e1.kinetic / e0.kinetic - 1); // energy really moves between KE and PE
      return [Math.abs(e1.total / e0.total - 1), Math.abs(qgEnstrophy(m.core, q) / z0 - 1), exchanged];
    };
    const [de, dz, exchanged] = drift(1800, 240);
    const [deHalf, dzHalf] = drift(900, 480);
    expect(exchanged).toBeGreaterThan(1e-3);
    expect(de).toBeLessThan(5e-6);
    expect(dz).toBeLessThan(5e-6);
    // The 2/3-rule Galerkin truncation conserves both exactly; the remainder is RK4's O(dt^4) global error
    // (measured: 3.0e-6 -> 9.2e-8 for E, a factor 33).
    expect(de / deHalf).toBeGreaterThan(16);
    expect(dz / dzHalf).toBeGreaterThan(16);
  });

  it('propagates a barotropic and a baroclinic Rossby wave at the analytic phase speed (relative error < 1e-5 over 10 days)', () => {
    const m = createQgModel(INVISCID);
    const beta = m.core.derived.betaPerMS;
    const F = m.core.derived.fCouplingPerM2;
    const [i, j] = [3, 2];
    const idx = modeIndex(m, i, j);
    const kx = m.core.kx[idx] as number;
    const K2 = m.core.k2[idx] as number;
    const days = 10;
    // Analytic (linearise q_t + beta psi_x = 0 with q = -K^2 psi (barotropic, psi1 = psi2) or
    // q = -(K^2 + 2F) psi (baroclinic, psi1 = -psi2)): omega = -beta kx / (K^2 [+ 2F]); phase advances by -omega t.
    for (const [a2, denom] of [
      [1e6, K2],
      [-1e6, K2 + 2 * F],
    ] as const) {
      const q = singleMode(m, i, j, 1e6, a2);
      const phase0 = phase(m, q, 0, idx);
      const omega = (-beta * kx) / denom;
      m.advance(q, 24 * days);
      const t = days * 86_400;
      const expected = -omega * t; // exp(i(k.x - omega t)) -> coefficient phase -omega t
      const moved = phase(m, q, 0, idx) - phase0;
      const wrapped = Math.atan2(Math.sin(moved - expected), Math.cos(moved - expected));
      const measuredOmega = -(expected + wrapped) / t;
      expect(Math.abs(measuredOmega / omega - 1)).toBeLessThan(1e-5);
      expect(Math.abs(expected)).toBeGreaterThan(1); // the wave moved by more than a radian
    }
  });

  it('grows the most unstable baroclinic mode at the Phillips-model rate (within 0.5 %) from a tiny perturbation', () => {
    // Strongly supercritical, inviscid: U1 - U2 = 20 m/s, rd = 600 km (beta-critical shear 11.7 m/s).
    const m = createQgModel({
      deformationRadiusM: 6e5,
      uUpperMPerS: 25,
      uLowerMPerS: 5,
      dragPerS: 0,
      hyperviscosityTimeS: Infinity,
    });
    const beta = m.core.derived.betaPerMS;
    const F = m.core.derived.fCouplingPerM2;
    const us = 10; // half the shear
    // Phillips (1954) equal-layer dispersion relation (Vallis 2017 eq. 9.94, with kd^2 = F here):
    // c = U_mean - beta (K^2 + F) / (K^2 (K^2 + 2F)) +- sqrt(beta^2 F^2 / (K^4 (K^2 + 2F)^2) - Us^2 (2F - K^2) / (K^2 + 2F)),
    // growth sigma = k Im(c). Most unstable zonal wave (l = 0) over the domain's wavenumbers:
    let best = 0;
    let bestI = 0;
    for (let i = 1; i <= m.core.derived.kxMax; i++) {
      const k = m.core.kx[i] as number;
      const K2 = k * k;
      const disc =
        (beta * beta * F * F) / (K2 * K2 * (K2 + 2 * F) ** 2) - (us * us * (2 * F - K2)) / (K2 + 2 * F);
      const sigma = disc < 0 ? k * Math.sqrt(-disc) : 0;
      if (sigma > best) [best, bestI] = [sigma, i];
    }
    expect(bestI).toBe(3); // wavelength 14 150 km / 3 = 4 717 km
    // Tiny amplitudes (psi ~ 1 m2/s): with l = 0 the Jacobian vanishes, so this is the linear problem.
    const q = singleMode(m, bestI, 0, 1, 0.3);
    const amp = (): number => Math.hypot(q[2 * bestI] as number, q[2 * bestI + 1] as number);
    m.advance(q, 24 * 15); // let the growing normal mode dominate the decaying one
    const a0 = amp();
    m.advance(q, 24 * 10);
    const sigma = Math.log(amp() / a0) / (10 * 86_400);
    expect(Math.abs(sigma / best - 1)).toBeLessThan(5e-3);
  });
});

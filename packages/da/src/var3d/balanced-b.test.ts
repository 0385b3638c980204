import { describe, expect, it } from 'vitest';
import { betaPlaneGrid, createRng, geostrophicWind, latLonGrid } from '@alignda/tensor';
import type { BetaPlaneGrid, Grid } from '@alignda/tensor';
import type { BackgroundErrorStats } from './background-error.js';
import { createBSqrt } from './b-sqrt.js';
import type { BSqrt } from './b-sqrt.js';
import type { BalanceSpec } from './balance.js';
import { createBalancedBSqrt } from './balanced-b.js';
import { solve3DVar } from './var3d.js';
import { griddedObservations } from '../observations.js';

// A QG-like state: z_upper, z_lower, u_upper, u_lower, v_upper, v_lower, t on a 16 x 32 beta plane (100 km).
const [C, H, W] = [7, 16, 32];
const HW = H * W;
const grid: BetaPlaneGrid = betaPlaneGrid({ H, W, dxM: 100e3, dyM: 100e3, latCentreDeg: 45 });
/** The normalisation std of each channel, physical units (m2 s-2, m/s, K). */
const STD = [900, 500, 12, 6, 12, 6, 4];
/** R_d ln(750 / 250), J/(kg K): the QG world's thickness per kelvin. */
const RT = 287.05 * Math.log(3);
const qgBalance = (coriolis?: BalanceSpec['coriolis']): BalanceSpec => ({
  levels: [
    { z: 0, u: 2, v: 4 },
    { z: 1, u: 3, v: 5 },
  ],
  hydrostatic: [{ t: 6, zUpper: 0, zLower: 1, thicknessPerKelvin: RT }],
  channelStd: STD,
  channels: ['z_upper', 'z_lower', 'u_upper', 'u_lower', 'v_upper', 'v_lower', 't'],
  ...(coriolis === undefined ? {} : { coriolis }),
});
/** Control-variable variances (normalised units): geopotentials and small unbalanced residuals. */
const VAR = [0.04, 0.03, 0.002, 0.002, 0.002, 0.002, 0.001];
const stats = (rho = 0, perLatitude = false, h = H): BackgroundErrorStats => {
  const corr = new Float64Array(C * C);
  for (let c = 0; c < C; c++) corr[c * C + c] = 1;
  corr[1] = rho;
  corr[C] = rho;
  return {
    stateShape: [C, h, W],
    perLatitude,
    variance: perLatitude
      ? Float64Array.from({ length: C * h }, (_, k) => (VAR[Math.floor(k / h)] as number) * (1 + (k % h) / h))
      : Float64Array.from(VAR),
    bias: new Float64Array(perLatitude ? C * h : C),
    samples: 30,
    channelCorrelation: corr,
  };
};
const dot = (a: Float64Array, b: Float64Array): number => a.reduce((s, v, i) => s + v * (b[i] as number), 0);
const slab = (x: Float64Array, c: number, scale = 1): Float64Array =>
  x.slice(c * HW, (c + 1) * HW).map((v) => v * scale);
const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

/** The analysis increment of one observation of `channel` at (row, col), innovation `d`, error std 0.01. */
function singleObsIncrement(u: BSqrt, channel: number, row: number, col: number, d = 0.5): Float64Array {
  const obs = griddedObservations({
    stateShape: [C, H, W],
    channel: [channel],
    row: [row],
    col: [col],
    value: [d],
    std: 0.01,
  });
  const res = solve3DVar({ background: new Float64Array(C * HW), obs, bSqrt: u, cg: { tol: 1e-14 } });
  return res.analysis;
}

describe('createBalancedBSqrt', () => {
  it('has applyT as the exact adjoint of apply (<U v, x> = <v, U^T x> to 1e-10), on a beta plane and across the equator', () => {
    const rng = createRng(21);
    const equatorial = latLonGrid(
      Array.from({ length: H }, (_, i) => -37.5 + 5 * i),
      Array.from({ length: W }, (_, k) => 2.5 * k),
    );
    const cases: [Grid, BalanceSpec][] = [
      [grid, qgBalance()],
      [equatorial, qgBalance({ kind: 'latitude' })],
    ];
    for (const [g, balance] of cases) {
      const u = createBalancedBSqrt(g, stats(0.6, true), balance, {
        lengthScalesM: [400e3, 500e3, 200e3, 250e3, 200e3, 250e3, 300e3],
      });
      for (let trial = 0; trial < 3; trial++) {
        const v = rng.fillNormal(new Float64Array(C * HW));
        const x = rng.fillNormal(new Float64Array(C * HW));
        const lhs = dot(u.apply(v), x);
        const rhs = dot(v, u.applyT(x));
        expect(Math.abs(lhs - rhs)).toBeLessThan(1e-10 * Math.abs(lhs));
      }
    }
  });

  it('turns one geopotential observation into a geostrophic wind increment: tensor geostrophicWind of the z increment with f0 (to 1e-12 of its size)', () => {
    const u = createBalancedBSqrt(grid, stats(0.6), qgBalance(), { lengthScalesM: 300e3 });
    const inc = singleObsIncrement(u, 0, 8, 16);
    const fPlane: Grid = { ...grid, betaPerMS: 0 }; // f = f0 on every row
    for (const [z, uc, vc] of [
      [0, 2, 4],
      [1, 3, 5],
    ] as const) {
      const phi = slab(inc, z, STD[z]); // m2 s-2
      const geo = geostrophicWind({ data: phi, shape: [H, W] }, fPlane);
      const uInc = slab(inc, uc, STD[uc]); // m/s
      const vInc = slab(inc, vc, STD[vc]);
      const size = Math.max(maxAbs(geo.u.data), maxAbs(geo.v.data));
      expect(size).toBeGreaterThan(0.5); // a real increment: m/s
      // Measured: 5.4e-16 of the size (the same stencils, summed in another order).
      expect(maxDiff(uInc, geo.u.data)).toBeLessThan(1e-12 * size);
      expect(maxDiff(vInc, geo.v.data)).toBeLessThan(1e-12 * size);
    }
  });

  it('spreads a geopotential observation with the stated Gaussian length scale: exp(-1/2) at L north (1e-10) and east (the chord, within 2 %)', () => {
    const L = 300e3; // 3 rows, 3 columns
    const u = createBalancedBSqrt(grid, stats(0.6), qgBalance(), {
      lengthScalesM: [L, 600e3, 1, 1, 1, 1, 1],
    });
    const inc = singleObsIncrement(u, 0, 6, 16);
    const at = (i: number, k: number): number => inc[i * W + k] as number;
    expect(at(9, 16) / at(6, 16)).toBeCloseTo(Math.exp(-0.5), 10);
    expect(at(3, 16) / at(6, 16)).toBeCloseTo(Math.exp(-0.5), 10);
    // Along the periodic x axis distances are chords of the channel's circle: 3 columns = 295.7 km, not 300 km.
    const eastRatio = at(6, 19) / at(6, 16);
    const chord = ((2 * W * 100e3) / (2 * Math.PI)) * Math.sin((3 * Math.PI) / W);
    expect(eastRatio).toBeCloseTo(Math.exp(-0.5 * (chord / L) ** 2), 10);
    expect(Math.abs(eastRatio / Math.exp(-0.5) - 1)).toBeLessThan(0.02);
  });

  it('gives a temperature increment in hydrostatic balance with the z increments when only z is observed (to 1e-12)', () => {
    const rho = 0.6;
    const u = createBalancedBSqrt(grid, stats(rho), qgBalance(), { lengthScalesM: 300e3 });
    const inc = singleObsIncrement(u, 0, 8, 16);
    const zu = slab(inc, 0, STD[0]);
    const zl = slab(inc, 1, STD[1]);
    const t = slab(inc, 6, STD[6]);
    const thickness = zu.map((v, p) => (v - (zl[p] as number)) / RT);
    expect(maxAbs(t)).toBeGreaterThan(0.1); // K
    expect(maxDiff(t, thickness)).toBeLessThan(1e-12 * maxAbs(t));
    // The lower level follows through the vertical correlation of the geopotential control variables.
    const p = 8 * W + 16;
    expect((inc[HW + p] as number) / (inc[p] as number)).toBeCloseTo(
      rho * Math.sqrt((VAR[1] as number) / (VAR[0] as number)),
      10,
    );
  });

  it('answers a temperature observation with a thickness increment: the upper geopotential rises, the lower falls', () => {
    const u = createBalancedBSqrt(grid, stats(0), qgBalance(), { lengthScalesM: 300e3 });
    const inc = singleObsIncrement(u, 6, 8, 16);
    const p = 8 * W + 16;
    expect(inc[p] as number).toBeGreaterThan(0);
    expect(inc[HW + p] as number).toBeLessThan(0);
    // T = thickness / RT + the unbalanced residual, which carries the rest of the increment with T's own variance.
    const thickness = ((inc[p] as number) * 900 - (inc[HW + p] as number) * 500) / RT;
    const residual = (inc[6 * HW + p] as number) * 4 - thickness;
    expect(residual).toBeGreaterThan(0);
    expect(thickness).toBeGreaterThan(0);
  });

  it('reduces to createBSqrt without roles (same variances, channel correlation and length scale, to 1e-10)', () => {
    const rng = createRng(22);
    const st = stats(0.6, true);
    const balanced = createBalancedBSqrt(grid, st, { levels: [], channelStd: STD }, { lengthScalesM: 350e3 });
    const separable = createBSqrt(grid, st, { lengthScaleM: 350e3 });
    const v = rng.fillNormal(new Float64Array(C * HW));
    const a = separable.apply(v);
    expect(maxDiff(balanced.apply(v), a)).toBeLessThan(1e-10 * maxAbs(a));
    const b = separable.applyT(v);
    expect(maxDiff(balanced.applyT(v), b)).toBeLessThan(1e-10 * maxAbs(b));
  });

  it('tapers the balanced wind across the equator: finite everywhere, zero on the equator row, geostrophic poleward of 30 deg', () => {
    const lat = Array.from({ length: 17 }, (_, i) => -40 + 5 * i);
    const g = latLonGrid(
      lat,
      Array.from({ length: W }, (_, k) => 2.5 * k),
    );
    const st = stats(0, false, 17);
    const u = createBalancedBSqrt(g, st, qgBalance({ kind: 'latitude' }), {
      lengthScalesM: 800e3,
    });
    const v = new Float64Array(C * 17 * W);
    for (let p = 0; p < 17 * W; p++) v[p] = Math.sin(p / 7); // a z_upper control field
    const x = u.apply(v);
    const n = 17 * W;
    expect(x.every((val) => Number.isFinite(val))).toBe(true);
    const geo = geostrophicWind({ data: x.slice(0, n).map((val) => val * 900), shape: [17, W] }, g);
    const size = maxAbs(geo.u.data.filter(Number.isFinite));
    let worst = 0;
    for (let i = 0; i < 17; i++) {
      for (let k = 0; k < W; k++) {
        const ub = (x[2 * n + i * W + k] as number) * 12;
        if (lat[i] === 0) expect(ub).toBe(0);
        if (Math.abs(lat[i] as number) >= 30)
          worst = Math.max(worst, Math.abs(ub - (geo.u.data[i * W + k] as number)));
      }
    }
    // The taper weight at 30 deg is 1 - exp(-16) = 1 - 1.1e-7.
    expect(size).toBeGreaterThan(1);
    expect(worst).toBeLessThan(1e-6 * size);
  });

  it('rejects a role naming a channel out of range, a non-positive length scale and f0 = 0 on a beta plane, naming the problem', () => {
    const st = stats();
    expect(() =>
      createBalancedBSqrt(grid, st, { levels: [{ z: 0, u: 9 }], channelStd: STD }, { lengthScalesM: 1e5 }),
    ).toThrow(/levels\[0\]\.u = 9 is not a channel \(the state has 7 channels, 0\.\.6\)/);
    expect(() =>
      createBalancedBSqrt(grid, st, qgBalance(), { lengthScalesM: [3e5, 3e5, 3e5, 0, 3e5, 3e5, 3e5] }),
    ).toThrow(/lengthScalesM\[3\] = 0 must be finite and > 0/);
    const fZero = betaPlaneGrid({ H, W, dxM: 100e3, dyM: 100e3, latCentreDeg: 45, f0PerS: 0 });
    expect(() => createBalancedBSqrt(fZero, st, qgBalance(), { lengthScalesM: 1e5 })).toThrow(
      /the Coriolis parameter f0 is 0: geostrophic balance needs a finite non-zero f0/,
    );
    expect(() =>
      createBalancedBSqrt(grid, st, qgBalance({ kind: 'f0', f0PerS: 0 }), { lengthScalesM: 1e5 }),
    ).toThrow(/f0 is 0/);
    expect(() =>
      createBalancedBSqrt(
        grid,
        st,
        {
          levels: [{ z: 0, u: 2 }],
          hydrostatic: [{ t: 0, zUpper: 1, zLower: 3, thicknessPerKelvin: RT }],
          channelStd: STD,
        },
        { lengthScalesM: 1e5 },
      ),
    ).toThrow(/channel 0 is both a geopotential \(source\) and hydrostatic\[0\]\.t/);
    expect(() =>
      createBalancedBSqrt(
        grid,
        st,
        { ...qgBalance(), channelStd: [1, 1, 1, 0, 1, 1, 1] },
        { lengthScalesM: 1e5 },
      ),
    ).toThrow(/channelStd\[3\] = 0 must be finite and > 0/);
  });
});

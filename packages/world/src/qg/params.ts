import { EARTH_OMEGA_PER_S, EARTH_RADIUS_M, GRAVITY_M_PER_S2 } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';

/**
 * Parameters of the two-layer (Phillips) quasi-geostrophic model. Equal layer depths; upper layer
 * centred at `pUpperHPa`, lower at `pLowerHPa`. Every default carries its reason (see README.md).
 */
export interface QgParams {
  /** Grid columns (x, east), a power of two. @defaultValue 64 — the dataset's output grid, run natively */
  readonly nx: number;
  /** Grid rows (y, north), a power of two. @defaultValue 32 — the dataset's output grid */
  readonly ny: number;
  /** Southern edge of the assigned latitudes, degrees. @defaultValue 20 */
  readonly latSouthDeg: number;
  /** Northern edge of the assigned latitudes, degrees. @defaultValue 70 — 50 deg of latitude = 5559 km */
  readonly latNorthDeg: number;
  /** Longitude span of the x period, degrees at the centre latitude. @defaultValue 180 — 14 150 km, room for 2-8 baroclinic waves */
  readonly lonSpanDeg: number;
  /** First baroclinic deformation radius rd (1/rd^2 = F1 + F2), m. @defaultValue 7.5e5 — mid-latitude troposphere, 700-1000 km */
  readonly deformationRadiusM: number;
  /** Imposed upper-layer mean zonal wind U1, m/s. @defaultValue 22 — upper-tropospheric westerlies */
  readonly uUpperMPerS: number;
  /**
   * Imposed lower-layer mean zonal wind U2, m/s. @defaultValue 5 — shear U1 - U2 = 17 m/s: ~31 K of layer
   * temperature across 50 deg of latitude, and 0.93 x the inviscid beta-critical shear 2 beta rd^2 = 18.2 m/s
   * (the mid-latitude troposphere sits near two-layer criticality, Stone 1978); the bottom drag makes it
   * unstable (Holopainen 1961) and keeps upper-level eddy winds near 15 m/s rms (20 m/s shear gave 24 m/s).
   */
  readonly uLowerMPerS: number;
  /** Linear bottom (Ekman) drag on the lower-layer perturbation vorticity, 1/s. @defaultValue 1/(2 days) — boundary-layer spin-down time */
  readonly dragPerS: number;
  /** e-folding time of the hyperviscosity (nabla^8) at the largest kept wavenumber, s (Infinity: off). @defaultValue 3 h */
  readonly hyperviscosityTimeS: number;
  /** Scale factor on beta = 2 Omega cos(lat0) / a at the centre latitude. @defaultValue 1 */
  readonly betaFactor: number;
  /** Fraction of the Nyquist wavenumber kept (square truncation); 2/3 makes products alias-free. @defaultValue 2/3 */
  readonly truncation: number;
  /** Time step, s. @defaultValue 3600 — eddy CFL |u|max k_max dt ~ 1.3 at 40 m/s, RK4 bound 2.8 */
  readonly dtS: number;
  /** Upper level pressure, hPa. @defaultValue 250 */
  readonly pUpperHPa: number;
  /** Lower level pressure, hPa. @defaultValue 750 */
  readonly pLowerHPa: number;
  /** Reference geopotential of the upper level, m2 s-2. @defaultValue g * 10 360 m (US standard atmosphere, 250 hPa) */
  readonly phiUpperRefM2PerS2: number;
  /** Reference geopotential of the lower level, m2 s-2. @defaultValue g * 2 470 m (US standard atmosphere, 750 hPa) */
  readonly phiLowerRefM2PerS2: number;
}

/** The nature run's parameters. */
export const DEFAULT_QG_PARAMS: QgParams = Object.freeze({
  nx: 64,
  ny: 32,
  latSouthDeg: 20,
  latNorthDeg: 70,
  lonSpanDeg: 180,
  deformationRadiusM: 7.5e5,
  uUpperMPerS: 22,
  uLowerMPerS: 5,
  dragPerS: 1 / (2 * 86_400),
  hyperviscosityTimeS: 3 * 3600,
  betaFactor: 1,
  truncation: 2 / 3,
  dtS: 3600,
  pUpperHPa: 250,
  pLowerHPa: 750,
  phiUpperRefM2PerS2: GRAVITY_M_PER_S2 * 10_360,
  phiLowerRefM2PerS2: GRAVITY_M_PER_S2 * 2_470,
});

/** Constants derived once from {@link QgParams}. */
export interface QgDerived {
  /** Centre latitude, degrees. */
  readonly lat0Deg: number;
  /** Coriolis parameter at the centre latitude, 1/s. */
  readonly f0PerS: number;
  /** Effective beta, 1/(m s). */
  readonly betaPerMS: number;
  /** Grid spacings, m. */
  readonly dxM: number;
  readonly dyM: number;
  /** Domain lengths (periods), m. */
  readonly lxM: number;
  readonly lyM: number;
  /** Layer coupling F1 = F2 = 1/(2 rd^2), 1/m^2 (equal layers). */
  readonly fCouplingPerM2: number;
  /** Largest kept wavenumber index in x and y. */
  readonly kxMax: number;
  readonly kyMax: number;
  /** Hyperviscosity coefficient nu in d q/dt = -nu nabla^8 q, m^8/s. */
  readonly nuM8PerS: number;
}

/** Validates `p` (DatasetError `OUT_OF_RANGE` naming the field) and derives the model constants. */
export function deriveQg(p: QgParams): QgDerived {
  const pow2 = (n: number): boolean => Number.isInteger(n) && n >= 8 && (n & (n - 1)) === 0;
  if (!pow2(p.nx) || !pow2(p.ny))
    throw new DatasetError('OUT_OF_RANGE', `qg: nx, ny must be powers of two >= 8, got ${p.nx} x ${p.ny}`);
  if (!(p.latNorthDeg > p.latSouthDeg))
    throw new DatasetError('OUT_OF_RANGE', 'qg: latNorthDeg must exceed latSouthDeg');
  for (const key of ['lonSpanDeg', 'deformationRadiusM', 'dtS', 'truncation'] as const) {
    if (!(p[key] > 0) || !Number.isFinite(p[key]))
      throw new DatasetError('OUT_OF_RANGE', `qg: ${key} must be positive, got ${p[key]}`);
  }
  // Infinity switches hyperviscosity off (nu = 0), e.g. for conservation tests.
  if (!(p.hyperviscosityTimeS > 0))
    throw new DatasetError(
      'OUT_OF_RANGE',
      `qg: hyperviscosityTimeS must be positive, got ${p.hyperviscosityTimeS}`,
    );
  if (!(p.dragPerS >= 0))
    throw new DatasetError('OUT_OF_RANGE', `qg: dragPerS must be >= 0, got ${p.dragPerS}`);
  const lat0Deg = 0.5 * (p.latSouthDeg + p.latNorthDeg);
  const lat0 = (lat0Deg * Math.PI) / 180;
  const lyM = (EARTH_RADIUS_M * (p.latNorthDeg - p.latSouthDeg) * Math.PI) / 180;
  const lxM = (EARTH_RADIUS_M * Math.cos(lat0) * p.lonSpanDeg * Math.PI) / 180;
  const kxMax = Math.floor((p.truncation * p.nx) / 2);
  const kyMax = Math.floor((p.truncation * p.ny) / 2);
  if (kxMax < 1 || kyMax < 1 || kxMax > p.nx / 2 - 1 || kyMax > p.ny / 2 - 1)
    throw new DatasetError(
      'OUT_OF_RANGE',
      `qg: truncation ${p.truncation} keeps no modes or the Nyquist mode`,
    );
  // Rate 1/tau at the smaller of the two largest kept wavenumbers (the field's finest isotropic scale).
  const kc = Math.min((2 * Math.PI * kxMax) / lxM, (2 * Math.PI * kyMax) / lyM);
  return {
    lat0Deg,
    f0PerS: 2 * EARTH_OMEGA_PER_S * Math.sin(lat0),
    betaPerMS: (p.betaFactor * 2 * EARTH_OMEGA_PER_S * Math.cos(lat0)) / EARTH_RADIUS_M,
    dxM: lxM / p.nx,
    dyM: lyM / p.ny,
    lxM,
    lyM,
    fCouplingPerM2: 1 / (2 * p.deformationRadiusM ** 2),
    kxMax,
    kyMax,
    nuM8PerS: 1 / (p.hyperviscosityTimeS * kc ** 8),
  };
}

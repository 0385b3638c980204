import { R_DRY_J_PER_KG_K } from '@alignda/tensor';
import type { BetaPlaneGrid, Field } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import { invertPv, pvFromPsi, zeroState } from './core.js';
import type { QgCore } from './core.js';

/** Channel names of a QG state, in order. */
export const QG_CHANNELS = ['z_upper', 'z_lower', 'u_upper', 'u_lower', 'v_upper', 'v_lower', 't'] as const;
/** Channel units (UDUNITS), aligned with {@link QG_CHANNELS}. */
export const QG_UNITS = ['m2 s-2', 'm2 s-2', 'm s-1', 'm s-1', 'm s-1', 'm s-1', 'K'] as const;

/**
 * The beta-plane grid of the model's output: rows at latitudes `latSouth + (j + 1/2) dlat`
 * (cell centres, increasing north), columns at longitudes `i * lonSpan / nx` east.
 */
export function qgGrid(core: QgCore): BetaPlaneGrid {
  const p = core.params;
  const d = core.derived;
  const dlat = (p.latNorthDeg - p.latSouthDeg) / p.ny;
  const latDeg = Float64Array.from({ length: p.ny }, (_, j) => p.latSouthDeg + (j + 0.5) * dlat);
  const lonDeg = Float64Array.from({ length: p.nx }, (_, i) => (i * p.lonSpanDeg) / p.nx);
  return {
    kind: 'beta-plane',
    latDeg,
    lonDeg,
    dxM: d.dxM,
    dyM: d.dyM,
    f0PerS: d.f0PerS,
    betaPerMS: d.betaPerMS,
    periodicLon: true,
  };
}

/** Distance of row j north of the domain centre, m. */
function rowY(core: QgCore, j: number): number {
  return (j + 0.5 - core.params.ny / 2) * core.derived.dyM;
}

/** `R_d ln(p_lower / p_upper)`: thickness per kelvin of layer temperature, J/(kg K). */
export function thicknessPerKelvin(core: QgCore): number {
  return R_DRY_J_PER_KG_K * Math.log(core.params.pLowerHPa / core.params.pUpperHPa);
}

/**
 * Physical channels of a spectral state, all exactly geostrophic and hydrostatic by construction:
 * `Phi_i = Phi_i,ref + f0 (psi_i - U_i (y - y_c))`, `u_i = U_i - d psi_i/dy`, `v_i = d psi_i/dx`
 * (spectral derivatives), `T = (Phi_upper - Phi_lower) / (R_d ln(p_lower / p_upper))`.
 * @param q - spectral PV, shape [2, ny, nkx, 2]
 * @returns a Field of shape [7, ny, nx] in {@link QG_CHANNELS} order
 */
export function qgToField(core: QgCore, q: Float64Array, grid: BetaPlaneGrid = qgGrid(core)): Field {
  const { nx, ny, uUpperMPerS, uLowerMPerS, phiUpperRefM2PerS2, phiLowerRefM2PerS2 } = core.params;
  const { f0PerS } = core.derived;
  const { fft, modes, kx, ky } = core;
  const hw = nx * ny;
  const psi = new Float64Array(4 * modes);
  invertPv(core, q, psi);
  const spec = new Float64Array(2 * modes);
  const phys = new Float64Array(hw);
  const data = new Float32Array(7 * hw); // [7, ny, nx]
  const phi = [new Float64Array(hw), new Float64Array(hw)];
  const uMean = [uUpperMPerS, uLowerMPerS];
  const phiRef = [phiUpperRefM2PerS2, phiLowerRefM2PerS2];
  for (let layer = 0; layer < 2; layer++) {
    const off = 2 * modes * layer;
    const U = uMean[layer] as number;
    fft.inverse(psi.subarray(off, off + 2 * modes), phys);
    const ph = phi[layer] as Float64Array;
    for (let j = 0; j < ny; j++) {
      const base = (phiRef[layer] as number) - f0PerS * U * rowY(core, j);
      for (let i = 0; i < nx; i++) ph[j * nx + i] = base + f0PerS * (phys[j * nx + i] as number);
    }
    data.set(ph, layer * hw);
    for (const [k, channel, sign, mean] of [
      [ky, 2 + layer, -1, U],
      [kx, 4 + layer, 1, 0],
    ] as const) {
      for (let m = 0; m < modes; m++) {
        spec[2 * m] = -(k[m] as number) * (psi[off + 2 * m + 1] as number);
        spec[2 * m + 1] = (k[m] as number) * (psi[off + 2 * m] as number);
      }
      fft.inverse(spec, phys);
      for (let p = 0; p < hw; p++) data[channel * hw + p] = mean + sign * (phys[p] as number);
    }
  }
  const rt = thicknessPerKelvin(core);
  for (let p = 0; p < hw; p++) data[6 * hw + p] = ((phi[0]?.[p] as number) - (phi[1]?.[p] as number)) / rt;
  return { data, shape: [7, ny, nx], channels: [...QG_CHANNELS], units: [...QG_UNITS], grid };
}

/**
 * The spectral state of a field in {@link QG_CHANNELS} order, from its geopotentials alone (u, v and T
 * are redundant): `psi_i = (Phi_i - Phi_i,ref) / f0 + U_i (y - y_c)`, truncated, then PV. Uses this
 * core's reference profile; models that read each other's fields must share `uUpper/LowerMPerS`,
 * the reference geopotentials, f0 and the grid.
 * @param field - shape [7, ny, nx] (only channels 0 and 1 are read)
 * @returns spectral PV, shape [2, ny, nkx, 2]
 */
export function qgFromField(core: QgCore, field: Field): Float64Array {
  const { nx, ny, uUpperMPerS, uLowerMPerS, phiUpperRefM2PerS2, phiLowerRefM2PerS2 } = core.params;
  const [c, h, w] = field.shape;
  if (h !== ny || w !== nx || c < 2 || field.channels[0] !== 'z_upper' || field.channels[1] !== 'z_lower')
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `qgFromField: expected [7, ${ny}, ${nx}] with z_upper, z_lower first, got [${field.shape.join(', ')}] (${field.channels.slice(0, 2).join(', ')})`,
    );
  const hw = nx * ny;
  const { f0PerS } = core.derived;
  const { modes } = core;
  const psi = zeroState(core);
  const phys = new Float64Array(hw);
  const uMean = [uUpperMPerS, uLowerMPerS];
  const phiRef = [phiUpperRefM2PerS2, phiLowerRefM2PerS2];
  for (let layer = 0; layer < 2; layer++) {
    for (let j = 0; j < ny; j++) {
      const add = (uMean[layer] as number) * rowY(core, j);
      for (let i = 0; i < nx; i++) {
        const p = j * nx + i;
        phys[p] = ((field.data[layer * hw + p] as number) - (phiRef[layer] as number)) / f0PerS + add;
      }
    }
    core.fft.forward(phys, psi.subarray(2 * modes * layer, 2 * modes * (layer + 1)));
  }
  const q = zeroState(core);
  pvFromPsi(core, psi, q);
  return q;
}

import { RealFft2 } from './spectral.js';
import { deriveQg } from './params.js';
import type { QgDerived, QgParams } from './params.js';

/**
 * Precomputed spectral geometry of one model configuration. A model state is the perturbation
 * potential vorticity of both layers in spectral space: `Float64Array` of shape [2, ny, nkx, 2]
 * (layer 0 = upper, 1 = lower; interleaved complex), with every mode outside the truncation zero.
 */
export interface QgCore {
  readonly params: QgParams;
  readonly derived: QgDerived;
  readonly fft: RealFft2;
  /** Complex entries per layer: ny * nkx. */
  readonly modes: number;
  /** x wavenumber per mode, rad/m, shape [ny, nkx]. */
  readonly kx: Float64Array;
  /** y wavenumber per mode, rad/m, shape [ny, nkx]. */
  readonly ky: Float64Array;
  /** |k|^2 per mode, shape [ny, nkx]. */
  readonly k2: Float64Array;
  /** 1 inside the square truncation (|i| <= kxMax, |j| <= kyMax), 0 outside, shape [ny, nkx]. */
  readonly mask: Uint8Array;
  /** Parseval weight of a half-spectrum mode (1 for i = 0 or nx/2, else 2) / (nx ny)^2, shape [ny, nkx]. */
  readonly parseval: Float64Array;
}

/** Builds the spectral geometry for `params` (validated by {@link deriveQg}). */
export function createQgCore(params: QgParams): QgCore {
  const derived = deriveQg(params);
  const { nx, ny } = params;
  const nkx = nx / 2 + 1;
  const fft = new RealFft2(nx, ny, derived.kxMax + 1);
  const modes = ny * nkx;
  const kx = new Float64Array(modes);
  const ky = new Float64Array(modes);
  const k2 = new Float64Array(modes);
  const mask = new Uint8Array(modes);
  const parseval = new Float64Array(modes);
  const n2 = (nx * ny) ** 2;
  for (let j = 0; j < ny; j++) {
    const jj = j <= ny / 2 ? j : j - ny;
    for (let i = 0; i < nkx; i++) {
      const m = j * nkx + i;
      kx[m] = (2 * Math.PI * i) / derived.lxM;
      ky[m] = (2 * Math.PI * jj) / derived.lyM;
      k2[m] = kx[m] ** 2 + ky[m] ** 2;
      mask[m] = i <= derived.kxMax && Math.abs(jj) <= derived.kyMax && !(i === 0 && jj === 0) ? 1 : 0;
      parseval[m] = (i === 0 || i === nx / 2 ? 1 : 2) / n2;
    }
  }
  return { params, derived, fft, modes, kx, ky, k2, mask, parseval };
}

/** A zero state of `core`: shape [2, ny, nkx, 2]. */
export function zeroState(core: QgCore): Float64Array {
  return new Float64Array(4 * core.modes);
}

/**
 * Inverts potential vorticity for streamfunction, mode by mode (equal layers, F = F1 = F2):
 * `q1 = -k^2 psi1 + F (psi2 - psi1)`, `q2 = -k^2 psi2 + F (psi1 - psi2)`; the mean mode is zero.
 * @param q - spectral PV, shape [2, ny, nkx, 2]
 * @param psi - spectral streamfunction out, same shape
 */
export function invertPv(core: QgCore, q: Float64Array, psi: Float64Array): void {
  const F = core.derived.fCouplingPerM2;
  const { modes, k2, mask } = core;
  const off = 2 * modes;
  for (let m = 0; m < modes; m++) {
    const r = 2 * m;
    if (mask[m] === 0) {
      psi[r] = psi[r + 1] = psi[off + r] = psi[off + r + 1] = 0;
      continue;
    }
    const K2 = k2[m] as number;
    const det = K2 * (K2 + 2 * F); // det [[-K2-F, F], [F, -K2-F]]
    const a = -(K2 + F) / det;
    const b = -F / det;
    const q1r = q[r] as number;
    const q1i = q[r + 1] as number;
    const q2r = q[off + r] as number;
    const q2i = q[off + r + 1] as number;
    psi[r] = a * q1r + b * q2r;
    psi[r + 1] = a * q1i + b * q2i;
    psi[off + r] = b * q1r + a * q2r;
    psi[off + r + 1] = b * q1i + a * q2i;
  }
}

/**
 * PV from streamfunction (the inverse of {@link invertPv}); modes outside the truncation are zeroed.
 * @param psi - spectral streamfunction, shape [2, ny, nkx, 2]
 * @param q - spectral PV out, same shape
 */
export function pvFromPsi(core: QgCore, psi: Float64Array, q: Float64Array): void {
  const F = core.derived.fCouplingPerM2;
  const { modes, k2, mask } = core;
  const off = 2 * modes;
  for (let m = 0; m < modes; m++) {
    const r = 2 * m;
    const keep = mask[m] as number;
    const K2 = k2[m] as number;
    for (let c = 0; c < 2; c++) {
      const p1 = psi[r + c] as number;
      const p2 = psi[off + r + c] as number;
      q[r + c] = keep * (-K2 * p1 + F * (p2 - p1));
      q[off + r + c] = keep * (-K2 * p2 + F * (p1 - p2));
    }
  }
}

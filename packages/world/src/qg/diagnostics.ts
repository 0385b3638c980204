import { invertPv } from './core.js';
import type { QgCore } from './core.js';

/**
 * Perturbation energy per unit mass, layer mean, J/kg:
 * `E = 1/4 <|grad psi1|^2 + |grad psi2|^2> + 1/4 F <(psi1 - psi2)^2>` (kinetic + available potential),
 * with `<.>` the domain mean (Parseval over the half spectrum). Conserved by the model when the mean
 * flow, drag and hyperviscosity are off.
 * @param q - spectral PV, shape [2, ny, nkx, 2]
 */
export function qgEnergy(
  core: QgCore,
  q: Float64Array,
): { kinetic: number; potential: number; total: number } {
  const { modes, k2, parseval } = core;
  const F = core.derived.fCouplingPerM2;
  const psi = new Float64Array(4 * modes);
  invertPv(core, q, psi);
  const off = 2 * modes;
  let ke = 0;
  let pe = 0;
  for (let m = 0; m < modes; m++) {
    const r = 2 * m;
    const w = parseval[m] as number;
    const a1 = (psi[r] as number) ** 2 + (psi[r + 1] as number) ** 2;
    const a2 = (psi[off + r] as number) ** 2 + (psi[off + r + 1] as number) ** 2;
    const d =
      ((psi[r] as number) - (psi[off + r] as number)) ** 2 +
      ((psi[r + 1] as number) - (psi[off + r + 1] as number)) ** 2;
    ke += w * (k2[m] as number) * (a1 + a2);
    pe += w * F * d;
  }
  return { kinetic: ke / 4, potential: pe / 4, total: (ke + pe) / 4 };
}

/**
 * Potential enstrophy of the perturbation PV, layer mean: `Z = 1/4 <q1^2 + q2^2>`, s^-2.
 * Conserved (the sum over layers) when the mean flow, drag and hyperviscosity are off, beta included.
 * @param q - spectral PV, shape [2, ny, nkx, 2]
 */
export function qgEnstrophy(core: QgCore, q: Float64Array): number {
  const { modes, parseval } = core;
  let z = 0;
  for (let m = 0; m < modes; m++) {
    const w = parseval[m] as number;
    for (const r of [2 * m, 2 * (modes + m)]) z += w * ((q[r] as number) ** 2 + (q[r + 1] as number) ** 2);
  }
  return z / 4;
}

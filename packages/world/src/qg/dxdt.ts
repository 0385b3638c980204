import { invertPv } from './core.js';
import type { QgCore } from './core.js';

/** A tendency: writes d q / dt of spectral state `q` (shape [2, ny, nkx, 2]) into `out`. */
export type QgTendency = (q: Float64Array, out: Float64Array) => void;

/**
 * The explicit part of the Phillips-model tendency (everything except mean advection and
 * hyperviscosity, which {@link createStep} integrates exactly with an integrating factor):
 *
 *     dq1/dt = -J(psi1, q1) - (beta + F (U1 - U2)) d psi1/dx
 *     dq2/dt = -J(psi2, q2) - (beta - F (U1 - U2)) d psi2/dx - r nabla^2 psi2
 *
 * q_i is the perturbation PV of layer i about the imposed flow U_i (psi_total = -U_i y + psi_i), F = 1/(2 rd^2),
 * r the bottom drag (Vallis 2017, Atmospheric and Oceanic Fluid Dynamics, sec. 5.6 and 9.4; the
 * pyqg two-layer model). J(psi, q) = u q_x + v q_y with u = -psi_y, v = psi_x is evaluated
 * pseudo-spectrally: 4 inverse + 1 forward 2-D FFT per layer, products dealiased by the truncation.
 */
export function createExplicitTendency(core: QgCore): QgTendency {
  const { fft, modes, kx, ky, k2, mask } = core;
  const { nx, ny, uUpperMPerS, uLowerMPerS, dragPerS } = core.params;
  const { betaPerMS, fCouplingPerM2: F } = core.derived;
  const qy = [betaPerMS + F * (uUpperMPerS - uLowerMPerS), betaPerMS - F * (uUpperMPerS - uLowerMPerS)];
  const drag = [0, dragPerS];
  const psi = new Float64Array(4 * modes);
  const spec = new Float64Array(2 * modes);
  const u = new Float64Array(nx * ny);
  const v = new Float64Array(nx * ny);
  const gx = new Float64Array(nx * ny);
  const gy = new Float64Array(nx * ny);
  const jac = new Float64Array(2 * modes);

  // spec = (i k) * src for one layer, k given per mode
  const derivative = (src: Float64Array, off: number, k: Float64Array, out: Float64Array): void => {
    for (let m = 0; m < modes; m++) {
      const km = k[m] as number;
      out[2 * m] = -km * (src[off + 2 * m + 1] as number);
      out[2 * m + 1] = km * (src[off + 2 * m] as number);
    }
  };

  return (q, out) => {
    invertPv(core, q, psi);
    for (let layer = 0; layer < 2; layer++) {
      const off = 2 * modes * layer;
      derivative(psi, off, ky, spec);
      fft.inverse(spec, u); // psi_y; u = -psi_y folded into the product below
      derivative(psi, off, kx, spec);
      fft.inverse(spec, v); // v = psi_x
      derivative(q, off, kx, spec);
      fft.inverse(spec, gx);
      derivative(q, off, ky, spec);
      fft.inverse(spec, gy);
      for (let p = 0; p < nx * ny; p++) {
        u[p] = -(u[p] as number) * (gx[p] as number) + (v[p] as number) * (gy[p] as number);
      }
      fft.forward(u, jac);
      const qyl = qy[layer] as number;
      const rl = drag[layer] as number;
      for (let m = 0; m < modes; m++) {
        const r = 2 * m;
        if (mask[m] === 0) {
          out[off + r] = out[off + r + 1] = 0;
          continue;
        }
        const pr = psi[off + r] as number;
        const pi = psi[off + r + 1] as number;
        const a = qyl * (kx[m] as number); // -(Qy) * (i kx psi)
        const d = rl * (k2[m] as number); // -r nabla^2 psi = r k^2 psi
        out[off + r] = -(jac[r] as number) + a * pi + d * pr;
        out[off + r + 1] = -(jac[r + 1] as number) - a * pr + d * pi;
      }
    }
  };
}

/**
 * The full tendency dq/dt: {@link createExplicitTendency} plus mean advection `-U_i dq_i/dx` and
 * hyperviscosity `-nu nabla^8 q_i`. For diagnostics and tests; the time stepper treats those two
 * linear terms exactly instead.
 */
export function createDxdt(core: QgCore): QgTendency {
  const explicit = createExplicitTendency(core);
  const { modes, kx, k2 } = core;
  const nu = core.derived.nuM8PerS;
  const uMean = [core.params.uUpperMPerS, core.params.uLowerMPerS];
  return (q, out) => {
    explicit(q, out);
    for (let layer = 0; layer < 2; layer++) {
      const off = 2 * modes * layer;
      const U = uMean[layer] as number;
      for (let m = 0; m < modes; m++) {
        const r = off + 2 * m;
        const a = U * (kx[m] as number);
        const damp = nu * (k2[m] as number) ** 4;
        const qr = q[r] as number;
        const qi = q[r + 1] as number;
        out[r] = (out[r] as number) + a * qi - damp * qr;
        out[r + 1] = (out[r + 1] as number) - a * qr - damp * qi;
      }
    }
  };
}

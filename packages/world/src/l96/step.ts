import { DatasetError } from '../dataset/dataset-error.js';
import { l96Dxdt } from './dxdt.js';
import { l96Params } from './params.js';
import type { L96Params } from './params.js';

/** Advances a Lorenz-96 state (length nx) by one time step, in place. */
export type L96Step = (x: Float64Array) => void;

/**
 * Classical fourth-order Runge-Kutta for {@link l96Dxdt} (as DAPPER's `mods/Lorenz96` integrates it): at dt = 0.05
 * the one-step error is far below the observation error and the scheme is stable on the attractor (|x| < ~15).
 * The returned step owns its work buffers: one per thread of use, and states must have length `nx`.
 * @param overrides - parameters over {@link DEFAULT_L96_PARAMS}
 */
export function createL96Step(overrides: Partial<L96Params> = {}): L96Step {
  const { nx, forcing, dt } = l96Params(overrides);
  const k1 = new Float64Array(nx);
  const k2 = new Float64Array(nx);
  const k3 = new Float64Array(nx);
  const k4 = new Float64Array(nx);
  const tmp = new Float64Array(nx);
  return (x) => {
    if (x.length !== nx)
      throw new DatasetError('SHAPE_MISMATCH', `l96 step: the state has ${x.length} values but nx = ${nx}`);
    l96Dxdt(x, k1, forcing);
    for (let i = 0; i < nx; i++) tmp[i] = (x[i] as number) + 0.5 * dt * (k1[i] as number);
    l96Dxdt(tmp, k2, forcing);
    for (let i = 0; i < nx; i++) tmp[i] = (x[i] as number) + 0.5 * dt * (k2[i] as number);
    l96Dxdt(tmp, k3, forcing);
    for (let i = 0; i < nx; i++) tmp[i] = (x[i] as number) + dt * (k3[i] as number);
    l96Dxdt(tmp, k4, forcing);
    for (let i = 0; i < nx; i++) {
      x[i] =
        (x[i] as number) +
        (dt / 6) * ((k1[i] as number) + 2 * (k2[i] as number) + 2 * (k3[i] as number) + (k4[i] as number));
    }
  };
}

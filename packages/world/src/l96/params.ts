import { DatasetError } from '../dataset/dataset-error.js';

/**
 * Parameters of the Lorenz-96 model (Lorenz 1996, "Predictability: a problem partly solved", ECMWF
 * Seminar on Predictability; Lorenz & Emanuel 1998, J. Atmos. Sci. 55). Every default carries its reason.
 */
export interface L96Params {
  /** Number of variables on the periodic ring. @defaultValue 40 — Lorenz & Emanuel 1998; DAPPER's sakov2008 */
  readonly nx: number;
  /** Constant forcing F. @defaultValue 8 — the chaotic regime every L96 DA benchmark uses (leading Lyapunov exponent ~1.7) */
  readonly forcing: number;
  /** Time step of one RK4 step, model time units. @defaultValue 0.05 — "6 hours" in Lorenz's scaling; DAPPER's dt */
  readonly dt: number;
}

/** The defaults of {@link L96Params}: N = 40, F = 8, dt = 0.05. */
export const DEFAULT_L96_PARAMS: L96Params = Object.freeze({ nx: 40, forcing: 8, dt: 0.05 });

/**
 * Fills the defaults and checks the values: at least 4 variables (the stencil reaches i - 2 and i + 1), a finite
 * forcing, a finite positive time step.
 */
export function l96Params(overrides: Partial<L96Params> = {}): L96Params {
  const p = { ...DEFAULT_L96_PARAMS, ...overrides };
  if (!Number.isInteger(p.nx) || p.nx < 4)
    throw new DatasetError('OUT_OF_RANGE', `l96: nx must be an integer >= 4, got ${p.nx}`);
  if (!Number.isFinite(p.forcing))
    throw new DatasetError('OUT_OF_RANGE', `l96: forcing must be finite, got ${p.forcing}`);
  if (!(p.dt > 0) || !Number.isFinite(p.dt))
    throw new DatasetError('OUT_OF_RANGE', `l96: dt must be finite and > 0, got ${p.dt}`);
  return Object.freeze(p);
}

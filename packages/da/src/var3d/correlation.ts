/** Correlation function of distance: Gaussian exp(-d^2 / 2L^2) or SOAR (1 + d/L) exp(-d/L). */
export type CorrelationKind = 'gaussian' | 'soar';

/** The spatial correlation model of B. */
export interface CorrelationModel {
  /** @defaultValue 'gaussian' */
  readonly kind?: CorrelationKind;
  /** Length scale L in metres, > 0. */
  readonly lengthScaleM: number;
}

/** Value of the correlation function at distance d (metres) for length scale L (metres). */
export function correlation(kind: CorrelationKind, d: number, L: number): number {
  const r = d / L;
  return kind === 'gaussian' ? Math.exp(-0.5 * r * r) : (1 + r) * Math.exp(-r);
}

/**
 * The Gaspari-Cohn correlation function (Gaspari & Cohn 1999, Q. J. R. Meteorol. Soc. 125, eq. 4.10): the
 * compactly supported, 5th-order piecewise rational function that approximates a Gaussian. With z = |d| / c,
 *
 *   z <= 1:      -1/4 z^5 + 1/2 z^4 + 5/8 z^3 - 5/3 z^2 + 1
 *   1 < z <= 2:  1/12 z^5 - 1/2 z^4 + 5/8 z^3 + 5/3 z^2 - 5 z + 4 - 2/3 z^-1
 *   z > 2:       0
 *
 * It is 1 at 0, falls to 0 at the support 2c and stays there, and is continuous with continuous first and second
 * derivatives. Near 0 it is 1 - 5/3 (d/c)^2, the Gaussian exp(-d^2 / 2L^2) of length L = c sqrt(3/10).
 * @param distance - distance d, any units
 * @param halfWidth - c > 0 in the same units (Infinity: 1 everywhere)
 */
export function gaspariCohn(distance: number, halfWidth: number): number {
  const z = Math.abs(distance) / halfWidth;
  if (z <= 1) return (((-0.25 * z + 0.5) * z + 5 / 8) * z - 5 / 3) * z * z + 1;
  // Clamped: round-off leaves ~-6e-17 just inside 2c, and a localisation weight must never be negative.
  if (z < 2) return Math.max(0, ((((z / 12 - 0.5) * z + 5 / 8) * z + 5 / 3) * z - 5) * z + 4 - 2 / (3 * z));
  return 0;
}

/** Gaspari-Cohn half-width c of the Gaussian length L that matches it at the origin: c = L sqrt(10/3). */
export function gaspariCohnHalfWidth(gaussianLength: number): number {
  return gaussianLength * Math.sqrt(10 / 3);
}

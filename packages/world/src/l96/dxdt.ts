/**
 * The advection term of Lorenz-96 alone, (x_{i+1} - x_{i-2}) x_{i-1}, on the periodic ring. It conserves
 * sum_i x_i^2 (its contribution to d/dt sum x_i^2 telescopes to zero), which the tests check.
 * @param x - state, length nx >= 4
 * @param out - length nx, overwritten
 */
export function l96Advection(x: Float64Array, out: Float64Array): Float64Array {
  const n = x.length;
  for (let i = 0; i < n; i++) {
    const xp1 = x[(i + 1) % n] as number;
    const xm1 = x[(i + n - 1) % n] as number;
    const xm2 = x[(i + n - 2) % n] as number;
    out[i] = (xp1 - xm2) * xm1;
  }
  return out;
}

/**
 * The Lorenz-96 tendency (Lorenz 1996): dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F, indices modulo nx:
 * advection, linear damping and constant forcing. The rest state x_i = F has zero tendency.
 * @param x - state, length nx >= 4
 * @param out - length nx, overwritten (must not alias `x`)
 * @param forcing - F
 */
export function l96Dxdt(x: Float64Array, out: Float64Array, forcing: number): Float64Array {
  const n = x.length;
  // The interior without modulo (the hot loop of every ensemble forecast), the three wrapped points apart.
  for (let i = 2; i < n - 1; i++) {
    out[i] =
      ((x[i + 1] as number) - (x[i - 2] as number)) * (x[i - 1] as number) - (x[i] as number) + forcing;
  }
  for (const i of [0, 1, n - 1]) {
    const xp1 = x[(i + 1) % n] as number;
    const xm1 = x[(i + n - 1) % n] as number;
    const xm2 = x[(i + n - 2) % n] as number;
    out[i] = (xp1 - xm2) * xm1 - (x[i] as number) + forcing;
  }
  return out;
}

import { dot } from '@alignda/tensor';

/** Options of {@link conjugateGradient}. */
export interface CgOptions {
  /** Stop when ||r|| <= tol ||b||. @defaultValue 1e-8 (analysis increments to ~8 digits; far below obs noise) */
  readonly tol?: number;
  /** Iteration cap. @defaultValue 500 */
  readonly maxIter?: number;
}

/** Result of {@link conjugateGradient}. */
export interface CgResult {
  readonly x: Float64Array;
  readonly iterations: number;
  /** ||b - A x_k|| for k = 0..iterations. */
  readonly residualNorms: number[];
  /** q(x_k) = x_k^T A x_k / 2 - b^T x_k for k = 0..iterations (non-increasing in exact arithmetic). */
  readonly quadratic: number[];
  readonly converged: boolean;
}

/**
 * Conjugate gradients for A x = b with A symmetric positive definite, from x_0 = 0
 * (Hestenes & Stiefel 1952; Nocedal & Wright, Numerical Optimization, Algorithm 5.2).
 * @param applyA - x -> A x
 * @param b - right-hand side, length n
 */
export function conjugateGradient(
  applyA: (x: Float64Array) => Float64Array,
  b: Float64Array,
  options: CgOptions = {},
): CgResult {
  const tol = options.tol ?? 1e-8;
  const maxIter = options.maxIter ?? 500;
  const n = b.length;
  const x = new Float64Array(n);
  const r = Float64Array.from(b);
  const p = Float64Array.from(b);
  let rr = dot(r, r);
  const bNorm = Math.sqrt(rr);
  const residualNorms = [bNorm];
  const quadratic = [0];
  let k = 0;
  while (k < maxIter && Math.sqrt(rr) > tol * bNorm) {
    const Ap = applyA(p);
    const pAp = dot(p, Ap);
    if (!(pAp > 0)) break; // A is not positive definite along p (or p = 0): stop with the current x
    const a = rr / pAp;
    for (let i = 0; i < n; i++) {
      x[i] = (x[i] as number) + a * (p[i] as number);
      r[i] = (r[i] as number) - a * (Ap[i] as number);
    }
    const rrNew = dot(r, r);
    const beta = rrNew / rr;
    for (let i = 0; i < n; i++) p[i] = (r[i] as number) + beta * (p[i] as number);
    rr = rrNew;
    k++;
    residualNorms.push(Math.sqrt(rr));
    // q(x) = -(b^T x + r^T x) / 2 since A x = b - r.
    quadratic.push(-0.5 * (dot(b, x) + dot(r, x)));
  }
  return { x, iterations: k, residualNorms, quadratic, converged: Math.sqrt(rr) <= tol * bNorm };
}

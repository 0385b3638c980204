/**
 * Small dense float64 linear algebra (row-major n x n matrices) for covariance square roots,
 * closed-form Gaussian posteriors and the ensemble transform. Sizes here are grid rows/columns,
 * ensemble sizes or test dimensions (<= a few hundred), so O(n^3) methods are fine.
 */

import { invalidArgument } from './errors.js';

/** Symmetric eigen-decomposition by cyclic Jacobi rotations: A = V diag(values) V^T, V columns = vectors. */
export function symEig(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const A = Float64Array.from(a);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < n; p++) {
      diag += (A[p * n + p] as number) ** 2;
      for (let q = p + 1; q < n; q++) off += (A[p * n + q] as number) ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q] as number;
        if (apq === 0) continue;
        const app = A[p * n + p] as number;
        const aqq = A[q * n + q] as number;
        // Golub & Van Loan, Algorithm 8.5.1 (symmetric Schur decomposition).
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p] as number;
          const akq = A[k * n + q] as number;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k] as number;
          const aqk = A[q * n + k] as number;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p] as number;
          const vkq = V[k * n + q] as number;
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = A[i * n + i] as number;
  return { values, vectors: V };
}

/** V diag(f(values)) V^T for a symmetric matrix given by its eigen-decomposition. */
export function symFunction(
  eig: { values: Float64Array; vectors: Float64Array },
  n: number,
  f: (lambda: number) => number,
): Float64Array {
  const { values, vectors: V } = eig;
  const fv = values.map(f);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++)
        s += (V[i * n + k] as number) * (fv[k] as number) * (V[j * n + k] as number);
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/** Symmetric positive semi-definite square root, negative eigenvalues (round-off) clipped to 0. */
export function symSqrt(a: Float64Array, n: number): Float64Array {
  return symFunction(symEig(a, n), n, (l) => Math.sqrt(Math.max(l, 0)));
}

/** Lower Cholesky factor L with A = L L^T; throws when A is not positive definite. */
export function cholesky(a: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j] as number;
    for (let k = 0; k < j; k++) d -= (L[j * n + k] as number) ** 2;
    if (!(d > 0)) throw invalidArgument('cholesky', `matrix is not positive definite (pivot ${j} = ${d})`);
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (L[i * n + k] as number) * (L[j * n + k] as number);
      L[i * n + j] = s / ljj;
    }
  }
  return L;
}

/** Solves A X = B given the Cholesky factor L of A; B is n x m row-major (m = 1 for a vector). */
export function choleskySolve(L: Float64Array, n: number, b: Float64Array, m = 1): Float64Array {
  const x = Float64Array.from(b);
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = x[i * m + c] as number;
      for (let k = 0; k < i; k++) s -= (L[i * n + k] as number) * (x[k * m + c] as number);
      x[i * m + c] = s / (L[i * n + i] as number);
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i * m + c] as number;
      for (let k = i + 1; k < n; k++) s -= (L[k * n + i] as number) * (x[k * m + c] as number);
      x[i * m + c] = s / (L[i * n + i] as number);
    }
  }
  return x;
}

/** C = A B with A p x q and B q x r, row-major. */
export function matMul(a: Float64Array, b: Float64Array, p: number, q: number, r: number): Float64Array {
  const c = new Float64Array(p * r);
  for (let i = 0; i < p; i++) {
    for (let k = 0; k < q; k++) {
      const aik = a[i * q + k] as number;
      if (aik === 0) continue;
      for (let j = 0; j < r; j++) c[i * r + j] = (c[i * r + j] as number) + aik * (b[k * r + j] as number);
    }
  }
  return c;
}

/** Transpose of a p x q row-major matrix. */
export function transpose(a: Float64Array, p: number, q: number): Float64Array {
  const t = new Float64Array(p * q);
  for (let i = 0; i < p; i++) for (let j = 0; j < q; j++) t[j * p + i] = a[i * q + j] as number;
  return t;
}

/** y = A x with A p x q. */
export function matVec(
  a: Float64Array,
  x: ArrayLike<number>,
  p: number,
  q: number,
  out = new Float64Array(p),
): Float64Array {
  for (let i = 0; i < p; i++) {
    let s = 0;
    for (let k = 0; k < q; k++) s += (a[i * q + k] as number) * (x[k] as number);
    out[i] = s;
  }
  return out;
}

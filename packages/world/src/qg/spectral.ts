import FFT from 'fft.js';

import { DatasetError } from '../dataset/dataset-error.js';

/** The part of fft.js we use: complex transforms on interleaved (re, im) arrays; the inverse divides by n. */
interface ComplexFft {
  transform(out: Float64Array, data: Float64Array): void;
  inverseTransform(out: Float64Array, data: Float64Array): void;
}
// fft.js ships `any` typings; this is the one place we narrow them.
const ComplexFftCtor = FFT as unknown as new (size: number) => ComplexFft;

/**
 * A reusable real 2-D FFT on an `ny x nx` row-major grid (both powers of two), built from fft.js
 * complex transforms: rows are transformed two at a time packed as one complex row (a + i b), then
 * the `nkx = nx/2 + 1` non-negative-x-wavenumber columns are transformed as complex columns.
 *
 * Spectral layout: interleaved complex, shape [ny, nkx, 2]; row j holds y-wavenumber index j
 * (j > ny/2 are negative), column i holds x-wavenumber index i. Forward is unnormalised
 * (`F[l,k] = sum f[y,x] exp(-2 pi i (k x / nx + l y / ny))`); inverse divides by `nx * ny`.
 *
 * Columns `i >= keepCols` are neither computed (forward) nor read (inverse): the model zeroes them
 * by its truncation, which saves a third of the column transforms.
 */
export class RealFft2 {
  readonly nx: number;
  readonly ny: number;
  readonly nkx: number;
  readonly keepCols: number;
  private readonly rowFft: ComplexFft;
  private readonly colFft: ComplexFft;
  private readonly rowIn: Float64Array;
  private readonly rowOut: Float64Array;
  private readonly colIn: Float64Array;
  private readonly colOut: Float64Array;
  private readonly work: Float64Array;

  /**
   * @param nx - columns (x points), a power of two >= 4
   * @param ny - rows (y points), a power of two >= 4
   * @param keepCols - x-wavenumber columns carried, 1..nx/2+1 @defaultValue nx/2+1 (all)
   */
  constructor(nx: number, ny: number, keepCols = nx / 2 + 1) {
    const pow2 = (n: number): boolean => Number.isInteger(n) && n >= 4 && (n & (n - 1)) === 0;
    if (!pow2(nx) || !pow2(ny))
      throw new DatasetError(
        'OUT_OF_RANGE',
        `RealFft2: nx and ny must be powers of two >= 4, got ${nx} x ${ny}`,
      );
    if (!Number.isInteger(keepCols) || keepCols < 1 || keepCols > nx / 2 + 1)
      throw new DatasetError(
        'OUT_OF_RANGE',
        `RealFft2: keepCols must be in 1..${nx / 2 + 1}, got ${keepCols}`,
      );
    this.nx = nx;
    this.ny = ny;
    this.nkx = nx / 2 + 1;
    this.keepCols = keepCols;
    this.rowFft = new ComplexFftCtor(nx);
    this.colFft = new ComplexFftCtor(ny);
    this.rowIn = new Float64Array(2 * nx);
    this.rowOut = new Float64Array(2 * nx);
    this.colIn = new Float64Array(2 * ny);
    this.colOut = new Float64Array(2 * ny);
    this.work = new Float64Array(2 * ny * this.nkx);
  }

  /** Spectral array length: `ny * nkx * 2`. */
  get specLength(): number {
    return 2 * this.ny * this.nkx;
  }

  /**
   * Forward transform.
   * @param f - real field, shape [ny, nx]
   * @param out - spectrum, shape [ny, nkx, 2]; columns >= keepCols are set to zero
   */
  forward(f: Float64Array, out: Float64Array): void {
    const { nx, ny, nkx, keepCols, rowIn, rowOut, colIn, colOut } = this;
    for (let j = 0; j < ny; j += 2) {
      const a = j * nx;
      const b = a + nx;
      for (let m = 0; m < nx; m++) {
        rowIn[2 * m] = f[a + m] as number; // [nx, 2]: row j as real part
        rowIn[2 * m + 1] = f[b + m] as number; // row j+1 as imaginary part
      }
      this.rowFft.transform(rowOut, rowIn);
      const oa = 2 * j * nkx;
      const ob = oa + 2 * nkx;
      for (let k = 0; k < nkx; k++) {
        if (k >= keepCols) {
          out[oa + 2 * k] = 0;
          out[oa + 2 * k + 1] = 0;
          out[ob + 2 * k] = 0;
          out[ob + 2 * k + 1] = 0;
          continue;
        }
        const kc = (nx - k) % nx;
        const zr = rowOut[2 * k] as number;
        const zi = rowOut[2 * k + 1] as number;
        const cr = rowOut[2 * kc] as number; // conj(Z[nx-k]) = (cr, -ci)
        const ci = -(rowOut[2 * kc + 1] as number);
        // A = (Z + conj Zc) / 2, B = (Z - conj Zc) / (2 i)
        out[oa + 2 * k] = 0.5 * (zr + cr);
        out[oa + 2 * k + 1] = 0.5 * (zi + ci);
        out[ob + 2 * k] = 0.5 * (zi - ci);
        out[ob + 2 * k + 1] = -0.5 * (zr - cr);
      }
    }
    for (let k = 0; k < keepCols; k++) {
      for (let j = 0; j < ny; j++) {
        colIn[2 * j] = out[2 * (j * nkx + k)] as number;
        colIn[2 * j + 1] = out[2 * (j * nkx + k) + 1] as number;
      }
      this.colFft.transform(colOut, colIn);
      for (let j = 0; j < ny; j++) {
        out[2 * (j * nkx + k)] = colOut[2 * j] as number;
        out[2 * (j * nkx + k) + 1] = colOut[2 * j + 1] as number;
      }
    }
  }

  /**
   * Inverse transform (includes the 1/(nx ny) factor). The spectrum must be Hermitian-consistent
   * (that of a real field); `spec` is not modified.
   * @param spec - spectrum, shape [ny, nkx, 2]
   * @param out - real field, shape [ny, nx]
   */
  inverse(spec: Float64Array, out: Float64Array): void {
    const { nx, ny, nkx, keepCols, rowIn, rowOut, colIn, colOut, work } = this;
    for (let k = 0; k < keepCols; k++) {
      for (let j = 0; j < ny; j++) {
        colIn[2 * j] = spec[2 * (j * nkx + k)] as number;
        colIn[2 * j + 1] = spec[2 * (j * nkx + k) + 1] as number;
      }
      this.colFft.inverseTransform(colOut, colIn);
      for (let j = 0; j < ny; j++) {
        work[2 * (j * nkx + k)] = colOut[2 * j] as number;
        work[2 * (j * nkx + k) + 1] = colOut[2 * j + 1] as number;
      }
    }
    const half = nx / 2;
    for (let j = 0; j < ny; j += 2) {
      const wa = 2 * j * nkx;
      const wb = wa + 2 * nkx;
      rowIn.fill(0);
      for (let k = 0; k < keepCols; k++) {
        const ar = work[wa + 2 * k] as number;
        const ai = work[wa + 2 * k + 1] as number;
        const br = work[wb + 2 * k] as number;
        const bi = work[wb + 2 * k + 1] as number;
        // Z[k] = A[k] + i B[k]; for the mirrored index Z[nx-k] = conj(A[k]) + i conj(B[k]).
        rowIn[2 * k] = ar - bi;
        rowIn[2 * k + 1] = ai + br;
        if (k > 0 && k < half) {
          const m = nx - k;
          rowIn[2 * m] = ar + bi;
          rowIn[2 * m + 1] = -ai + br;
        }
      }
      this.rowFft.inverseTransform(rowOut, rowIn);
      const a = j * nx;
      const b = a + nx;
      for (let m = 0; m < nx; m++) {
        out[a + m] = rowOut[2 * m] as number;
        out[b + m] = rowOut[2 * m + 1] as number;
      }
    }
  }
}

/** Complex FFTs of one 2-D real transform, by the 5 N log2 N convention (a real row FFT counts half). */
export function fft2Flops(nx: number, ny: number, keepCols = nx / 2 + 1): number {
  const rows = (ny / 2) * 5 * nx * Math.log2(nx); // ny/2 packed complex row FFTs of size nx
  const cols = keepCols * 5 * ny * Math.log2(ny);
  return rows + cols;
}

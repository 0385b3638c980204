import type { Tensor } from './field.js';
import { gridHeight, gridWidth, northingM, zonalSpacingM } from './grid.js';
import type { Grid } from './grid.js';
import { checkTensor, fmtShape, shapeSize } from './internal/shape.js';
import type { FloatArray } from './internal/shape.js';
import { TensorError } from './tensor-error.js';

/** Options of {@link ddx} and {@link ddy}. */
export interface DerivativeOptions<TOut extends FloatArray> {
  /**
   * Output buffer, length of the input.
   * @defaultValue a new Float64Array (derivatives of float32 data keep their digits)
   */
  readonly out?: TOut;
}

/**
 * Eastward derivative d/dx in units of the input per metre, second-order accurate everywhere.
 * Interior and periodic columns: centred, (f[j+1] - f[j-1]) / (2 dx). Non-periodic edge columns:
 * second-order one-sided, (-3 f[0] + 4 f[1] - f[2]) / (2 dx) and its mirror. dx = R cos(lat) dlon per
 * row on lat-lon grids (rows at a pole, where dx = 0, get NaN), dxM on beta-plane grids.
 * @param f - shape [..., H, W] on `grid`; leading axes are independent slabs
 * @returns shape of `f`
 * @throws TensorError `SHAPE_MISMATCH` when the trailing axes are not [H, W] or W < 3
 */
export function ddx<TOut extends FloatArray = Float64Array>(
  f: Tensor<FloatArray>,
  grid: Grid,
  options: DerivativeOptions<TOut> = {},
): Tensor<TOut> {
  const { H, W, slabs, out } = prepare('ddx', f, grid, options.out);
  if (W < 3) throw new TensorError('SHAPE_MISMATCH', `ddx: need at least 3 columns, grid is [${H}, ${W}]`);
  const dx = zonalSpacingM(grid);
  const a = f.data;
  for (let s = 0; s < slabs; s++) {
    for (let i = 0; i < H; i++) {
      const o = (s * H + i) * W;
      const dxi = dx[i] as number;
      if (dxi === 0) {
        out.fill(NaN, o, o + W);
        continue;
      }
      const inv2dx = 1 / (2 * dxi);
      for (let j = 1; j < W - 1; j++)
        out[o + j] = ((a[o + j + 1] as number) - (a[o + j - 1] as number)) * inv2dx;
      const f0 = a[o] as number;
      const f1 = a[o + 1] as number;
      const fl = a[o + W - 1] as number;
      const fl1 = a[o + W - 2] as number;
      if (grid.periodicLon) {
        out[o] = (f1 - fl) * inv2dx;
        out[o + W - 1] = (f0 - fl1) * inv2dx;
      } else {
        out[o] = (-3 * f0 + 4 * f1 - (a[o + 2] as number)) * inv2dx;
        out[o + W - 1] = (3 * fl - 4 * fl1 + (a[o + W - 3] as number)) * inv2dx;
      }
    }
  }
  return { data: out, shape: [...f.shape] };
}

/**
 * Northward derivative d/dy in units of the input per metre, second-order accurate everywhere: the
 * derivative of the quadratic through three rows (the centred difference on even spacing; second-order
 * one-sided on the first and last rows). The row coordinate is y = R lat on lat-lon grids, so descending
 * latitudes and uneven (e.g. Gaussian) spacing are handled, and y = i dyM on beta-plane grids.
 * @param f - shape [..., H, W] on `grid`; leading axes are independent slabs
 * @returns shape of `f`
 * @throws TensorError `SHAPE_MISMATCH` when the trailing axes are not [H, W] or H < 3
 */
export function ddy<TOut extends FloatArray = Float64Array>(
  f: Tensor<FloatArray>,
  grid: Grid,
  options: DerivativeOptions<TOut> = {},
): Tensor<TOut> {
  const { H, W, slabs, out } = prepare('ddy', f, grid, options.out);
  if (H < 3) throw new TensorError('SHAPE_MISMATCH', `ddy: need at least 3 rows, grid is [${H}, ${W}]`);
  const y = northingM(grid);
  const a = f.data;
  for (let i = 0; i < H; i++) {
    // The three rows the stencil of row i uses: centred inside, shifted inwards at the edges.
    const r = Math.min(Math.max(i - 1, 0), H - 3);
    const [c0, c1, c2] = quadraticSlopeWeights(
      y[r] as number,
      y[r + 1] as number,
      y[r + 2] as number,
      y[i] as number,
    );
    for (let s = 0; s < slabs; s++) {
      const o = s * H * W;
      const p0 = o + r * W;
      const p1 = p0 + W;
      const p2 = p1 + W;
      const q = o + i * W;
      for (let j = 0; j < W; j++) {
        out[q + j] = c0 * (a[p0 + j] as number) + c1 * (a[p1 + j] as number) + c2 * (a[p2 + j] as number);
      }
    }
  }
  return { data: out, shape: [...f.shape] };
}

/** Weights (c0, c1, c2) with p'(x) = c0 f0 + c1 f1 + c2 f2 for the quadratic p through (x_k, f_k). */
function quadraticSlopeWeights(x0: number, x1: number, x2: number, x: number): [number, number, number] {
  return [
    (2 * x - x1 - x2) / ((x0 - x1) * (x0 - x2)),
    (2 * x - x0 - x2) / ((x1 - x0) * (x1 - x2)),
    (2 * x - x0 - x1) / ((x2 - x0) * (x2 - x1)),
  ];
}

function prepare<TOut extends FloatArray>(
  fn: string,
  f: Tensor<FloatArray>,
  grid: Grid,
  out: TOut | undefined,
): { H: number; W: number; slabs: number; out: TOut } {
  checkTensor(fn, 'f', f);
  const H = gridHeight(grid);
  const W = gridWidth(grid);
  const s = f.shape;
  if (s.length < 2 || s[s.length - 2] !== H || s[s.length - 1] !== W) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `${fn}: f has shape ${fmtShape(s)} but the grid is ${fmtShape([H, W])}`,
    );
  }
  const n = shapeSize(s);
  if (out !== undefined && out.length !== n) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `${fn}: out has length ${out.length} but f has shape ${fmtShape(s)}`,
    );
  }
  return { H, W, slabs: n / (H * W), out: out ?? (new Float64Array(n) as TOut) };
}

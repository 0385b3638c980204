import type { Shape, Value } from '../types.js';

/**
 * The `GraphBuilder` operations the fold uses. Declared here, not imported, because the builder imports this
 * module: a structural interface keeps the two files out of an import cycle.
 */
export interface FoldOps {
  constant(data: Float32Array | Float64Array, shape: Shape, dtype: 'float32' | 'float64'): Value;
  matmul(a: Value, b: Value): Value;
  reshape(x: Value, shape: readonly number[]): Value;
  transpose(x: Value, perm: readonly number[]): Value;
  convTranspose(
    x: Value,
    w: Value,
    bias: Value | undefined,
    o: { readonly strides: readonly number[]; readonly pads: readonly number[] },
  ): Value;
}

/**
 * Kernel rows of the equivalent transposed conv: output row `2i + a` of a 3x3 conv (pad 1) on a nearest x2 upsampled
 * input reads low-resolution rows `i - 1` (kernel row 0; a = 0), `i` (rows 1+2 when a = 0, rows 0+1 when a = 1) and
 * `i + 1` (row 2; a = 1). A ConvTranspose with stride 2, pad 1 and a 4-tap kernel places input row `i` at output rows
 * `2i - 1 + t` (t = 0..3), so its taps are the sums below: `FOLD[t][k]` = 1 when 3x3 kernel row k contributes to tap t.
 */
const FOLD = [
  [0, 0, 1],
  [0, 1, 1],
  [1, 1, 0],
  [1, 0, 0],
] as const;

const fold = (t: number, k: number): number => FOLD[t]?.[k] ?? 0;

/**
 * `Conv3x3(pad 1)(UpsampleNearest x2(x))` as one ConvTranspose (stride 2, pads 1, 4x4 kernel) of the low-resolution
 * input: 16 instead of 36 multiply-adds per low-resolution pixel and channel pair, and no upsampled tensor. The
 * gradient rules of ConvTranspose make the backward pass cheaper by the same factor; the weight gradient reaches the
 * 3x3 kernel through the constant fold matrix.
 * @param b - the builder that receives the nodes
 * @param x - low-resolution input `[N, C, h, w]` (the Resize's input)
 * @param w - conv weight `[M, C, 3, 3]`
 * @param bias - optional `[M]`
 * @returns `[N, M, 2h, 2w]`
 */
export function upsample2Conv3x3(b: FoldOps, x: Value, w: Value, bias: Value | undefined): Value {
  const [m = 0, c = 0] = w.shape;
  const dtype = w.dtype === 'float64' ? 'float64' : 'float32';
  // folded[(kh, kw), (th, tw)] = FOLD[th][kh] * FOLD[tw][kw]
  const folded = dtype === 'float64' ? new Float64Array(9 * 16) : new Float32Array(9 * 16);
  for (let kh = 0; kh < 3; kh++)
    for (let kw = 0; kw < 3; kw++)
      for (let th = 0; th < 4; th++)
        for (let tw = 0; tw < 4; tw++) folded[(kh * 3 + kw) * 16 + th * 4 + tw] = fold(th, kh) * fold(tw, kw);
  const wt = b.reshape(
    b.matmul(b.reshape(b.transpose(w, [1, 0, 2, 3]), [c * m, 9]), b.constant(folded, [9, 16], dtype)),
    [c, m, 4, 4],
  );
  return b.convTranspose(x, wt, bias, { strides: [2, 2], pads: [1, 1, 1, 1] });
}

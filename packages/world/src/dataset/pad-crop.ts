/**
 * Centred padding/cropping of a stored grid [srcH, srcW] onto the model grid [dstH, dstW].
 * Target cell (r, c) holds source cell (r - rowOffset, c - colOffset) when that is inside the source.
 */
export interface Placement {
  readonly srcH: number;
  readonly srcW: number;
  readonly dstH: number;
  readonly dstW: number;
  /** floor((dstH - srcH) / 2): positive pads (source starts lower), negative crops. */
  readonly rowOffset: number;
  /** floor((dstW - srcW) / 2). */
  readonly colOffset: number;
}

/** Centred placement of a source grid in a target grid (identity when the shapes agree). */
export function centredPlacement(srcH: number, srcW: number, dstH = srcH, dstW = srcW): Placement {
  return {
    srcH,
    srcW,
    dstH,
    dstW,
    rowOffset: Math.floor((dstH - srcH) / 2),
    colOffset: Math.floor((dstW - srcW) / 2),
  };
}

/**
 * Valid-area mask of the target grid: 1 where the cell holds a source value, 0 where padded.
 * @returns mask, shape [dstH, dstW]
 */
export function placementMask(p: Placement): Uint8Array {
  const mask = new Uint8Array(p.dstH * p.dstW);
  for (let r = 0; r < p.dstH; r++) {
    const sr = r - p.rowOffset;
    if (sr < 0 || sr >= p.srcH) continue;
    for (let c = 0; c < p.dstW; c++) {
      const sc = c - p.colOffset;
      if (sc >= 0 && sc < p.srcW) mask[r * p.dstW + c] = 1;
    }
  }
  return mask;
}

/**
 * Writes one source map onto the target grid.
 * @param src - source map, shape [srcH, srcW]
 * @param out - target buffer; the map is written at `out[outOffset .. outOffset + dstH * dstW)`
 * @param fill - `edge` repeats the nearest source cell into the padding (no artificial jump for
 *   convolutions); `zero` writes 0
 */
export function placeMap(
  src: ArrayLike<number>,
  p: Placement,
  fill: 'edge' | 'zero',
  out: Float32Array,
  outOffset = 0,
): void {
  for (let r = 0; r < p.dstH; r++) {
    const sr = r - p.rowOffset;
    const inRow = sr >= 0 && sr < p.srcH;
    const srClamped = Math.min(p.srcH - 1, Math.max(0, sr));
    for (let c = 0; c < p.dstW; c++) {
      const sc = c - p.colOffset;
      const inside = inRow && sc >= 0 && sc < p.srcW;
      const k = outOffset + r * p.dstW + c;
      if (inside) out[k] = src[sr * p.srcW + sc] as number;
      else if (fill === 'zero') out[k] = 0;
      else out[k] = src[srClamped * p.srcW + Math.min(p.srcW - 1, Math.max(0, sc))] as number;
    }
  }
}

/**
 * Coordinates of the target axis: the source coordinates where they exist, extended linearly with the
 * end spacings into the padding (so padded rows/columns stay a regular grid).
 * @param coord - source coordinates, length srcN (>= 2 for extension)
 * @param offset - the placement offset of this axis
 * @param dstN - target length
 */
export function placeAxis(coord: Float64Array, offset: number, dstN: number): Float64Array {
  const n = coord.length;
  const out = new Float64Array(dstN);
  const first = coord[0] as number;
  const last = coord[n - 1] as number;
  const d0 = n > 1 ? (coord[1] as number) - first : 0;
  const d1 = n > 1 ? last - (coord[n - 2] as number) : 0;
  for (let i = 0; i < dstN; i++) {
    const s = i - offset;
    out[i] = s < 0 ? first + s * d0 : s >= n ? last + (s - n + 1) * d1 : (coord[s] as number);
  }
  return out;
}

import type { Field } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import type { Field2d, RenderFieldOptions } from './render-options.js';

/** Channel `c` of a field as a 2-D map (a view, no copy). */
export function fieldChannel(field: Field, c: number): Field2d {
  const [C, H, W] = field.shape;
  if (!Number.isInteger(c) || c < 0 || c >= C) {
    throw new DatasetError('OUT_OF_RANGE', `fieldChannel: channel ${c} outside [0, ${C})`);
  }
  return { data: field.data.subarray(c * H * W, (c + 1) * H * W), shape: [H, W] };
}

/** Compact number label: 4 significant digits. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

/** Whether cell `i` is drawn in colour: finite and not masked. */
export function isValidCell(field: Field2d, mask: RenderFieldOptions['mask'], i: number): boolean {
  const v = field.data[i] ?? Number.NaN;
  return Number.isFinite(v) && (mask === undefined || (mask[i] ?? 0) !== 0);
}

/**
 * Range of the valid cells (finite and not masked).
 * @returns `{ min, max, count }`; min/max are NaN when no cell is valid
 */
export function fieldRange(
  field: Field2d,
  mask?: Uint8Array | Float32Array,
): { min: number; max: number; count: number } {
  let min = Infinity;
  let max = -Infinity;
  let count = 0;
  for (let i = 0; i < field.data.length; i++) {
    if (!isValidCell(field, mask, i)) continue;
    const v = field.data[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
    count++;
  }
  return count === 0 ? { min: Number.NaN, max: Number.NaN, count } : { min, max, count };
}

/**
 * The colour range actually used for a field and options. A `diverging` range is always symmetric
 * about 0, so that 0 gets the colormap's midpoint (white) whatever `vmin`/`vmax` say.
 */
export function colorRange(field: Field2d, opts: RenderFieldOptions): { vmin: number; vmax: number } {
  const { min, max, count } = fieldRange(field, opts.mask);
  let vmin: number;
  let vmax: number;
  if ((opts.colormap ?? 'sequential') === 'diverging') {
    const lo = opts.vmin ?? (count === 0 ? -1 : min);
    const hi = opts.vmax ?? (count === 0 ? 1 : max);
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    vmin = -m;
    vmax = m;
  } else {
    vmin = opts.vmin ?? (count === 0 ? 0 : min);
    vmax = opts.vmax ?? (count === 0 ? 1 : max);
  }
  // A constant field still gets a drawable range.
  if (!(vmax > vmin)) {
    vmin -= 0.5;
    vmax = vmin + 1;
  }
  return { vmin, vmax };
}

import type { Field, Grid } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import { colormapRgb } from './colormap.js';
import type { ColormapName, Rgb } from './colormap.js';
import { GLYPH_HEIGHT, textWidth } from './font-5x7.js';
import { createRaster, drawText, encodePng, fillRect, strokeRect } from './raster.js';
import type { Raster } from './raster.js';

/** One 2-D map, shape [H, W], row-major. */
export interface Field2d {
  readonly data: Float32Array | Float64Array;
  /** [H, W] */
  readonly shape: readonly [number, number];
}

/** Options of {@link renderFieldPng}. */
export interface RenderFieldOptions {
  /**
   * Grid of the field: decides the orientation (north up, east right, whatever the stored order) and
   * the extent label. Without it rows are drawn top to bottom as stored.
   */
  readonly grid?: Grid;
  /** Title above the map (5x7 font; lower case is drawn as upper case). */
  readonly title?: string;
  /** Units shown after the min/max label. */
  readonly units?: string;
  /** @defaultValue 'sequential' (viridis); `diverging` is blue-white-red, centred on 0 by default */
  readonly colormap?: ColormapName;
  /** @defaultValue min of the valid values (sequential) or -max|value| (diverging) */
  readonly vmin?: number;
  /** @defaultValue max of the valid values (sequential) or +max|value| (diverging) */
  readonly vmax?: number;
  /** Valid-area mask, shape [H, W]; cells with 0 are drawn grey like NaN. */
  readonly mask?: Uint8Array | Float32Array;
  /** Screen pixels per grid cell (nearest neighbour). @defaultValue 4 */
  readonly scale?: number;
}

/** Colour of masked and non-finite cells. */
const INVALID_RGB: Rgb = [190, 190, 190];
const INK: Rgb = [20, 20, 20];
const PAD = 4;
const BAR_GAP = 6;
const BAR_WIDTH = 10;

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

function isValid(field: Field2d, mask: RenderFieldOptions['mask'], i: number): boolean {
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
    if (!isValid(field, mask, i)) continue;
    const v = field.data[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
    count++;
  }
  return count === 0 ? { min: Number.NaN, max: Number.NaN, count } : { min, max, count };
}

function checkInput(field: Field2d, opts: RenderFieldOptions): void {
  const [H, W] = field.shape;
  if (!Number.isInteger(H) || !Number.isInteger(W) || H < 1 || W < 1 || field.data.length !== H * W) {
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `renderFieldPng: data of length ${field.data.length} does not match shape [${H}, ${W}]`,
    );
  }
  if (opts.mask !== undefined && opts.mask.length !== H * W) {
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `renderFieldPng: mask of length ${opts.mask.length} does not match shape [${H}, ${W}]`,
    );
  }
  if (opts.grid !== undefined && (opts.grid.latDeg.length !== H || opts.grid.lonDeg.length !== W)) {
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `renderFieldPng: grid ${opts.grid.latDeg.length}x${opts.grid.lonDeg.length} does not match shape [${H}, ${W}]`,
    );
  }
  const s = opts.scale ?? 4;
  if (!Number.isInteger(s) || s < 1 || s > 64) {
    throw new DatasetError('OUT_OF_RANGE', `renderFieldPng: scale must be an integer in [1, 64], got ${s}`);
  }
}

/** The colour range actually used for a field and options. */
export function colorRange(field: Field2d, opts: RenderFieldOptions): { vmin: number; vmax: number } {
  const { min, max, count } = fieldRange(field, opts.mask);
  let vmin: number;
  let vmax: number;
  if ((opts.colormap ?? 'sequential') === 'diverging') {
    const m = count === 0 ? 1 : Math.max(Math.abs(min), Math.abs(max)) || 1;
    vmin = opts.vmin ?? -m;
    vmax = opts.vmax ?? m;
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

function latLabel(lat: number): string {
  return `${formatValue(Math.abs(lat))}${lat >= 0 ? 'N' : 'S'}`;
}

/** `75N-15N 200E-330E`: the extent of the valid (unmasked) area, or of the whole grid. */
function extentLabel(
  lat: Float64Array,
  lon: Float64Array,
  W: number,
  mask?: Uint8Array | Float32Array,
): string {
  let latLo = Infinity;
  let latHi = -Infinity;
  let lonLo = Infinity;
  let lonHi = -Infinity;
  for (let i = 0; i < lat.length; i++) {
    for (let j = 0; j < W; j++) {
      if (mask !== undefined && (mask[i * W + j] ?? 0) === 0) continue;
      latLo = Math.min(latLo, lat[i] as number);
      latHi = Math.max(latHi, lat[i] as number);
      lonLo = Math.min(lonLo, lon[j] as number);
      lonHi = Math.max(lonHi, lon[j] as number);
    }
  }
  if (latLo > latHi) return 'no valid cell';
  return `${latLabel(latHi)}-${latLabel(latLo)} ${formatValue(lonLo)}E-${formatValue(lonHi)}E`;
}

/**
 * Renders a map as a raster: title, the field (nearest-neighbour scaled, north up), a colorbar with
 * vmin / mid / vmax, and a footer with the valid min/max and the grid extent.
 * @param field - map, shape [H, W]
 */
export function renderFieldRaster(field: Field2d, opts: RenderFieldOptions = {}): Raster {
  checkInput(field, opts);
  const [H, W] = field.shape;
  const s = opts.scale ?? 4;
  const cmap = opts.colormap ?? 'sequential';
  const { vmin, vmax } = colorRange(field, opts);
  const range = fieldRange(field, opts.mask);
  // North up: flip rows when latitudes increase with the row index; east right likewise.
  const lat = opts.grid?.latDeg;
  const lon = opts.grid?.lonDeg;
  const flipRows = lat !== undefined && H > 1 && (lat[0] as number) < (lat[H - 1] as number);
  const flipCols = lon !== undefined && W > 1 && (lon[0] as number) > (lon[W - 1] as number);

  const barLabels = [formatValue(vmax), formatValue((vmin + vmax) / 2), formatValue(vmin)];
  const footer1 = `min ${formatValue(range.min)} max ${formatValue(range.max)}${opts.units ? ` ${opts.units}` : ''}`;
  const footer2 = lat !== undefined && lon !== undefined ? extentLabel(lat, lon, W, opts.mask) : '';
  const title = opts.title ?? '';
  const mapW = W * s;
  const mapH = H * s;
  const mapX = PAD + 1;
  const mapY = PAD + (title ? GLYPH_HEIGHT + PAD : 0) + 1;
  const barX = mapX + mapW + 1 + BAR_GAP;
  const labelX = barX + BAR_WIDTH + 3;
  const labelW = Math.max(...barLabels.map((t) => textWidth(t)));
  const width = Math.max(
    labelX + labelW + PAD,
    PAD * 2 + Math.max(textWidth(title), textWidth(footer1), textWidth(footer2)),
  );
  const footerY = mapY + mapH + 1 + PAD;
  const height = footerY + (GLYPH_HEIGHT + 3) * (footer2 ? 2 : 1) + PAD - 3;

  const img = createRaster(width, height);
  if (title) drawText(img, title, PAD, PAD, INK);

  for (let y = 0; y < H; y++) {
    const row = flipRows ? H - 1 - y : y;
    for (let x = 0; x < W; x++) {
      const col = flipCols ? W - 1 - x : x;
      const i = row * W + col;
      const c = isValid(field, opts.mask, i)
        ? colormapRgb(cmap, ((field.data[i] as number) - vmin) / (vmax - vmin))
        : INVALID_RGB;
      fillRect(img, mapX + x * s, mapY + y * s, s, s, c);
    }
  }
  strokeRect(img, mapX - 1, mapY - 1, mapW + 2, mapH + 2, INK);

  // Colorbar: top = vmax, bottom = vmin.
  for (let y = 0; y < mapH; y++) {
    const c = colormapRgb(cmap, mapH === 1 ? 1 : 1 - y / (mapH - 1));
    fillRect(img, barX, mapY + y, BAR_WIDTH, 1, c);
  }
  strokeRect(img, barX - 1, mapY - 1, BAR_WIDTH + 2, mapH + 2, INK);
  drawText(img, barLabels[0] ?? '', labelX, mapY, INK);
  drawText(img, barLabels[1] ?? '', labelX, mapY + Math.round((mapH - GLYPH_HEIGHT) / 2), INK);
  drawText(img, barLabels[2] ?? '', labelX, mapY + mapH - GLYPH_HEIGHT, INK);

  drawText(img, footer1, PAD, footerY, INK);
  if (footer2) drawText(img, footer2, PAD, footerY + GLYPH_HEIGHT + 3, INK);
  return img;
}

/**
 * Renders a map to PNG bytes (see {@link renderFieldRaster} for the layout).
 * @param field - map, shape [H, W]
 * @throws DatasetError `SHAPE_MISMATCH` when data, mask or grid disagree with the shape
 */
export function renderFieldPng(field: Field2d, opts: RenderFieldOptions = {}): Buffer {
  return encodePng(renderFieldRaster(field, opts));
}

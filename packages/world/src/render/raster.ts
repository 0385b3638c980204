import { PNG } from 'pngjs';

import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyphRows } from './font-5x7.js';
import type { Rgb } from './colormap.js';

/** An RGBA image, row-major, row 0 at the top. `data.length === 4 * width * height`. */
export interface Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** A new raster filled with one opaque colour. */
export function createRaster(width: number, height: number, fill: Rgb = [255, 255, 255]): Raster {
  const data = new Uint8Array(4 * width * height);
  for (let i = 0; i < width * height; i++) {
    data[4 * i] = fill[0];
    data[4 * i + 1] = fill[1];
    data[4 * i + 2] = fill[2];
    data[4 * i + 3] = 255;
  }
  return { width, height, data };
}

/** Sets one pixel (ignored when outside the raster). */
export function setPixel(r: Raster, x: number, y: number, c: Rgb): void {
  if (x < 0 || y < 0 || x >= r.width || y >= r.height) return;
  const k = 4 * (y * r.width + x);
  r.data[k] = c[0];
  r.data[k + 1] = c[1];
  r.data[k + 2] = c[2];
  r.data[k + 3] = 255;
}

/** Fills a rectangle (clipped to the raster). */
export function fillRect(r: Raster, x0: number, y0: number, w: number, h: number, c: Rgb): void {
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) setPixel(r, x, y, c);
}

/** Draws a 1-pixel rectangle outline. */
export function strokeRect(r: Raster, x0: number, y0: number, w: number, h: number, c: Rgb): void {
  fillRect(r, x0, y0, w, 1, c);
  fillRect(r, x0, y0 + h - 1, w, 1, c);
  fillRect(r, x0, y0, 1, h, c);
  fillRect(r, x0 + w - 1, y0, 1, h, c);
}

/** Draws text with the 5x7 font, top-left at (x, y), each font pixel a `scale` x `scale` block. */
export function drawText(r: Raster, text: string, x: number, y: number, c: Rgb, scale = 1): void {
  let cx = x;
  for (const ch of text) {
    const rows = glyphRows(ch);
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      const bits = rows[gy] ?? 0;
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if ((bits >> (GLYPH_WIDTH - 1 - gx)) & 1)
          fillRect(r, cx + gx * scale, y + gy * scale, scale, scale, c);
      }
    }
    cx += GLYPH_ADVANCE * scale;
  }
}

/** Copies `src` into `dst` with its top-left corner at (x, y), clipped. */
export function blit(dst: Raster, src: Raster, x: number, y: number): void {
  for (let sy = 0; sy < src.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    for (let sx = 0; sx < src.width; sx++) {
      const dx = x + sx;
      if (dx < 0 || dx >= dst.width) continue;
      const s = 4 * (sy * src.width + sx);
      const d = 4 * (dy * dst.width + dx);
      dst.data[d] = src.data[s] ?? 0;
      dst.data[d + 1] = src.data[s + 1] ?? 0;
      dst.data[d + 2] = src.data[s + 2] ?? 0;
      dst.data[d + 3] = src.data[s + 3] ?? 0;
    }
  }
}

/** Encodes a raster as an 8-bit RGBA PNG. */
export function encodePng(r: Raster): Buffer {
  const png = new PNG({ width: r.width, height: r.height });
  png.data = Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  return PNG.sync.write(png);
}

/** SVG to pixels with resvg (the house rule for plots: no home-made raster or font). */
import { Resvg } from '@resvg/resvg-js';

import { FONT_FAMILY } from './svg-markup.js';

/** An RGBA image, row-major, row 0 at the top. `data.length === 4 * width * height`. */
export interface Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * System fonts, DejaVu Sans where the SVG names none (as cycle-plot.ts does). On a machine without fonts
 * resvg leaves the text out and draws everything else: labels are never needed to read the pixels.
 */
function resvg(svg: string): Resvg {
  return new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: FONT_FAMILY },
    background: '#ffffff',
  });
}

/** Rasterises an SVG document at its own size to PNG bytes. */
export function svgToPng(svg: string): Buffer {
  return resvg(svg).render().asPng();
}

/** Rasterises an SVG document at its own size to RGBA pixels. */
export function svgToRaster(svg: string): Raster {
  const img = resvg(svg).render();
  return { width: img.width, height: img.height, data: img.pixels };
}

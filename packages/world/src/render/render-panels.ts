import { DatasetError } from '../dataset/dataset-error.js';
import { GLYPH_HEIGHT } from './font-5x7.js';
import { blit, createRaster, drawText, encodePng } from './raster.js';
import { renderFieldRaster } from './render-field.js';
import type { Field2d, RenderFieldOptions } from './render-field.js';

/** One panel of a multi-panel figure: a map and its own options. */
export interface RenderPanel extends RenderFieldOptions {
  readonly field: Field2d;
}

/** Options of {@link renderPanelsPng}. */
export interface RenderPanelsOptions {
  /** Panels per row. @defaultValue ceil(sqrt(panel count)), e.g. 2 for truth/background/analysis/error */
  readonly cols?: number;
  /** Figure title above all panels. */
  readonly title?: string;
  /** Pixels between panels. @defaultValue 6 */
  readonly gap?: number;
}

/**
 * Renders several maps in a grid (row-major order), each with its own title, colorbar and range.
 * For a truth / background / analysis layout pass the same `vmin`/`vmax` to those panels, and a
 * `diverging` colormap to the error panel.
 * @throws DatasetError `OUT_OF_RANGE` for no panels or a bad column count
 */
export function renderPanelsPng(panels: readonly RenderPanel[], opts: RenderPanelsOptions = {}): Buffer {
  if (panels.length === 0) throw new DatasetError('OUT_OF_RANGE', 'renderPanelsPng: no panels to render');
  const cols = opts.cols ?? Math.ceil(Math.sqrt(panels.length));
  if (!Number.isInteger(cols) || cols < 1) {
    throw new DatasetError('OUT_OF_RANGE', `renderPanelsPng: cols must be a positive integer, got ${cols}`);
  }
  const gap = opts.gap ?? 6;
  const rasters = panels.map(({ field, ...o }) => renderFieldRaster(field, o));
  const cellW = Math.max(...rasters.map((r) => r.width));
  const cellH = Math.max(...rasters.map((r) => r.height));
  const rows = Math.ceil(rasters.length / cols);
  const top = opts.title ? GLYPH_HEIGHT * 2 + 8 : 0;
  const usedCols = Math.min(cols, rasters.length);
  const img = createRaster(usedCols * cellW + (usedCols - 1) * gap, top + rows * cellH + (rows - 1) * gap);
  if (opts.title) drawText(img, opts.title, 4, 4, [20, 20, 20], 2);
  rasters.forEach((r, k) => {
    blit(img, r, (k % cols) * (cellW + gap), top + Math.floor(k / cols) * (cellH + gap));
  });
  return encodePng(img);
}

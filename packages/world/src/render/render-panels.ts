import { DatasetError } from '../dataset/dataset-error.js';
import { fieldPanelSvg } from './panel-svg.js';
import { svgToPng, svgToRaster } from './rasterise.js';
import type { Raster } from './rasterise.js';
import { checkRenderInput } from './render-field.js';
import type { Field2d, RenderFieldOptions } from './render-options.js';
import { px, svgDocument, svgText, textWidth } from './svg-markup.js';

/** One panel of a multi-panel figure: a map and its own options (grid, colormap, range, obs, ...). */
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

const TITLE_SIZE = 17;

/**
 * Several maps in a grid of equal cells (row-major order), each with its own title, colour bar and range,
 * under one figure title, as an SVG document. For a truth / background / analysis layout pass the same
 * `vmin`/`vmax` to those panels, and a `diverging` colormap to the error panel.
 * @throws DatasetError `OUT_OF_RANGE` for no panels or a bad column count, and whatever
 * `renderFieldSvg` throws for a panel
 */
export function renderPanelsSvg(panels: readonly RenderPanel[], opts: RenderPanelsOptions = {}): string {
  if (panels.length === 0) throw new DatasetError('OUT_OF_RANGE', 'renderPanelsPng: no panels to render');
  const cols = opts.cols ?? Math.ceil(Math.sqrt(panels.length));
  if (!Number.isInteger(cols) || cols < 1) {
    throw new DatasetError('OUT_OF_RANGE', `renderPanelsPng: cols must be a positive integer, got ${cols}`);
  }
  const gap = opts.gap ?? 6;
  const rendered = panels.map(({ field, ...o }, k) => {
    checkRenderInput(`renderPanelsPng: panel ${k}`, field, o);
    return fieldPanelSvg(field, o, `p${k}`);
  });
  const cellW = Math.max(...rendered.map((p) => p.width));
  const cellH = Math.max(...rendered.map((p) => p.height));
  const rows = Math.ceil(rendered.length / cols);
  const usedCols = Math.min(cols, rendered.length);
  const top = opts.title ? TITLE_SIZE + 16 : 0;
  const width = Math.max(
    usedCols * cellW + (usedCols - 1) * gap,
    textWidth(opts.title ?? '', TITLE_SIZE) + 16,
  );
  const height = top + rows * cellH + (rows - 1) * gap;
  const body = rendered.map((p, k) => {
    const x = (k % cols) * (cellW + gap);
    const y = top + Math.floor(k / cols) * (cellH + gap);
    return `<g transform="translate(${px(x)} ${px(y)})">${p.svg}</g>`;
  });
  const title = opts.title
    ? svgText(width / 2, 8 + TITLE_SIZE, opts.title, { sizePx: TITLE_SIZE, anchor: 'middle', bold: true })
    : '';
  return svgDocument(width, height, title + body.join(''));
}

/** The figure of {@link renderPanelsSvg} rasterised by resvg, as PNG bytes. */
export function renderPanelsPng(panels: readonly RenderPanel[], opts: RenderPanelsOptions = {}): Buffer {
  return svgToPng(renderPanelsSvg(panels, opts));
}

/** The figure of {@link renderPanelsSvg} rasterised by resvg, as RGBA pixels. */
export function renderPanelsRaster(panels: readonly RenderPanel[], opts: RenderPanelsOptions = {}): Raster {
  return svgToRaster(renderPanelsSvg(panels, opts));
}

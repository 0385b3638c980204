import { DatasetError } from '../dataset/dataset-error.js';
import { fieldPanelSvg } from './panel-svg.js';
import { svgToPng, svgToRaster } from './rasterise.js';
import type { Raster } from './rasterise.js';
import type { Field2d, RenderFieldOptions } from './render-options.js';
import { svgDocument } from './svg-markup.js';

/**
 * Checks a field and its options against its shape [H, W].
 * @param fn - the public function named in the message
 */
export function checkRenderInput(fn: string, field: Field2d, opts: RenderFieldOptions): void {
  const [H, W] = field.shape;
  if (!Number.isInteger(H) || !Number.isInteger(W) || H < 1 || W < 1 || field.data.length !== H * W) {
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `${fn}: data of length ${field.data.length} does not match shape [${H}, ${W}]`,
    );
  }
  if (opts.mask !== undefined && opts.mask.length !== H * W) {
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `${fn}: mask of length ${opts.mask.length} does not match shape [${H}, ${W}]`,
    );
  }
  if (opts.grid !== undefined && (opts.grid.latDeg.length !== H || opts.grid.lonDeg.length !== W)) {
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `${fn}: grid ${opts.grid.latDeg.length}x${opts.grid.lonDeg.length} does not match shape [${H}, ${W}]`,
    );
  }
  const s = opts.scale ?? 8;
  if (!Number.isInteger(s) || s < 1 || s > 64) {
    throw new DatasetError('OUT_OF_RANGE', `${fn}: scale must be an integer in [1, 64], got ${s}`);
  }
  const obs = opts.obs ?? [];
  if (obs.length > 0 && opts.grid === undefined) {
    throw new DatasetError(
      'OUT_OF_RANGE',
      `${fn}: observation locations need a grid to be placed on the map`,
    );
  }
  obs.forEach((o, k) => {
    if (!Number.isFinite(o.lat) || !Number.isFinite(o.lon) || Math.abs(o.lat) > 90) {
      throw new DatasetError(
        'MALFORMED_INPUT',
        `${fn}: obs[${k}] = (lat ${o.lat}, lon ${o.lon}) is not a finite location with |lat| <= 90`,
      );
    }
  });
}

/**
 * A map as an SVG document: title, the field on a plate carree map fitted to its grid (north up), coastlines
 * on a lat-lon grid, observation markers, lat/lon ticks, a colour bar with round ticks and the units, and a
 * caption with the valid min/max.
 * @param field - map, shape [H, W]
 * @throws DatasetError `SHAPE_MISMATCH` when data, mask or grid disagree with the shape; `OUT_OF_RANGE`
 * for a bad scale or observations without a grid; `MALFORMED_INPUT` for a non-finite observation location
 */
export function renderFieldSvg(field: Field2d, opts: RenderFieldOptions = {}): string {
  checkRenderInput('renderFieldPng', field, opts);
  const panel = fieldPanelSvg(field, opts, 'p0');
  return svgDocument(panel.width, panel.height, panel.svg);
}

/** The map of {@link renderFieldSvg} rasterised by resvg, as RGBA pixels. */
export function renderFieldRaster(field: Field2d, opts: RenderFieldOptions = {}): Raster {
  return svgToRaster(renderFieldSvg(field, opts));
}

/** The map of {@link renderFieldSvg} rasterised by resvg, as PNG bytes. */
export function renderFieldPng(field: Field2d, opts: RenderFieldOptions = {}): Buffer {
  return svgToPng(renderFieldSvg(field, opts));
}

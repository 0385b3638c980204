import type { Grid } from '@alignda/tensor';

import type { ColormapName } from './colormap.js';

/** One 2-D map, shape [H, W], row-major. */
export interface Field2d {
  readonly data: Float32Array | Float64Array;
  /** [H, W] */
  readonly shape: readonly [number, number];
}

/** Where an observation was taken: marked on the map as a small outlined circle. */
export interface ObsLocation {
  /** Degrees north, in [-90, 90]. */
  readonly lat: number;
  /** Degrees east, either convention (-180..180 or 0..360). */
  readonly lon: number;
}

/** Options of one map (`renderFieldPng`, and each panel of `renderPanelsPng`). */
export interface RenderFieldOptions {
  /**
   * Grid of the field. A grid places the cells on an equirectangular (plate carree) map fitted to its
   * lat/lon extent: north up and east right whatever the stored order, longitudes in either convention,
   * lat/lon ticks on the frame. A lat-lon grid also gets coastlines; a beta-plane grid (the idealised QG
   * channel, whose latitudes and longitudes are only assigned) does not, and its caption says so. Without a
   * grid, rows are drawn top to bottom as stored, with no axes.
   */
  readonly grid?: Grid;
  /** Title above the map. */
  readonly title?: string;
  /** Units, beside the colour bar and after the min/max caption. */
  readonly units?: string;
  /**
   * `sequential` (viridis) for fields, `diverging` (blue-white-red, symmetric about 0: 0 is always its
   * white midpoint) for differences and increments. @defaultValue 'sequential'
   */
  readonly colormap?: ColormapName;
  /**
   * Lower end of the colour scale. With `diverging` the scale is [-m, m] with m the larger of |vmin| and
   * |vmax|. @defaultValue min of the valid values (sequential) or -max|value| (diverging)
   */
  readonly vmin?: number;
  /** Upper end of the colour scale. @defaultValue max of the valid values (sequential) or +max|value| (diverging) */
  readonly vmax?: number;
  /** Valid-area mask, shape [H, W]; cells with 0 are drawn grey like NaN and left out of the range. */
  readonly mask?: Uint8Array | Float32Array;
  /**
   * Screen pixels per grid column (the map is `W * scale` pixels wide; its height follows the projection,
   * or is `H * scale` without a grid). @defaultValue 8
   */
  readonly scale?: number;
  /**
   * Observation locations to mark (needs `grid`). Points outside the map's extent are not drawn, as on
   * any map of a region.
   */
  readonly obs?: readonly ObsLocation[];
}

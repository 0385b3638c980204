/**
 * One map panel as SVG: title, the cells (plate carree), coastlines, observation markers, frame ticks, colour
 * bar and a caption. Inputs are checked by the callers (render-field.ts).
 */
import { colormapRgb } from './colormap.js';
import { coastlinePathData } from './coastlines.js';
import { colourBarSvg } from './colour-bar.js';
import { colorRange, fieldRange, formatValue, isValidCell } from './field-stats.js';
import { mapFrame } from './map-frame.js';
import type { MapFrame } from './map-frame.js';
import type { Field2d, ObsLocation, RenderFieldOptions } from './render-options.js';
import { px, rgbHex, svgText, textWidth } from './svg-markup.js';

/** Colour of masked and non-finite cells. */
export const INVALID_HEX = '#bebebe';
/** Colour of the coastlines. */
export const COAST_HEX = '#000000';
/** Fill and outline of the observation markers. */
export const OBS_FILL_HEX = '#ffffff';
export const OBS_STROKE_HEX = '#000000';
/** Radius of an observation marker, pixels. */
export const OBS_RADIUS = 3;
/** Caption of a map on a beta-plane grid. */
export const BETA_PLANE_NOTE = 'idealised beta-plane channel: assigned lat/lon, no coastlines';

const PAD = 8;
const TITLE_SIZE = 13;
const AXIS_SIZE = 10;
const CAPTION_SIZE = 11;
const BAR_GAP = 10;

/** A panel's markup in its own coordinates ((0, 0) top left), its size and where its map is. */
export interface PanelSvg {
  readonly svg: string;
  readonly width: number;
  readonly height: number;
  /** Top-left corner of the map in the panel, pixels. */
  readonly mapX: number;
  readonly mapY: number;
  /** The map's projection and cell layout, in map-local pixels. */
  readonly frame: MapFrame;
}

/** The cells as rectangles, runs of equal colour along a row merged into one. */
function cellsSvg(
  field: Field2d,
  opts: RenderFieldOptions,
  frame: MapFrame,
  vmin: number,
  vmax: number,
): string {
  const [H, W] = field.shape;
  const cmap = opts.colormap ?? 'sequential';
  const colour = (i: number): string =>
    isValidCell(field, opts.mask, i)
      ? rgbHex(colormapRgb(cmap, ((field.data[i] as number) - vmin) / (vmax - vmin)))
      : INVALID_HEX;
  // Columns in screen order (left to right), whatever the stored longitude order.
  const cols = Array.from({ length: W }, (_, j) => j).sort(
    (a, b) => (frame.colX0[a] as number) - (frame.colX0[b] as number),
  );
  const rects: string[] = [];
  for (let r = 0; r < H; r++) {
    const y0 = frame.rowY0[r] as number;
    const h = (frame.rowY1[r] as number) - y0;
    let start = 0;
    while (start < W) {
      const j0 = cols[start] as number;
      const c = colour(r * W + j0);
      let end = start + 1;
      while (end < W && colour(r * W + (cols[end] as number)) === c) end++;
      const x0 = frame.colX0[j0] as number;
      const x1 = frame.colX1[cols[end - 1] as number] as number;
      rects.push(`<rect x="${px(x0)}" y="${px(y0)}" width="${px(x1 - x0)}" height="${px(h)}" fill="${c}"/>`);
      start = end;
    }
  }
  // crispEdges: neighbouring cells share their edge pixels exactly, no anti-aliased seams between them.
  return `<g shape-rendering="crispEdges">${rects.join('')}</g>`;
}

/** Markers of the observations inside the map (needs a projection). */
function obsSvg(obs: readonly ObsLocation[], frame: MapFrame): string {
  const projection = frame.projection;
  if (projection === undefined || obs.length === 0) return '';
  const circles: string[] = [];
  for (const o of obs) {
    const p = projection([o.lon, o.lat]);
    if (p === null) continue;
    const [x, y] = p;
    if (x < 0 || x > frame.width || y < 0 || y > frame.height) continue;
    circles.push(`<circle class="obs" cx="${px(x)}" cy="${px(y)}" r="${OBS_RADIUS}"/>`);
  }
  return `<g fill="${OBS_FILL_HEX}" stroke="${OBS_STROKE_HEX}" stroke-width="1">${circles.join('')}</g>`;
}

/** Tick marks and labels on the left (latitude) and bottom (longitude) of the frame. */
function axesSvg(frame: MapFrame): string {
  const parts: string[] = [];
  for (const t of frame.latTicks) {
    parts.push(
      `<path d="M-4 ${px(t.pos)}h4" stroke="#141414"/>`,
      svgText(-6, t.pos + AXIS_SIZE * 0.35, t.label, { sizePx: AXIS_SIZE, anchor: 'end' }),
    );
  }
  for (const t of frame.lonTicks) {
    parts.push(
      `<path d="M${px(t.pos)} ${px(frame.height)}v4" stroke="#141414"/>`,
      svgText(t.pos, frame.height + 5 + AXIS_SIZE, t.label, { sizePx: AXIS_SIZE, anchor: 'middle' }),
    );
  }
  return parts.join('');
}

/**
 * A panel of one field.
 * @param id - unique within the document (prefix of the panel's ids)
 */
export function fieldPanelSvg(field: Field2d, opts: RenderFieldOptions, id: string): PanelSvg {
  const frame = mapFrame(field.shape, opts.grid, opts.scale ?? 8);
  const { vmin, vmax } = colorRange(field, opts);
  const range = fieldRange(field, opts.mask);
  const hasAxes = frame.latTicks.length > 0 || frame.lonTicks.length > 0;
  const title = opts.title ?? '';
  const units = opts.units ?? '';
  const captions = [
    `min ${formatValue(range.min)}  max ${formatValue(range.max)}${units ? ` ${units}` : ''}`,
    ...(opts.grid?.kind === 'beta-plane' ? [BETA_PLANE_NOTE] : []),
  ];

  const axisLeft = hasAxes ? Math.max(...frame.latTicks.map((t) => textWidth(t.label, AXIS_SIZE)), 0) + 8 : 0;
  const mapX = PAD + axisLeft;
  const mapY = PAD + (title ? TITLE_SIZE + 8 : 0);
  const clipId = `${id}-map`;
  const mapParts = [
    `<clipPath id="${clipId}"><rect width="${px(frame.width)}" height="${px(frame.height)}"/></clipPath>`,
    `<g clip-path="url(#${clipId})">`,
    cellsSvg(field, opts, frame, vmin, vmax),
  ];
  if (opts.grid?.kind === 'latlon' && frame.projection !== undefined) {
    const d = coastlinePathData(frame.projection);
    if (d) mapParts.push(`<path class="coast" d="${d}" fill="none" stroke="${COAST_HEX}" stroke-width="1"/>`);
  }
  mapParts.push(
    obsSvg(opts.obs ?? [], frame),
    '</g>',
    `<rect x="-0.5" y="-0.5" width="${px(frame.width + 1)}" height="${px(frame.height + 1)}" fill="none" stroke="#141414"/>`,
    axesSvg(frame),
  );

  const bar = colourBarSvg(
    `${id}-bar`,
    opts.colormap ?? 'sequential',
    vmin,
    vmax,
    mapX + frame.width + BAR_GAP,
    mapY,
    frame.height,
    units,
  );
  const captionY = mapY + frame.height + (hasAxes ? AXIS_SIZE + 8 : 0) + 4;
  const parts = [
    title ? svgText(PAD, PAD + TITLE_SIZE, title, { sizePx: TITLE_SIZE, bold: true }) : '',
    `<g transform="translate(${px(mapX)} ${px(mapY)})">${mapParts.join('')}</g>`,
    bar.svg,
    ...captions.map((c, k) =>
      svgText(PAD, captionY + (k + 1) * (CAPTION_SIZE + 3), c, { sizePx: CAPTION_SIZE }),
    ),
  ];
  const width = Math.ceil(
    Math.max(
      mapX + frame.width + BAR_GAP + bar.width + PAD,
      PAD * 2 + textWidth(title, TITLE_SIZE),
      ...captions.map((c) => PAD * 2 + textWidth(c, CAPTION_SIZE)),
    ),
  );
  const height = Math.ceil(captionY + captions.length * (CAPTION_SIZE + 3) + PAD);
  return { svg: parts.join(''), width, height, mapX, mapY, frame };
}

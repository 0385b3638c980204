/** The colour bar beside a map: the colormap as a vertical gradient, round-valued ticks, the units. */
import { colormapStops } from './colormap.js';
import type { ColormapName } from './colormap.js';
import { formatValue } from './field-stats.js';
import { px, rgbHex, svgText, textWidth } from './svg-markup.js';

/** Bar width, tick length and the gap before the labels, pixels. */
const BAR_WIDTH = 14;
const TICK = 4;
const LABEL_GAP = 3;
const LABEL_SIZE = 10;
const UNITS_SIZE = 11;

/**
 * Round values within [vmin, vmax]: multiples of 1, 2, 2.5 or 5 times a power of ten, the finest step
 * that gives at most `maxCount` of them.
 */
export function niceTicks(vmin: number, vmax: number, maxCount = 6): number[] {
  const span = vmax - vmin;
  if (!(span > 0) || !Number.isFinite(span)) return [vmin];
  const base = 10 ** Math.floor(Math.log10(span / maxCount));
  const step = [1, 2, 2.5, 5].map((m) => m * base).find((s) => span / s <= maxCount) ?? 10 * base;
  const out: number[] = [];
  for (let k = Math.ceil(vmin / step - 1e-9); k * step <= vmax + 1e-9 * span; k++) {
    out.push(Number((k * step).toPrecision(12)) + 0); // + 0 turns -0 into 0
  }
  return out;
}

/** What {@link colourBarSvg} drew and how wide it is. */
export interface ColourBar {
  readonly svg: string;
  readonly width: number;
}

/**
 * A vertical colour bar, top = vmax, with its top-left corner at (x, y).
 * @param id - unique within the document (the gradient's id)
 */
export function colourBarSvg(
  id: string,
  cmap: ColormapName,
  vmin: number,
  vmax: number,
  x: number,
  y: number,
  height: number,
  units: string,
): ColourBar {
  const stops = colormapStops(cmap);
  const gradient =
    `<defs><linearGradient id="${id}" x1="0" y1="1" x2="0" y2="0">` +
    stops.map((c, k) => `<stop offset="${px(k / (stops.length - 1))}" stop-color="${rgbHex(c)}"/>`).join('') +
    '</linearGradient></defs>';
  const parts = [
    gradient,
    `<rect x="${px(x)}" y="${px(y)}" width="${BAR_WIDTH}" height="${px(height)}" fill="url(#${id})" stroke="#141414" stroke-width="1"/>`,
  ];
  // About one tick per 30 px of bar: 8 on a default-sized map.
  const ticks = niceTicks(vmin, vmax, Math.max(2, Math.floor(height / 30)));
  let labelW = 0;
  for (const v of ticks) {
    const ty = y + ((vmax - v) / (vmax - vmin)) * height;
    const label = formatValue(v);
    labelW = Math.max(labelW, textWidth(label, LABEL_SIZE));
    parts.push(
      `<path d="M${px(x + BAR_WIDTH)} ${px(ty)}h${TICK}" stroke="#141414" stroke-width="1"/>`,
      svgText(x + BAR_WIDTH + TICK + LABEL_GAP, ty + LABEL_SIZE * 0.35, label, { sizePx: LABEL_SIZE }),
    );
  }
  let width = BAR_WIDTH + TICK + LABEL_GAP + labelW;
  if (units) {
    // Units read bottom to top beside the labels, as on a y axis.
    const ux = x + width + 6 + UNITS_SIZE;
    parts.push(svgText(ux, y + height / 2, units, { sizePx: UNITS_SIZE, anchor: 'middle', rotateDeg: -90 }));
    width += 6 + UNITS_SIZE + 2;
  }
  return { svg: parts.join(''), width };
}

/** Small helpers to write SVG markup by hand: escaping, compact numbers, colours, text. */
import type { Rgb } from './colormap.js';

/** Font of every label; resvg is given the same family as its default (see rasterise.ts). */
export const FONT_FAMILY = 'DejaVu Sans';

/** Escapes text for an SVG text node or attribute value. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A coordinate with at most 2 decimals (a hundredth of a pixel is below anything resvg resolves). */
export function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** `#rrggbb` of an RGB colour. */
export function rgbHex(c: Rgb): string {
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Estimated width of a label in pixels: 0.62 em per character, about the mean advance of DejaVu Sans on
 * digits and lower case. Only used to make room; the layout never depends on a font being present.
 */
export function textWidth(s: string, fontSizePx: number): number {
  return Math.ceil(0.62 * fontSizePx * [...s].length);
}

/** Options of {@link svgText}. */
export interface SvgTextOptions {
  /** @defaultValue 11 */
  readonly sizePx?: number;
  /** @defaultValue 'start' */
  readonly anchor?: 'start' | 'middle' | 'end';
  /** @defaultValue false */
  readonly bold?: boolean;
  /** Rotation in degrees about the anchor point (-90 reads bottom to top). @defaultValue 0 */
  readonly rotateDeg?: number;
}

/** One `<text>` element with its baseline at (x, y). */
export function svgText(x: number, y: number, s: string, opts: SvgTextOptions = {}): string {
  const attrs = [`x="${px(x)}"`, `y="${px(y)}"`, `font-size="${opts.sizePx ?? 11}"`];
  if (opts.anchor !== undefined && opts.anchor !== 'start') attrs.push(`text-anchor="${opts.anchor}"`);
  if (opts.bold === true) attrs.push('font-weight="bold"');
  if (opts.rotateDeg !== undefined && opts.rotateDeg !== 0) {
    attrs.push(`transform="rotate(${opts.rotateDeg} ${px(x)} ${px(y)})"`);
  }
  return `<text ${attrs.join(' ')}>${escapeXml(s)}</text>`;
}

/** A complete SVG document of the given size on a white background. */
export function svgDocument(width: number, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"` +
    ` font-family="${FONT_FAMILY}" fill="#141414">` +
    `<rect width="${width}" height="${height}" fill="#ffffff"/>${body}</svg>`
  );
}

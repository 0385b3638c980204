/** Colormaps for maps: a perceptual sequential map and a blue-white-red diverging map. */
export type ColormapName = 'sequential' | 'diverging';

/** An RGB colour, each component 0..255. */
export type Rgb = readonly [number, number, number];

function hex(h: string): Rgb {
  const n = Number.parseInt(h.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/**
 * Viridis (matplotlib, van der Walt & Smith 2015) at 9 evenly spaced stops, as published by R's
 * `viridisLite::viridis(9)`; linear interpolation between stops stays within a few RGB levels of the
 * 256-entry table.
 */
const VIRIDIS: readonly Rgb[] = [
  '#440154',
  '#472d7b',
  '#3b528b',
  '#2c728e',
  '#21918c',
  '#28ae80',
  '#5ec962',
  '#addc30',
  '#fde725',
].map(hex);

/** ColorBrewer RdBu, 11 classes, reversed so that low is blue and high is red; white in the middle. */
const BLUE_WHITE_RED: readonly Rgb[] = [
  '#053061',
  '#2166ac',
  '#4393c3',
  '#92c5de',
  '#d1e5f0',
  '#f7f7f7',
  '#fddbc7',
  '#f4a582',
  '#d6604d',
  '#b2182b',
  '#67001f',
].map(hex);

const STOPS: Readonly<Record<ColormapName, readonly Rgb[]>> = {
  sequential: VIRIDIS,
  diverging: BLUE_WHITE_RED,
};

/** The published stops of a colormap, lowest first (colour-bar gradients interpolate between them linearly). */
export function colormapStops(name: ColormapName): readonly Rgb[] {
  return STOPS[name];
}

/**
 * Colour of `t` in [0, 1] (clamped; NaN gives the lowest colour) by linear interpolation between stops.
 * @param name - `sequential` (viridis) or `diverging` (blue-white-red)
 */
export function colormapRgb(name: ColormapName, t: number): Rgb {
  const stops = STOPS[name];
  const tc = Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t));
  const x = tc * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i] as Rgb;
  const b = stops[i + 1] as Rgb;
  return [
    Math.round(a[0] + f * (b[0] - a[0])),
    Math.round(a[1] + f * (b[1] - a[1])),
    Math.round(a[2] + f * (b[2] - a[2])),
  ];
}

import type { BetaPlaneGrid, LatLonGrid } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { BETA_PLANE_NOTE, fieldPanelSvg } from './panel-svg.js';
import type { Raster } from './rasterise.js';
import { renderFieldPng, renderFieldRaster, renderFieldSvg } from './render-field.js';
import type { Field2d, RenderFieldOptions } from './render-options.js';

const H = 32;
const W = 64;
/** The NCEP model grid: 2.5 deg, 82.5N -> 5N (or reversed), 187.5E -> 345E (or the same in -180..180). */
const ncepGrid = (northFirst = true, lonFrom = 187.5): LatLonGrid => ({
  kind: 'latlon',
  latDeg: Float64Array.from({ length: H }, (_, i) => (northFirst ? 82.5 - 2.5 * i : 5 + 2.5 * i)),
  lonDeg: Float64Array.from({ length: W }, (_, j) => lonFrom + 2.5 * j),
  periodicLon: false,
});
/** The QG world's channel: latitudes 20..70 and longitudes 0..180 only assigned to rows and columns. */
const qgGrid: BetaPlaneGrid = {
  kind: 'beta-plane',
  latDeg: Float64Array.from({ length: H }, (_, i) => 20 + ((i + 0.5) * 50) / H),
  lonDeg: Float64Array.from({ length: W }, (_, j) => (j * 180) / W),
  dxM: 2.2e5,
  dyM: 1.7e5,
  f0PerS: 1e-4,
  betaPerMS: 1.6e-11,
  periodicLon: true,
};
const constant = (v: number): Field2d => ({ data: new Float32Array(H * W).fill(v), shape: [H, W] });

const VIRIDIS_TOP = [0xfd, 0xe7, 0x25];
const VIRIDIS_BOTTOM = [0x44, 0x01, 0x54];
const VIRIDIS_MID = [0x21, 0x91, 0x8c];
const GREY = [0xbe, 0xbe, 0xbe];
const WHITE = [0xff, 0xff, 0xff];

function pixel(r: Raster, x: number, y: number): number[] {
  const k = 4 * (Math.floor(y) * r.width + Math.floor(x));
  return [r.data[k] ?? -1, r.data[k + 1] ?? -1, r.data[k + 2] ?? -1];
}

/**
 * Screen position of (lat, lon) on a map of the NCEP grid at the default 8 px per 2.5 deg column, worked out by
 * hand: plate carree with 3.2 px per degree from the north-west corner (83.75N, 186.25E).
 */
function ncepPixel(field: Field2d, opts: RenderFieldOptions, lat: number, lon: number): [number, number] {
  const { mapX, mapY } = fieldPanelSvg(field, opts, 'p0');
  const east = (((lon - 186.25) % 360) + 360) % 360;
  return [mapX + east * 3.2, mapY + (83.75 - lat) * 3.2];
}

describe('renderFieldPng', () => {
  it('writes a PNG of the size of its SVG document', () => {
    const opts = { grid: ncepGrid(), title: 'air', units: 'K' };
    const svg = renderFieldSvg(constant(1), opts);
    const [, w, h] = /^<svg [^>]*width="(\d+)" height="(\d+)"/.exec(svg) ?? [];
    const png = renderFieldPng(constant(1), opts);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // IHDR: width and height, big-endian, at bytes 16 and 20.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([Number(w), Number(h)]);
    expect(png.readUInt32BE(16)).toBeGreaterThan(W * 8);
  });

  it.each([true, false])(
    'puts the maximum cell, in the top colour, at its own lat/lon (north first: %s)',
    (northFirst) => {
      const grid = ncepGrid(northFirst);
      const data = new Float32Array(H * W);
      // The maximum at 45N, 100W (260E): row 15 when north is first, 16 when south is; column 29.
      const row = northFirst ? 15 : 16;
      data[row * W + 29] = 10;
      const field: Field2d = { data, shape: [H, W] };
      const img = renderFieldRaster(field, { grid });
      const [x, y] = ncepPixel(field, { grid }, 45, 260);
      expect(pixel(img, x, y)).toEqual(VIRIDIS_TOP);
      // One cell (8 px) away in each direction: the minimum.
      for (const [dx, dy] of [
        [8, 0],
        [-8, 0],
        [0, 8],
        [0, -8],
      ] as const) {
        expect(pixel(img, x + dx, y + dy)).toEqual(VIRIDIS_BOTTOM);
      }
    },
  );

  it('draws a 0..360 grid and the same grid in -180..180 identically', () => {
    const field: Field2d = {
      data: Float32Array.from({ length: H * W }, (_, k) => Math.sin(k / 7)),
      shape: [H, W],
    };
    const a = renderFieldRaster(field, { grid: ncepGrid(true, 187.5), obs: [{ lat: 40.7, lon: -74 }] });
    const b = renderFieldRaster(field, { grid: ncepGrid(true, -172.5), obs: [{ lat: 40.7, lon: 286 }] });
    expect([b.width, b.height]).toEqual([a.width, a.height]);
    expect(Buffer.compare(Buffer.from(a.data), Buffer.from(b.data))).toBe(0);
  });

  it('draws masked and NaN cells grey and leaves them out of the colour range', () => {
    const grid = ncepGrid();
    const data = Float32Array.from({ length: H * W }, (_, k) => grid.latDeg[Math.floor(k / W)] as number);
    const mask = new Uint8Array(H * W).fill(1);
    mask[20 * W + 10] = 0;
    data[20 * W + 10] = 1e6; // masked: must not stretch the range
    data[20 * W + 11] = Number.NaN;
    const field: Field2d = { data, shape: [H, W] };
    const img = renderFieldRaster(field, { grid, mask });
    const lat = grid.latDeg[20] as number;
    expect(pixel(img, ...ncepPixel(field, { grid, mask }, lat, 212.5))).toEqual(GREY);
    expect(pixel(img, ...ncepPixel(field, { grid, mask }, lat, 215))).toEqual(GREY);
    // The northernmost row is still the maximum of the valid cells.
    expect(pixel(img, ...ncepPixel(field, { grid, mask }, 82.5, 200))).toEqual(VIRIDIS_TOP);
  });

  it.each([
    [undefined, undefined],
    [-2, 6],
  ])('maps 0 to the white midpoint of the diverging scale (vmin %s, vmax %s)', (vmin, vmax) => {
    const grid = ncepGrid();
    // Columns hold -4 .. 4 in steps of 1 along the west of the map (open Pacific at 45N), then 0.
    const data = Float32Array.from({ length: H * W }, (_, k) => (k % W < 9 ? (k % W) - 4 : 0));
    const field: Field2d = { data, shape: [H, W] };
    const opts: RenderFieldOptions = {
      grid,
      colormap: 'diverging',
      ...(vmin === undefined ? {} : { vmin, vmax }),
    };
    const img = renderFieldRaster(field, opts);
    expect(pixel(img, ...ncepPixel(field, opts, 45, 187.5 + 2.5 * 4))).toEqual([0xf7, 0xf7, 0xf7]);
    const [r, , b] = pixel(img, ...ncepPixel(field, opts, 45, 187.5)); // -4: blue
    expect(b).toBeGreaterThan(r as number);
    const [r2, , b2] = pixel(img, ...ncepPixel(field, opts, 45, 187.5 + 2.5 * 8)); // +4: red
    expect(r2).toBeGreaterThan(b2 as number);
    if (vmin === undefined)
      expect(pixel(img, ...ncepPixel(field, opts, 45, 187.5))).toEqual([0x05, 0x30, 0x61]);
  });

  it('marks an observation with an outlined circle at its projected position', () => {
    const grid = ncepGrid();
    const opts: RenderFieldOptions = { grid, obs: [{ lat: 40, lon: -100 }] };
    const img = renderFieldRaster(constant(1), opts);
    const [x, y] = ncepPixel(constant(1), opts, 40, 260);
    expect(pixel(img, x, y)).toEqual(WHITE);
    const outline = pixel(img, x + 3, y);
    expect((outline[0] as number) + (outline[1] as number)).toBeLessThan(200);
    expect(pixel(img, x + 8, y)).toEqual(VIRIDIS_MID);
    expect(pixel(renderFieldRaster(constant(1), { grid }), x, y)).toEqual(VIRIDIS_MID);
  });

  it('draws one marker per observation inside the map and none for those outside it', () => {
    const obs = [
      { lat: 47.6, lon: -122.3 }, // Seattle
      { lat: 40.7, lon: 286 }, // New York, 0..360
      { lat: 30, lon: 100 }, // Asia: outside
      { lat: -30, lon: 260 }, // south of the map
    ];
    const svg = renderFieldSvg(constant(1), { grid: ncepGrid(), obs });
    expect(svg.match(/<circle class="obs"/g)).toHaveLength(2);
  });

  it('draws coastlines over a lat-lon grid: across the US west coast at 40N, none over the open Pacific', () => {
    const opts: RenderFieldOptions = { grid: ncepGrid() };
    const img = renderFieldRaster(constant(1), opts);
    const row = (lonFrom: number, lonTo: number): number[][] => {
      const [x0, y] = ncepPixel(constant(1), opts, 40, lonFrom);
      const [x1] = ncepPixel(constant(1), opts, 40, lonTo);
      return Array.from({ length: Math.floor(x1 - x0) }, (_, k) => pixel(img, x0 + k, y));
    };
    const darkness = (p: number[]): number => VIRIDIS_MID.reduce((s, c, i) => s + c - (p[i] as number), 0);
    // Cape Mendocino, 124.4W: the coast crosses 40N between 130W and 118W.
    expect(Math.max(...row(230, 242).map(darkness))).toBeGreaterThan(100);
    expect(row(195, 215).every((p) => darkness(p) === 0)).toBe(true);
    expect(renderFieldSvg(constant(1), opts)).toContain('class="coast"');
  });

  it('draws no coastlines over the idealised QG channel and says so in the caption', () => {
    const opts: RenderFieldOptions = { grid: qgGrid };
    const { mapX, mapY, frame } = fieldPanelSvg(constant(1), opts, 'p0');
    const img = renderFieldRaster(constant(1), opts);
    let other = 0;
    for (let y = Math.ceil(mapY); y < Math.floor(mapY + frame.height); y++)
      for (let x = mapX; x < mapX + frame.width; x++)
        if (pixel(img, x, y).join() !== VIRIDIS_MID.join()) other++;
    expect(other).toBe(0);
    const svg = renderFieldSvg(constant(1), opts);
    expect(svg).not.toContain('class="coast"');
    expect(svg).toContain(BETA_PLANE_NOTE);
  });

  it('throws when the data, mask, grid or observations are wrong', () => {
    expect(() => renderFieldPng({ data: new Float32Array(5), shape: [2, 3] })).toThrow(
      'data of length 5 does not match shape [2, 3]',
    );
    expect(() => renderFieldPng(constant(1), { mask: new Uint8Array(3) })).toThrow('mask of length 3');
    expect(() => renderFieldPng({ data: new Float32Array(4), shape: [2, 2] }, { grid: ncepGrid() })).toThrow(
      'grid 32x64 does not match shape [2, 2]',
    );
    expect(() => renderFieldPng(constant(1), { obs: [{ lat: 0, lon: 0 }] })).toThrow('need a grid');
    expect(() => renderFieldPng(constant(1), { grid: ncepGrid(), obs: [{ lat: 95, lon: 0 }] })).toThrow(
      'obs[0] = (lat 95, lon 0)',
    );
  });
});

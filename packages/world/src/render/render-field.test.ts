import type { LatLonGrid } from '@alignda/tensor';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';

import { colormapRgb } from './colormap.js';
import { renderFieldPng, renderFieldRaster } from './render-field.js';
import { renderPanelsPng } from './render-panels.js';

const H = 8;
const W = 12;
const grid = (ascending: boolean): LatLonGrid => ({
  kind: 'latlon',
  latDeg: Float64Array.from({ length: H }, (_, i) => (ascending ? 20 + 5 * i : 55 - 5 * i)),
  lonDeg: Float64Array.from({ length: W }, (_, j) => 200 + 5 * j),
  periodicLon: false,
});
/** A field equal to the latitude of each row: the maximum is the northernmost row. */
const latField = (g: LatLonGrid) => ({
  data: Float32Array.from({ length: H * W }, (_, k) => g.latDeg[Math.floor(k / W)] as number),
  shape: [H, W] as const,
});

function pixel(png: Buffer, x: number, y: number): [number, number, number] {
  const img = PNG.sync.read(png);
  const k = 4 * (y * img.width + x);
  return [img.data[k] ?? -1, img.data[k + 1] ?? -1, img.data[k + 2] ?? -1];
}

// Layout without a title: the map starts at (5, 5) (4 px margin + 1 px frame); scale 4.
const MAP0 = 5;
const S = 4;
const VIRIDIS_TOP: [number, number, number] = [0xfd, 0xe7, 0x25];
const VIRIDIS_BOTTOM: [number, number, number] = [0x44, 0x01, 0x54];

describe('renderFieldPng', () => {
  it.each([true, false])('draws north up whatever the stored latitude order (ascending: %s)', (ascending) => {
    const g = grid(ascending);
    const png = renderFieldPng(latField(g), { grid: g });
    // Top-left map pixel: northernmost row = the maximum = the top of viridis; bottom row = the minimum.
    expect(pixel(png, MAP0, MAP0)).toEqual(VIRIDIS_TOP);
    expect(pixel(png, MAP0, MAP0 + (H - 1) * S + S - 1)).toEqual(VIRIDIS_BOTTOM);
  });

  it('draws masked and NaN cells grey and leaves them out of the colour range', () => {
    const g = grid(false);
    const f = latField(g);
    const data = Float32Array.from(f.data);
    data[0] = Number.NaN;
    const mask = new Uint8Array(H * W).fill(1);
    mask[W - 1] = 0;
    data[W - 1] = 1e6; // masked: must not stretch the range
    const png = renderFieldPng({ data, shape: [H, W] }, { grid: g, mask });
    expect(pixel(png, MAP0, MAP0)).toEqual([190, 190, 190]);
    expect(pixel(png, MAP0 + (W - 1) * S, MAP0)).toEqual([190, 190, 190]);
    expect(pixel(png, MAP0 + S, MAP0)).toEqual(VIRIDIS_TOP);
  });

  it('centres the diverging map on zero (white) and uses blue for negative, red for positive', () => {
    const data = Float32Array.from({ length: H * W }, (_, k) => (k % W) - 5.5 - 0.5); // -6 .. 5
    const png = renderFieldPng({ data, shape: [H, W] }, { colormap: 'diverging', vmin: -6, vmax: 6 });
    expect(pixel(png, MAP0 + 6 * S, MAP0)).toEqual([0xf7, 0xf7, 0xf7]); // value 0
    expect(pixel(png, MAP0, MAP0)).toEqual([0x05, 0x30, 0x61]); // value -6 = vmin
    const [r, , b] = pixel(png, MAP0 + 10 * S, MAP0); // value 4
    expect(r).toBeGreaterThan(b);
  });

  it('scales each cell to scale x scale pixels and adds a colorbar to the right', () => {
    const img = renderFieldRaster(latField(grid(true)), { scale: 3, title: 'T' });
    expect(img.width).toBeGreaterThan(W * 3 + 10);
    expect(img.height).toBeGreaterThan(H * 3);
  });

  it('throws when the data, mask or grid do not match the shape', () => {
    expect(() => renderFieldPng({ data: new Float32Array(5), shape: [2, 3] })).toThrow(
      'data of length 5 does not match shape [2, 3]',
    );
    expect(() => renderFieldPng(latField(grid(true)), { mask: new Uint8Array(3) })).toThrow(
      'mask of length 3',
    );
    expect(() => renderFieldPng({ data: new Float32Array(4), shape: [2, 2] }, { grid: grid(true) })).toThrow(
      'grid 8x12 does not match shape [2, 2]',
    );
  });
});

describe('renderPanelsPng', () => {
  it('lays panels out row-major in a grid of equal cells', () => {
    const g = grid(true);
    const single = renderFieldRaster(latField(g), { grid: g, title: 'a' });
    const png = renderPanelsPng(
      [
        { field: latField(g), grid: g, title: 'a' },
        { field: latField(g), grid: g, title: 'b' },
        { field: latField(g), grid: g, title: 'c' },
      ],
      { cols: 2, gap: 6 },
    );
    const img = PNG.sync.read(png);
    expect(img.width).toBe(2 * single.width + 6);
    expect(img.height).toBe(2 * single.height + 6);
    // The top-left map pixel of the third panel (row 1, column 0) is the top of viridis.
    const mapY = 4 + 7 + 4 + 1; // title line then the frame
    expect(pixel(png, MAP0, single.height + 6 + mapY)).toEqual(VIRIDIS_TOP);
  });

  it('throws for an empty panel list', () => {
    expect(() => renderPanelsPng([])).toThrow('no panels to render');
  });
});

describe('colormapRgb', () => {
  it('hits the published viridis and RdBu stops', () => {
    expect(colormapRgb('sequential', 0)).toEqual(VIRIDIS_BOTTOM);
    expect(colormapRgb('sequential', 0.5)).toEqual([0x21, 0x91, 0x8c]);
    expect(colormapRgb('sequential', 1)).toEqual(VIRIDIS_TOP);
    expect(colormapRgb('diverging', 1)).toEqual([0x67, 0x00, 0x1f]);
  });
});

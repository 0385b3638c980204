import type { LatLonGrid } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { colormapRgb } from './colormap.js';
import { fieldPanelSvg } from './panel-svg.js';
import type { Raster } from './rasterise.js';
import type { Field2d } from './render-options.js';
import { renderPanelsPng, renderPanelsRaster, renderPanelsSvg } from './render-panels.js';

const H = 8;
const W = 12;
const grid: LatLonGrid = {
  kind: 'latlon',
  latDeg: Float64Array.from({ length: H }, (_, i) => 40 - 5 * i),
  lonDeg: Float64Array.from({ length: W }, (_, j) => 190 + 5 * j), // open Pacific in the north-west
  periodicLon: false,
};
/** A field equal to the latitude of each row: the maximum is the northernmost row. */
const latField: Field2d = {
  data: Float32Array.from({ length: H * W }, (_, k) => grid.latDeg[Math.floor(k / W)] as number),
  shape: [H, W],
};
const VIRIDIS_TOP = [0xfd, 0xe7, 0x25];

function pixel(r: Raster, x: number, y: number): number[] {
  const k = 4 * (Math.floor(y) * r.width + Math.floor(x));
  return [r.data[k] ?? -1, r.data[k + 1] ?? -1, r.data[k + 2] ?? -1];
}

describe('renderPanelsPng', () => {
  it('lays panels out row-major in a grid of equal cells under the figure title', () => {
    const panels = ['a', 'b', 'c'].map((title) => ({ field: latField, grid, title, units: 'K' }));
    const single = fieldPanelSvg(latField, { grid, title: 'a', units: 'K' }, 'p0');
    const svg = renderPanelsSvg(panels, { cols: 2, gap: 6, title: 'truth' });
    const img = renderPanelsRaster(panels, { cols: 2, gap: 6, title: 'truth' });
    expect(img.width).toBe(2 * single.width + 6);
    const top = img.height - (2 * single.height + 6);
    expect(top).toBeGreaterThan(10); // room for the figure title
    expect(svg.match(/<linearGradient /g)).toHaveLength(3); // one colour bar per panel
    // The north-west cell of the third panel (row 1, column 0) is the maximum: the top of viridis.
    const y = top + single.height + 6 + single.mapY + 4;
    expect(pixel(img, single.mapX + 4, y)).toEqual(VIRIDIS_TOP);
    const png = renderPanelsPng(panels, { cols: 2, gap: 6, title: 'truth' });
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([img.width, img.height]);
  });

  it('marks the observations of each panel on that panel only', () => {
    const obs = [
      { lat: 30, lon: 220 },
      { lat: 20, lon: 230 },
    ];
    const svg = renderPanelsSvg([
      { field: latField, grid, obs },
      { field: latField, grid },
    ]);
    const panels = svg.split('<g transform="translate(').slice(1);
    const count = (s: string): number => s.match(/<circle class="obs"/g)?.length ?? 0;
    expect(count(svg)).toBe(2);
    expect(count(panels.filter((p) => p.includes('id="p1-map"')).join(''))).toBe(0);
  });

  it('throws for an empty panel list, a bad column count and a bad panel', () => {
    expect(() => renderPanelsPng([])).toThrow('no panels to render');
    expect(() => renderPanelsPng([{ field: latField }], { cols: 0 })).toThrow(
      'cols must be a positive integer',
    );
    expect(() =>
      renderPanelsPng([{ field: latField }, { field: latField, mask: new Uint8Array(2) }]),
    ).toThrow('panel 1: mask of length 2');
  });
});

describe('colormapRgb', () => {
  it('hits the published viridis and RdBu stops', () => {
    expect(colormapRgb('sequential', 0)).toEqual([0x44, 0x01, 0x54]);
    expect(colormapRgb('sequential', 0.5)).toEqual([0x21, 0x91, 0x8c]);
    expect(colormapRgb('sequential', 1)).toEqual(VIRIDIS_TOP);
    expect(colormapRgb('diverging', 0.5)).toEqual([0xf7, 0xf7, 0xf7]);
    expect(colormapRgb('diverging', 1)).toEqual([0x67, 0x00, 0x1f]);
  });
});

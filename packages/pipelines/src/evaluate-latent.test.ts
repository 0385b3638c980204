import { AppError } from '@alignda/errors';
import { QG_CHANNELS } from '@alignda/world';
import { describe, expect, it } from 'vitest';

import { LATENT_MODES } from './assimilate.js';
import { pickCases } from './cases.js';
import {
  DPS_ZETAS,
  EVAL_METHODS,
  GEO_SCORE_SCALE,
  HYBRID_GRID,
  LEAD_STEPS,
  LETKF_GRID,
  REPAINT_BLENDS,
  balanceSpec,
} from './evaluate-latent.js';
import { geoLevels } from './geo.js';

describe('geoLevels', () => {
  it('pairs z, u and v of each QG level by suffix', () => {
    // QG_CHANNELS = z_upper, z_lower, u_upper, u_lower, v_upper, v_lower, t
    expect(geoLevels(QG_CHANNELS)).toEqual([
      { z: 0, u: 2, v: 4, name: 'upper' },
      { z: 1, u: 3, v: 5, name: 'lower' },
    ]);
  });

  it('finds none in a temperature-only dataset or where a wind component is missing', () => {
    expect(geoLevels(['air'])).toEqual([]);
    expect(geoLevels(['z_upper', 'u_upper', 'v_lower'])).toEqual([]);
    expect(geoLevels([])).toEqual([]);
  });

  it('names an unsuffixed level "single"', () => {
    expect(geoLevels(['v', 'u', 'z'])).toEqual([{ z: 2, u: 1, v: 0, name: 'single' }]);
  });
});

describe('the evaluation constants', () => {
  it('list every method once, the background first and the latent modes among them', () => {
    expect(new Set(EVAL_METHODS).size).toBe(EVAL_METHODS.length);
    expect(EVAL_METHODS[0]).toBe('background');
    for (const m of LATENT_MODES) expect(EVAL_METHODS).toContain(m);
    expect(EVAL_METHODS).toEqual([
      'background',
      'background-bc',
      'vae',
      'obsfree',
      'repaint',
      'dps',
      '3dvar',
      '3dvar-bal',
      'letkf',
      'hybrid',
    ]);
  });

  it("give hybrid EnVar the LETKF's tuning budget: as many candidates, distinct, weights in (0, 1], half-widths > 0", () => {
    expect(HYBRID_GRID.length).toBe(LETKF_GRID.length);
    expect(new Set(HYBRID_GRID.map((c) => `${c.weight}:${c.halfWidthM}`)).size).toBe(HYBRID_GRID.length);
    for (const c of HYBRID_GRID) {
      expect(c.weight).toBeGreaterThan(0);
      expect(c.weight).toBeLessThanOrEqual(1);
      expect(c.halfWidthM).toBeGreaterThan(0);
    }
  });

  it('have a 48 h lead, a positive Geo-Score scale and increasing guidance grids in their ranges', () => {
    expect(LEAD_STEPS * 6).toBe(48);
    expect(GEO_SCORE_SCALE).toBeGreaterThan(0);
    const increasing = (xs: readonly number[]): boolean =>
      xs.every((x, i) => i === 0 || x > (xs[i - 1] as number));
    expect(increasing(DPS_ZETAS)).toBe(true);
    expect(DPS_ZETAS[0]).toBeGreaterThan(0);
    expect(increasing(REPAINT_BLENDS)).toBe(true);
    expect(REPAINT_BLENDS[0]).toBeGreaterThan(0);
    expect(REPAINT_BLENDS.at(-1)).toBeLessThanOrEqual(1);
  });

  it("hold each guidance's own default among its candidates (DPS 0.2 and Repaint 1, packages/da)", () => {
    expect(DPS_ZETAS).toContain(0.2);
    expect(REPAINT_BLENDS).toContain(1);
  });
});

describe('pickCases', () => {
  it('spaces cases evenly inside [lo, hi), one per stride, centred in it', () => {
    expect(pickCases(100, 200, 4, false)).toEqual([112, 137, 162, 187]);
    expect(pickCases(10, 13, 3, false)).toEqual([10, 11, 12]); // every usable state
    for (const [lo, hi, n] of [
      [8, 102, 32],
      [84, 87, 2],
      [0, 1000, 7],
    ] as const) {
      const idx = pickCases(lo, hi, n, false);
      expect(idx).toHaveLength(n);
      expect(new Set(idx).size).toBe(n);
      expect(Math.min(...idx)).toBeGreaterThanOrEqual(lo);
      expect(Math.max(...idx)).toBeLessThan(hi);
      // Gaps differ by at most one state.
      const gaps = idx.slice(1).map((v, k) => v - (idx[k] as number));
      expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThanOrEqual(1);
    }
  });

  it('errors when the range has fewer states than cases', () => {
    expect(() => pickCases(84, 85, 2, false)).toThrow(AppError);
    expect(() => pickCases(84, 85, 2, false)).toThrow(
      'need 2 cases in the test period, it has 1 usable states',
    );
  });

  it('with whole days gives groups of 4 consecutive states, each starting at a multiple of 4, inside the range', () => {
    for (const [lo, hi, n] of [
      [2344, 2912, 8],
      [2337, 2912, 5],
      [1, 40, 4],
      [5, 100, 12],
    ] as const) {
      const idx = pickCases(lo, hi, n, true);
      const days = Math.ceil(n / 4);
      expect(idx).toHaveLength(4 * days); // whole days: n rounded up to a multiple of 4
      for (let d = 0; d < days; d++) {
        const first = idx[4 * d] as number;
        expect(first % 4).toBe(0);
        expect(idx.slice(4 * d, 4 * d + 4)).toEqual([first, first + 1, first + 2, first + 3]);
        if (d > 0) expect(first).toBeGreaterThan(idx[4 * d - 1] as number);
      }
      expect(Math.min(...idx)).toBeGreaterThanOrEqual(lo);
      expect(Math.max(...idx)).toBeLessThan(hi);
    }
    expect(pickCases(2, 12, 4, true)).toEqual([4, 5, 6, 7]);
  });

  it('with whole days errors on a period too short for the days asked', () => {
    // From 4 up to 11: one whole day (4..7) only; 8..11 would end at hi.
    expect(pickCases(1, 11, 4, true)).toEqual([4, 5, 6, 7]);
    expect(() => pickCases(1, 11, 5, true)).toThrow('need 2 days in the test period, it has 1');
    expect(() => pickCases(1, 7, 1, true)).toThrow(AppError);
  });
});

describe('balanceSpec', () => {
  it('pairs each z level with its winds, takes the declared hydrostatic layers, f0 and the normalisation std', () => {
    const spec = balanceSpec(
      {
        channels: QG_CHANNELS,
        dynamics: {
          coriolis: { kind: 'f0', f0PerS: 1e-4 },
          hydrostatic: [{ t: 6, zUpper: 0, zLower: 1, thicknessPerKelvin: 199 }],
        },
      },
      [1, 2, 3, 4, 5, 6, 7],
    );
    expect(spec?.levels).toEqual([
      { z: 0, u: 2, v: 4 },
      { z: 1, u: 3, v: 5 },
    ]);
    expect(spec?.hydrostatic).toEqual([{ t: 6, zUpper: 0, zLower: 1, thicknessPerKelvin: 199 }]);
    expect(spec?.coriolis).toEqual({ kind: 'f0', f0PerS: 1e-4 });
    expect(spec?.channelStd).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('is undefined for a source without declared dynamics or without geostrophic levels', () => {
    expect(balanceSpec({ channels: QG_CHANNELS }, [1, 1, 1, 1, 1, 1, 1])).toBeUndefined();
    expect(
      balanceSpec({ channels: ['air'], dynamics: { coriolis: { kind: 'latitude' } } }, [1]),
    ).toBeUndefined();
  });
});

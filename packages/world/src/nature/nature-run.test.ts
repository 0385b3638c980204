import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { geostrophicDeviation, R_DRY_J_PER_KG_K } from '@alignda/tensor';
import type { Field } from '@alignda/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseDatasetDescriptor } from '../dataset/descriptor.js';
import { openDataset } from '../dataset/open-dataset.js';
import { forecastModel } from '../qg/forecast-model.js';
import { DEFAULT_QG_PARAMS } from '../qg/params.js';
import { generateNatureRun, naturePeriods } from './nature-run.js';
import { loadOrGenerateNatureRun, openNatureRun } from './nature-store.js';
import { natureStats } from './nature-stats.js';

const HW = 32 * 64;

/** Slab `c` of a field as a [H, W] tensor. */
function slab(f: Field, c: number): { data: Float32Array; shape: [number, number] } {
  return { data: f.data.subarray(c * HW, (c + 1) * HW), shape: [32, 64] };
}

describe('nature run', () => {
  let dir: string;
  // A spun-up truth: 100 days of spin-up, then 15 six-hourly states (0.01 year).
  const truth: Field[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'alignda-nature-'));
    generateNatureRun({ seed: 3, years: 0.01, spinUpDays: 100 }, (_, f) => truth.push(f));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is deterministic from its seed and differs between seeds', () => {
    const run = (seed: number): Float32Array => {
      let last: Float32Array = new Float32Array(0);
      generateNatureRun({ seed, years: 0.005, spinUpDays: 2 }, (_, f) => (last = f.data));
      return last;
    };
    const a = run(5);
    expect(run(5)).toEqual(a);
    expect(run(6)).not.toEqual(a);
  });

  it('splits train / alignment / test as 70 / 10 / 20 % of the states without overlap', () => {
    expect(naturePeriods(1460)).toEqual({ train: [0, 1022], alignment: [1022, 1168], test: [1168, 1460] });
  });

  it('regenerates a cached run that was made with other default parameters (an older version)', () => {
    const opts = { seed: 5, years: 0.002, spinUpDays: 2, dir };
    const first = loadOrGenerateNatureRun(opts);
    // Pretend an older version with another default drag wrote this cache entry.
    const attrsPath = join(first.zarrPath, '.zattrs');
    const attrs = JSON.parse(readFileSync(attrsPath, 'utf8')) as { params: string };
    const stale = { ...(JSON.parse(attrs.params) as Record<string, number>), dragPerS: 1e-3 };
    writeFileSync(attrsPath, JSON.stringify({ ...attrs, params: JSON.stringify(stale) }));
    expect(openNatureRun(first.dir).params.dragPerS).toBe(1e-3);
    const again = loadOrGenerateNatureRun(opts);
    expect(again.params.dragPerS).toBe(DEFAULT_QG_PARAMS.dragPerS);
    expect(again.state(2).data).toEqual(first.state(2).data);
  });

  it('caches a Zarr v2 store with a valid descriptor that the dataset reader opens with the same values', async () => {
    const opts = { seed: 4, years: 0.01, spinUpDays: 2, dir };
    // Overrides (here the spin-up) give a cache entry of their own, named with a hash.
    expect(loadOrGenerateNatureRun({ ...opts, years: 0.002 }).dir).toMatch(/qg-s4-y0p002-v1-[0-9a-f]{8}$/);
    const run = loadOrGenerateNatureRun(opts);
    expect(run.count).toBe(15);
    const zattrs = JSON.parse(readFileSync(join(run.zarrPath, 'z_upper', '.zattrs'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(zattrs).toMatchObject({ units: 'm2 s-2', _ARRAY_DIMENSIONS: ['time', 'lat', 'lon'] });
    const timeAttrs = JSON.parse(readFileSync(join(run.zarrPath, 'time', '.zattrs'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(timeAttrs.units).toBe('hours since 2001-01-01 00:00:00');
    // A second call reads the cache (same object contents, no regeneration needed).
    expect(openNatureRun(run.dir).state(14).data).toEqual(run.state(14).data);
    const descriptor = parseDatasetDescriptor(run.descriptor);
    const opened = await openDataset(descriptor, { baseDir: run.dir });
    expect(opened.shape).toEqual([7, 32, 64]);
    expect(opened.times[1]?.toISOString()).toBe('2001-01-01T06:00:00.000Z');
    expect((await opened.read(7)).data).toEqual(run.state(7).data);
    expect(opened.period('test')).toEqual({ start: run.periods.test[0], end: run.periods.test[1] });
    // Statistics: the perturbation is periodic, so the domain-mean winds are exactly the imposed U_i and 0.
    const stats = natureStats(run);
    const mean = (name: string): number => stats.channels.find((c) => c.name === name)?.mean ?? Number.NaN;
    expect(mean('u_upper')).toBeCloseTo(22, 4);
    expect(mean('u_lower')).toBeCloseTo(5, 4);
    expect(mean('v_upper')).toBeCloseTo(0, 4);
    expect(stats.eke).toHaveLength(15);
    expect(stats.dominantWavelengthKm * stats.dominantWavenumber).toBeCloseTo((64 * run.grid.dxM) / 1000, 6);
  });

  it('holds the hydrostatic relation exactly: T = (Phi_upper - Phi_lower) / (R_d ln 3) to float32 rounding', () => {
    const rt = R_DRY_J_PER_KG_K * Math.log(750 / 250);
    let maxErr = 0;
    for (const f of truth) {
      for (let p = 0; p < HW; p++) {
        const t = ((f.data[p] as number) - (f.data[HW + p] as number)) / rt;
        maxErr = Math.max(maxErr, Math.abs((f.data[6 * HW + p] as number) - t));
      }
    }
    // float32 spacing near 1e5 m2/s2 is 0.0078 -> 2.5e-5 K; near 245 K it is 1.5e-5 K.
    expect(maxErr).toBeLessThan(1e-4);
  });

  it('is geostrophic w.r.t. f0 up to finite differencing (D < 0.05) and reports D w.r.t. f0 + beta y', ({
    annotate,
  }) => {
    const f = truth[truth.length - 1] as Field;
    const grid = f.grid;
    if (grid.kind !== 'beta-plane') throw new Error('expected a beta-plane grid');
    const fPlane = { ...grid, betaPerMS: 0 };
    const upper = geostrophicDeviation(slab(f, 2), slab(f, 4), slab(f, 0), fPlane, { tropicsDeg: 0 });
    const lower = geostrophicDeviation(slab(f, 3), slab(f, 5), slab(f, 1), fPlane, { tropicsDeg: 0 });
    const betaUpper = geostrophicDeviation(slab(f, 2), slab(f, 4), slab(f, 0), grid, { tropicsDeg: 0 });
    void annotate(
      `D (f0) upper ${upper.d.toFixed(4)}, lower ${lower.d.toFixed(4)}; D (f0 + beta y) upper ${betaUpper.d.toFixed(4)}`,
    );
    // Winds are exact spectral derivatives; the reference D uses second-order differences, whose
    // error for the dominant 4700-7000 km waves on a 174-221 km grid is ~ (k dx)^2 / 6 ~ 1-3 %.
    expect(upper.d).toBeLessThan(0.05);
    expect(lower.d).toBeLessThan(0.05);
    expect(upper.d).toBeGreaterThan(0); // finite differences never match spectral derivatives exactly
  });

  it('gives 6..48 h forecasts from the truth whose errors grow with lead time, while the unperturbed model tracks the truth', () => {
    const start = truth[0] as Field;
    const imperfect = forecastModel().forecast(start, 48);
    const perfect = forecastModel({}).forecast(start, 48);
    const rmse = (a: Field, b: Field, c: number): number => {
      let s = 0;
      for (let p = c * HW; p < (c + 1) * HW; p++) s += ((a.data[p] as number) - (b.data[p] as number)) ** 2;
      return Math.sqrt(s / HW);
    };
    const errs = imperfect.map((f, l) => rmse(f, truth[l + 1] as Field, 0));
    for (let l = 1; l < errs.length; l++) expect(errs[l]).toBeGreaterThan(errs[l - 1] as number);
    // Growth is substantial: measured ~8x from 6 to 48 h over 20 cases (README); require > 3x.
    expect((errs[7] as number) / (errs[0] as number)).toBeGreaterThan(3);
    // float32 storage of the initial state is the only difference for the perfect model (~5e-3 m2/s2 after 48 h).
    expect(rmse(perfect[7] as Field, truth[8] as Field, 0)).toBeLessThan(0.1);
  });
});

import { AppError } from '@alignda/errors';
import { createField, createRng, latLonGrid } from '@alignda/tensor';
import type { Field } from '@alignda/tensor';
import { DatasetError } from '@alignda/world';
import { describe, expect, it } from 'vitest';

import { observe } from './observe.js';
import type { ObserveOptions } from './observe.js';

/** A random field of C channels on an H x W latitude-longitude grid (values ~ N(0, 1)). */
function randomField(C: number, H: number, W: number, seed: number): Field {
  const grid = latLonGrid(
    Array.from({ length: H }, (_, i) => -60 + (120 * i) / (H - 1)),
    Array.from({ length: W }, (_, j) => (360 * j) / W),
  );
  const channels = Array.from({ length: C }, (_, c) => `x${c}`);
  return createField({
    data: createRng(seed).fillNormal(new Float32Array(C * H * W)),
    channels,
    units: channels.map(() => '1'),
    grid,
  });
}

/** The observed columns (flat cells i W + j) and, per column, the sorted channels observed there. */
function columns(gridIndex: Int32Array, HW: number): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const g of gridIndex) {
    const cell = g % HW;
    out.set(
      cell,
      [...(out.get(cell) ?? []), Math.floor(g / HW)].sort((a, b) => a - b),
    );
  }
  return out;
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

const truth = randomField(3, 10, 20, 1); // 200 columns, 600 values
const HW = 200;

describe('observe', () => {
  it('is deterministic for a seed: the same seed gives the same selection, values and stds; another seed another selection', () => {
    const opts: ObserveOptions = { fraction: 0.1, noiseStd: 0.3 };
    const a = observe(truth, opts, createRng(11));
    const b = observe(truth, opts, createRng(11));
    expect(b.gridIndex).toEqual(a.gridIndex);
    expect(b.values).toEqual(a.values);
    expect(b.std).toEqual(a.std);
    const other = observe(truth, opts, createRng(12));
    expect(other.gridIndex).not.toEqual(a.gridIndex);
  });

  it('observes round(fraction H W) columns, every channel of each, through a selection operator', () => {
    for (const fraction of [0.123, 0.5, 1]) {
      const obs = observe(truth, { fraction, noiseStd: 0.1 }, createRng(3));
      const m = Math.round(fraction * HW); // 25, 100, 200
      expect(obs.values).toHaveLength(m * 3);
      expect(obs.operator.size).toBe(m * 3);
      expect(obs.operator.stateShape).toEqual([3, 10, 20]);
      const cols = columns(obs.gridIndex ?? new Int32Array(), HW);
      expect(cols.size).toBe(m);
      for (const chans of cols.values()) expect(chans).toEqual([0, 1, 2]);
      // H selects the state values at gridIndex.
      const hx = obs.operator.apply(truth.data, new Float64Array(obs.operator.size));
      obs.gridIndex?.forEach((g, p) => expect(hx[p]).toBe(truth.data[g]));
    }
    // At least one column, however small the fraction.
    expect(observe(truth, { fraction: 1e-4, noiseStd: 0.1 }, createRng(3)).values).toHaveLength(3);
  });

  it('gives the truth itself at the observed points when noise-free', () => {
    const obs = observe(truth, { fraction: 0.3, noiseStd: 0, errorStd: 0.05 }, createRng(4));
    expect(obs.values.length).toBeGreaterThan(0);
    obs.gridIndex?.forEach((g, p) => expect(obs.values[p]).toBe(truth.data[g]));
  });

  it('adds noise whose sample std over 19 200 points is within 5 standard errors of noiseStd and whose mean is within 4 of 0', () => {
    // fraction 1 on 3 x 80 x 80: n = 19 200 residuals. The relative standard error of a sample std is 1 / sqrt(2 n)
    // (0.51 %) and that of the mean noiseStd / sqrt(n). Measured at this seed: std 0.997 x noiseStd (0.6 standard
    // errors), mean -2.6 standard errors.
    const big = randomField(3, 80, 80, 2);
    const noiseStd = 0.7;
    const obs = observe(big, { fraction: 1, noiseStd }, createRng(5));
    const n = obs.values.length;
    expect(n).toBe(3 * 80 * 80);
    const r = Array.from(obs.values, (v, p) => v - (big.data[obs.gridIndex?.[p] as number] as number));
    const mean = r.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    expect(Math.abs(sd / noiseStd - 1)).toBeLessThan(5 / Math.sqrt(2 * n));
    expect(Math.abs(mean)).toBeLessThan((4 * noiseStd) / Math.sqrt(n));
  });

  it('gives R the noise std by default and the error std when one is given', () => {
    const byDefault = observe(truth, { fraction: 0.2, noiseStd: 0.3 }, createRng(6));
    expect(byDefault.std.length).toBeGreaterThan(0);
    expect(new Set(byDefault.std)).toEqual(new Set([0.3]));
    const given = observe(truth, { fraction: 0.2, noiseStd: 0.3, errorStd: 0.45 }, createRng(6));
    expect(new Set(given.std)).toEqual(new Set([0.45]));
    // The assumed error std does not change what is observed.
    expect(given.gridIndex).toEqual(byDefault.gridIndex);
    expect(given.values).toEqual(byDefault.values);
  });

  it('draws columns only among the valid cells of validMask', () => {
    // Valid: the western half of each row but its first column (9 of 20 columns per row, 90 cells).
    const validMask = new Uint8Array(HW);
    for (let i = 0; i < 10; i++) for (let j = 1; j < 10; j++) validMask[i * 20 + j] = 1;
    for (const fraction of [0.3, 1]) {
      const obs = observe(truth, { fraction, noiseStd: 0.1, validMask }, createRng(7));
      const cols = columns(obs.gridIndex ?? new Int32Array(), HW);
      expect(cols.size).toBe(Math.round(fraction * 90)); // a share of the valid cells, not of the grid
      for (const cell of cols.keys()) expect(validMask[cell]).toBe(1);
    }
  });

  it.each([
    ['a fraction of 0', { fraction: 0, noiseStd: 0.1 }, /fraction 0 is not in \(0, 1\]/],
    ['a fraction above 1', { fraction: 1.5, noiseStd: 0.1 }, /fraction 1.5 is not in \(0, 1\]/],
    ['a NaN fraction', { fraction: Number.NaN, noiseStd: 0.1 }, /fraction NaN is not in \(0, 1\]/],
    [
      'an error std of 0 with no noise',
      { fraction: 0.5, noiseStd: 0, errorStd: 0 },
      /error std 0 .* is not > 0/,
    ],
    ['no error std with no noise', { fraction: 0.5, noiseStd: 0 }, /error std 0 .* is not > 0/],
    ['a negative error std', { fraction: 0.5, noiseStd: 0.1, errorStd: -1 }, /error std -1 .* is not > 0/],
    [
      'a validMask of the wrong size',
      { fraction: 0.5, noiseStd: 0.1, validMask: new Uint8Array(7) },
      /validMask has length 7, expected 200/,
    ],
    [
      'a validMask with no valid cell',
      { fraction: 0.5, noiseStd: 0.1, validMask: new Uint8Array(200) },
      /validMask has no valid cell/,
    ],
  ])(
    'rejects %s with a DatasetError (an AppError, INVALID_ARGUMENT) naming the problem',
    (_what, opts, message) => {
      const e = thrown(() => observe(truth, opts, createRng(1)));
      expect(e).toBeInstanceOf(DatasetError);
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('INVALID_ARGUMENT');
      expect((e as Error).message).toMatch(message);
    },
  );
});

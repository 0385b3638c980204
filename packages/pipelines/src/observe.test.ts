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
    const opts: ObserveOptions = { layout: 'columns', fraction: 0.1, noiseStd: 0.3 };
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
      const obs = observe(truth, { layout: 'columns', fraction, noiseStd: 0.1 }, createRng(3));
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
    expect(
      observe(truth, { layout: 'columns', fraction: 1e-4, noiseStd: 0.1 }, createRng(3)).values,
    ).toHaveLength(3);
  });

  it('gives the truth itself at the observed points when noise-free', () => {
    const obs = observe(
      truth,
      { layout: 'columns', fraction: 0.3, noiseStd: 0, errorStd: 0.05 },
      createRng(4),
    );
    expect(obs.values.length).toBeGreaterThan(0);
    obs.gridIndex?.forEach((g, p) => expect(obs.values[p]).toBe(truth.data[g]));
  });

  it('adds noise whose sample std over 19 200 points is within 5 standard errors of noiseStd and whose mean is within 4 of 0', () => {
    // fraction 1 on 3 x 80 x 80: n = 19 200 residuals. The relative standard error of a sample std is 1 / sqrt(2 n)
    // (0.51 %) and that of the mean noiseStd / sqrt(n). Measured at this seed: std 0.997 x noiseStd (0.6 standard
    // errors), mean -2.6 standard errors.
    const big = randomField(3, 80, 80, 2);
    const noiseStd = 0.7;
    const obs = observe(big, { layout: 'columns', fraction: 1, noiseStd }, createRng(5));
    const n = obs.values.length;
    expect(n).toBe(3 * 80 * 80);
    const r = Array.from(obs.values, (v, p) => v - (big.data[obs.gridIndex?.[p] as number] as number));
    const mean = r.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    expect(Math.abs(sd / noiseStd - 1)).toBeLessThan(5 / Math.sqrt(2 * n));
    expect(Math.abs(mean)).toBeLessThan((4 * noiseStd) / Math.sqrt(n));
  });

  it('gives R the noise std by default and the error std when one is given', () => {
    const byDefault = observe(truth, { layout: 'columns', fraction: 0.2, noiseStd: 0.3 }, createRng(6));
    expect(byDefault.std.length).toBeGreaterThan(0);
    expect(new Set(byDefault.std)).toEqual(new Set([0.3]));
    const given = observe(
      truth,
      { layout: 'columns', fraction: 0.2, noiseStd: 0.3, errorStd: 0.45 },
      createRng(6),
    );
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
      const obs = observe(truth, { layout: 'columns', fraction, noiseStd: 0.1, validMask }, createRng(7));
      const cols = columns(obs.gridIndex ?? new Int32Array(), HW);
      expect(cols.size).toBe(Math.round(fraction * 90)); // a share of the valid cells, not of the grid
      for (const cell of cols.keys()) expect(validMask[cell]).toBe(1);
    }
  });

  it.each([
    ['a fraction of 0', { layout: 'columns', fraction: 0, noiseStd: 0.1 }, /fraction 0 is not in \(0, 1\]/],
    [
      'a fraction above 1',
      { layout: 'columns', fraction: 1.5, noiseStd: 0.1 },
      /fraction 1.5 is not in \(0, 1\]/,
    ],
    [
      'a NaN fraction',
      { layout: 'columns', fraction: Number.NaN, noiseStd: 0.1 },
      /fraction NaN is not in \(0, 1\]/,
    ],
    [
      'an error std of 0 with no noise',
      { layout: 'columns', fraction: 0.5, noiseStd: 0, errorStd: 0 },
      /error std 0 .* is not > 0/,
    ],
    [
      'no error std with no noise',
      { layout: 'columns', fraction: 0.5, noiseStd: 0 },
      /error std 0 .* is not > 0/,
    ],
    [
      'a negative error std',
      { layout: 'columns', fraction: 0.5, noiseStd: 0.1, errorStd: -1 },
      /error std -1 .* is not > 0/,
    ],
    [
      'a validMask of the wrong size',
      { layout: 'columns', fraction: 0.5, noiseStd: 0.1, validMask: new Uint8Array(7) },
      /validMask has length 7, expected 200/,
    ],
    [
      'a validMask with no valid cell',
      { layout: 'columns', fraction: 0.5, noiseStd: 0.1, validMask: new Uint8Array(200) },
      /validMask has no valid cell/,
    ],
  ])(
    'rejects %s with a DatasetError (an AppError, INVALID_ARGUMENT) naming the problem',
    (_what, opts, message) => {
      const e = thrown(() => observe(truth, opts as ObserveOptions, createRng(1)));
      expect(e).toBeInstanceOf(DatasetError);
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe('INVALID_ARGUMENT');
      expect((e as Error).message).toMatch(message);
    },
  );
});

describe('observe with single values', () => {
  it('draws round(fraction C H W) distinct values, not whole columns, deterministically for a seed', () => {
    const opts: ObserveOptions = { layout: 'values', fraction: 0.1, noiseStd: 0, errorStd: 0.02 };
    const a = observe(truth, opts, createRng(9));
    const b = observe(truth, opts, createRng(9));
    expect(a.values).toHaveLength(Math.round(0.1 * 600)); // 60
    expect(Array.from(a.gridIndex ?? [])).toEqual(Array.from(b.gridIndex ?? []));
    expect(new Set(a.gridIndex).size).toBe(60);
    // Noise-free: each value is the truth at its (channel, cell).
    (a.gridIndex ?? []).forEach((g, p) => expect(a.values[p]).toBe(truth.data[g]));
    // With 60 of 600 values spread over 200 cells, some observed cell must miss a channel: not whole columns.
    const partial = [...columns(a.gridIndex ?? new Int32Array(), HW).values()].filter((cs) => cs.length < 3);
    expect(partial.length).toBeGreaterThan(0);
    // Every channel is observed somewhere.
    expect(new Set(Array.from(a.gridIndex ?? [], (g) => Math.floor(g / HW))).size).toBe(3);
  });

  it('keeps to the valid cells', () => {
    const validMask = new Uint8Array(HW);
    for (let k = 0; k < 50; k++) validMask[k] = 1;
    const obs = observe(truth, { layout: 'values', fraction: 0.5, noiseStd: 0.1, validMask }, createRng(4));
    expect(obs.values).toHaveLength(Math.round(0.5 * 3 * 50));
    for (const g of obs.gridIndex ?? []) expect(validMask[g % HW]).toBe(1);
  });
});

describe('observe at points off the grid', () => {
  it('interpolates bilinearly: noise-free values are H x, each row of H is 4 weights summing to 1', () => {
    const obs = observe(
      truth,
      { layout: 'points', fraction: 0.05, noiseStd: 0, errorStd: 0.02 },
      createRng(5),
    );
    expect(obs.values).toHaveLength(Math.round(0.05 * 600)); // 30
    expect(obs.gridIndex).toBeUndefined(); // not gridded: Repaint refuses it, DPS and 3D-Var take it
    expect(Array.from(obs.operator.apply(truth.data, new Float64Array(30)))).toEqual(Array.from(obs.values));
    // H applied to a constant state of ones gives ones (weights sum to 1 per row).
    const ones = obs.operator.apply(new Float32Array(600).fill(1), new Float64Array(30));
    for (const v of ones) expect(v).toBeCloseTo(1, 12);
    // The adjoint: <H x, r> = <x, H^T r>.
    const r = createRng(6).fillNormal(new Float64Array(30));
    const x = createRng(7).fillNormal(new Float64Array(600));
    const hx = obs.operator.apply(x, new Float64Array(30));
    const htr = obs.operator.adjoint(r, new Float64Array(600));
    const lhs = hx.reduce((s, v, p) => s + v * (r[p] as number), 0);
    const rhs = x.reduce((s, v, k) => s + v * (htr[k] as number), 0);
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-10 * Math.max(1, Math.abs(lhs)));
    expect(Array.from(obs.std)).toEqual(new Array<number>(30).fill(0.02));
  });

  it('is deterministic for a seed and places no point where its interpolation touches a padded cell', () => {
    const validMask = new Uint8Array(HW);
    for (let i = 2; i < 8; i++) for (let j = 0; j < 10; j++) validMask[i * 20 + j] = 1;
    const opts: ObserveOptions = { layout: 'points', fraction: 0.05, noiseStd: 0.1, validMask };
    const a = observe(truth, opts, createRng(8));
    const b = observe(truth, opts, createRng(8));
    expect(Array.from(a.values)).toEqual(Array.from(b.values));
    // Any state that is zero on the valid cells maps to zero: H reads only valid cells.
    const offValid = new Float32Array(600);
    for (let c = 0; c < 3; c++) for (let k = 0; k < HW; k++) if (validMask[k] === 0) offValid[c * HW + k] = 1;
    for (const v of a.operator.apply(offValid, new Float64Array(a.values.length))) expect(v).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { isAppError } from '@alignda/errors';
import { griddedObservations, validateObservations } from './observations.js';
import { dps } from './guidance/dps.js';
import { repaint } from './guidance/repaint.js';
import type { GriddedObservationInput } from './observations.js';
import type { Observations } from './ports.js';
import { identityCodec } from './internal/fixtures.js';
import { sample } from './sampler.js';

const base: GriddedObservationInput = {
  stateShape: [2, 3, 4],
  channels: ['z', 'u'],
  channel: [0, 'u'],
  row: [0, 2],
  col: [1, 3],
  value: [1, 2],
  std: 0.5,
};

function rejection(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    expect(isAppError(err) && err.code === 'INVALID_ARGUMENT').toBe(true);
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('griddedObservations', () => {
  it('builds H as a selection of (channel, row, col) with its adjoint the scatter', () => {
    const obs = griddedObservations(base);
    expect(Array.from(obs.gridIndex ?? [])).toEqual([1, 12 + 8 + 3]);
    const x = Float64Array.from({ length: 24 }, (_, i) => i);
    expect(Array.from(obs.operator.apply(x, new Float64Array(2)))).toEqual([1, 23]);
    // <H x, r> = <x, H^T r>
    const r = Float64Array.from([0.3, -2]);
    const hTr = obs.operator.adjoint(r, new Float64Array(24));
    expect(x.reduce((s, v, i) => s + v * (hTr[i] as number), 0)).toBeCloseTo(1 * 0.3 + 23 * -2, 12);
  });

  it.each([
    ['a NaN value', { value: [1, Number.NaN] }, /observation 1 has a non-finite value NaN/],
    [
      'a row off the grid',
      { row: [0, 3] },
      /observation 1 at \(row 3, col 3\) is off the grid \(rows 0\.\.2, cols 0\.\.3\)/,
    ],
    ['a negative column', { col: [-1, 3] }, /observation 0 at \(row 0, col -1\) is off the grid/],
    ['a fractional row', { row: [0.5, 2] }, /off the grid/],
    ['a zero error std', { std: 0 }, /error standard deviation 0; it must be finite and > 0/],
    ['a negative error std', { std: [0.5, -1] }, /observation 1 has error standard deviation -1/],
    ['an empty set', { channel: [], row: [], col: [], value: [] }, /the observation set is empty/],
    [
      'a channel the state does not have',
      { channel: [0, 'q'] },
      /channel 'q', which the state does not have \(channels: z, u\)/,
    ],
    [
      'a channel index past the last',
      { channel: [2, 0] },
      /observation 0 is of channel 2 but the state has channels 0\.\.1/,
    ],
    [
      'a point observed twice',
      { row: [0, 0], col: [1, 1], channel: [0, 0] },
      /observations 0 and 1 are both at channel 0, row 0, col 1/,
    ],
    ['columns of different lengths', { row: [0] }, /row has 1 entries but value has 2/],
  ])('rejects %s with a clear INVALID_ARGUMENT', (_name, patch, message) => {
    expect(rejection(() => griddedObservations({ ...base, ...patch })).message).toMatch(message);
  });
});

describe('observation checks at the guidance entry', () => {
  const good = griddedObservations(base);

  it('rejects an operator built for another channel count, naming both shapes', () => {
    const err = rejection(() => validateObservations('dps', good, [3, 3, 4]));
    expect(err.message).toMatch(
      /reads 2 channels but the state has 3 \(operator state shape \[2, 3, 4\], state shape \[3, 3, 4\]\)/,
    );
  });

  it('rejects observations whose arrays were corrupted after construction (NaN value, zero std, empty operator)', () => {
    const nanValues: Observations = { ...good, values: Float64Array.from([1, Number.NaN]) };
    expect(
      rejection(() => dps({ obs: nanValues, decoder: identityCodec, vjp: identityCodec })).message,
    ).toMatch(/^dps: observation 1 has a non-finite value/);
    const zeroStd: Observations = { ...good, std: Float64Array.from([0.5, 0]) };
    expect(
      rejection(() => repaint({ obs: zeroStd, encoder: identityCodec, decoder: identityCodec })).message,
    ).toMatch(/^repaint: observation 1 has error standard deviation 0/);
    const empty: Observations = {
      operator: { ...good.operator, size: 0 },
      values: new Float64Array(0),
      std: new Float64Array(0),
    };
    expect(rejection(() => dps({ obs: empty, decoder: identityCodec, vjp: identityCodec })).message).toMatch(
      /empty/,
    );
  });

  it('copies the observations, so changing the caller arrays later cannot reach a sampler', async () => {
    const values = Float64Array.from([1, 2]);
    const obs: Observations = { ...good, values };
    const g = dps({ obs, decoder: identityCodec, vjp: identityCodec });
    values[0] = Number.NaN;
    const halfDenoiser = (z: Float32Array): Float32Array => z.map((v) => 0.5 * v);
    const z = await sample(halfDenoiser, g, { zShape: [2, 3, 4], steps: 4, seed: 1 });
    expect(z.data.every(Number.isFinite)).toBe(true);
  });
});

import { createRng } from '@alignda/tensor';
import type { Field, LatLonGrid } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { simulateGriddedObs } from './simulate-gridded.js';

const H = 32;
const W = 64;
const grid: LatLonGrid = {
  kind: 'latlon',
  latDeg: Float64Array.from({ length: H }, (_, i) => 20 + i * 1.6),
  lonDeg: Float64Array.from({ length: W }, (_, j) => j * 5.625),
  periodicLon: true,
};
// Channel c holds 1000 c + cell index, so every observed value reveals its location and channel.
const field: Field = {
  data: Float32Array.from({ length: 3 * H * W }, (_, k) => 1000 * Math.floor(k / (H * W)) + (k % (H * W))),
  shape: [3, H, W],
  channels: ['a', 'b', 'c'],
  units: ['1', '1', '1'],
  grid,
};

describe('simulateGriddedObs', () => {
  it('observes the requested share of columns in every chosen channel, noise-free values equal to the field', () => {
    const { batch, mask } = simulateGriddedObs(field, {
      fraction: 0.05,
      channels: ['a', 'c'],
      errorStd: 0.5,
      rng: createRng(1),
    });
    const cols = Math.round(0.05 * H * W); // 102
    expect(batch.value.length).toBe(2 * cols);
    for (let k = 0; k < batch.value.length; k++) {
      const c = batch.channelIndex[k] as number;
      const cell = (batch.row?.[k] as number) * W + (batch.col?.[k] as number);
      expect(batch.value[k]).toBe(field.data[c * H * W + cell]);
      expect(batch.latDeg[k]).toBe(grid.latDeg[batch.row?.[k] as number]);
      expect(mask[c * H * W + cell]).toBe(1);
    }
    expect(new Set(batch.channelIndex)).toEqual(new Set([0, 2]));
    expect(mask.subarray(H * W, 2 * H * W).every((m) => m === 0)).toBe(true);
    expect(mask.reduce((a, b) => a + b, 0)).toBe(2 * cols);
    expect(batch.errorStd.every((s) => s === 0.5)).toBe(true);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = simulateGriddedObs(field, { fraction: 0.1, noiseStd: 1, rng: createRng(5) });
    const b = simulateGriddedObs(field, { fraction: 0.1, noiseStd: 1, rng: createRng(5) });
    const c = simulateGriddedObs(field, { fraction: 0.1, noiseStd: 1, rng: createRng(6) });
    expect(Array.from(a.batch.value)).toEqual(Array.from(b.batch.value));
    expect(Array.from(a.mask)).not.toEqual(Array.from(c.mask));
  });

  it('adds Gaussian noise with the per-channel standard deviation', () => {
    const { batch } = simulateGriddedObs(field, { fraction: 1, noiseStd: [0.5, 2, 4], rng: createRng(9) });
    for (const [c, sd] of [
      [0, 0.5],
      [1, 2],
      [2, 4],
    ] as const) {
      let s2 = 0;
      let n = 0;
      for (let k = 0; k < batch.value.length; k++) {
        if (batch.channelIndex[k] !== c) continue;
        const cell = (batch.row?.[k] as number) * W + (batch.col?.[k] as number);
        s2 += ((batch.value[k] as number) - (field.data[c * H * W + cell] as number)) ** 2;
        n++;
      }
      // 2048 draws: the sample std is within 5 % of the truth with overwhelming probability (se ~1.6 %).
      expect(Math.sqrt(s2 / n) / sd).toBeGreaterThan(0.95);
      expect(Math.sqrt(s2 / n) / sd).toBeLessThan(1.05);
      expect(batch.errorStd[batch.channelIndex.indexOf(c)]).toBe(sd);
    }
  });

  it('draws columns only inside the valid mask', () => {
    const valid = new Uint8Array(H * W);
    for (let j = 0; j < 10; j++) valid[5 * W + j] = 1;
    const { batch } = simulateGriddedObs(field, {
      fraction: 0.5,
      channels: [0],
      errorStd: 1,
      validMask: valid,
      rng: createRng(2),
    });
    expect(batch.value.length).toBe(5);
    expect(Array.from(batch.row ?? []).every((r) => r === 5)).toBe(true);
  });

  it('throws for an unknown channel, a bad fraction, or noise-free observations without an error std', () => {
    const rng = createRng(0);
    expect(() => simulateGriddedObs(field, { fraction: 0.1, channels: ['z'], errorStd: 1, rng })).toThrow(
      'unknown channel z',
    );
    expect(() => simulateGriddedObs(field, { fraction: 0, errorStd: 1, rng })).toThrow(
      'fraction 0 is not in (0, 1]',
    );
    expect(() => simulateGriddedObs(field, { fraction: 0.1, rng })).toThrow('need an assumed errorStd');
  });
});

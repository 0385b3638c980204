import { normalise } from '@alignda/tensor';
import type { StateSource } from '@alignda/world';
import { describe, expect, it } from 'vitest';

import { fitTrainNorm, loadPeriod } from './data.js';

// A 1-channel 2 x 3 source of 6 states (train 0..3, test 4..5): cell k holds 10 k + (t % 2), so every cell has its
// own level (a fixed geography) and the same +-0.5 swing about it; the last column is padded (invalid).
const H = 2;
const W = 3;
const state = (t: number): Float32Array => Float32Array.from({ length: H * W }, (_, k) => 10 * k + (t % 2));
const validMask = Uint8Array.from({ length: H * W }, (_, k) => (k % W === W - 1 ? 0 : 1));
function source(kind?: 'dataset' | 'world'): StateSource {
  const src: StateSource = {
    channels: ['t'],
    periods: { train: [0, 4], test: [4, 6] },
    state: (t) => ({ data: state(t), shape: [1, H, W] }),
    validMask,
  };
  // A DaSource's kind, on a bare StateSource (fitTrainNorm reads it when present).
  return kind === undefined ? src : Object.assign(src, { kind });
}

describe('fitTrainNorm', () => {
  it("centres a dataset's cells on their train-period climatology, std still over the valid cells", () => {
    const norm = fitTrainNorm(source('dataset'));
    expect(norm.meanField).toEqual([0.5, 10.5, 20.5, 30.5, 40.5, 50.5]);
    // mean and std over the valid cells (columns 0 and 1) as without the climatology: levels 0, 10, 30, 40.
    const plain = fitTrainNorm(source('dataset'), { climatology: false });
    expect(plain.meanField).toBeUndefined();
    expect(norm.mean).toEqual(plain.mean);
    expect(norm.std).toEqual(plain.std);
    expect(norm.mean[0]).toBeCloseTo(20.5, 12);
    // Normalised states are the +-0.5 swing over the std, in every cell, padded ones included.
    const test = loadPeriod(source('dataset'), 'test', norm);
    const s = norm.std[0] as number;
    for (const v of test.data.slice(0, H * W)) expect(v * s).toBeCloseTo(-0.5, 5);
    // Differences of normalised fields do not depend on the centring.
    const a = normalise({ data: state(1), shape: [1, H, W] }, norm).data;
    const b = normalise({ data: state(1), shape: [1, H, W] }, plain).data;
    const a0 = normalise({ data: state(0), shape: [1, H, W] }, norm).data;
    const b0 = normalise({ data: state(0), shape: [1, H, W] }, plain).data;
    for (let k = 0; k < H * W; k++)
      expect((a[k] as number) - (a0[k] as number)).toBeCloseTo((b[k] as number) - (b0[k] as number), 6);
  });

  it('keeps the per-channel centring of the synthetic world and of sources that name no kind, unless asked', () => {
    expect(fitTrainNorm(source('world')).meanField).toBeUndefined();
    expect(fitTrainNorm(source()).meanField).toBeUndefined();
    expect(fitTrainNorm(source('world'), { climatology: true }).meanField).toHaveLength(H * W);
  });
});

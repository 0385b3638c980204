import { AppError } from '@alignda/errors';
import { describe, expect, it } from 'vitest';

import { backgroundTruthPairs } from './var3d-pairs.js';

describe('backgroundTruthPairs', () => {
  it('stacks background(i) and truth(i) in the order of the indices as [N, C, H, W], awaiting async backgrounds', async () => {
    const shape = [2, 2, 3] as const; // 12 values per state
    // State i's truth is 1000 i + j and its background 1000 i + j + 0.5 (j the flat position).
    const truth = (i: number): Float32Array => Float32Array.from({ length: 12 }, (_, j) => 1000 * i + j);
    const background = (i: number): Promise<Float32Array> => Promise.resolve(truth(i).map((v) => v + 0.5));
    const fractions: number[] = [];
    const indices = [7, 2, 9];
    const pairs = await backgroundTruthPairs(indices, shape, background, truth, (f) => fractions.push(f));
    expect(pairs.background.shape).toEqual([3, 2, 2, 3]);
    expect(pairs.truth.shape).toEqual([3, 2, 2, 3]);
    expect(pairs.background.data).toHaveLength(36);
    expect(pairs.truth.data).toHaveLength(36);
    indices.forEach((i, k) => {
      expect(pairs.truth.data.subarray(k * 12, (k + 1) * 12)).toEqual(truth(i));
      expect(pairs.background.data.subarray(k * 12, (k + 1) * 12)).toEqual(truth(i).map((v) => v + 0.5));
    });
    expect(fractions).toEqual([1 / 3, 2 / 3, 1]);
  });

  it('takes synchronous backgrounds too, and gives empty stacks for no indices', async () => {
    const shape = [1, 1, 2] as const;
    const pairs = await backgroundTruthPairs(
      [4],
      shape,
      (i) => Float32Array.of(i, -i),
      (i) => Float32Array.of(i, i),
    );
    expect(Array.from(pairs.background.data)).toEqual([4, -4]);
    expect(Array.from(pairs.truth.data)).toEqual([4, 4]);
    const none = await backgroundTruthPairs(
      [],
      shape,
      () => new Float32Array(2),
      () => new Float32Array(2),
    );
    expect(none.background.shape).toEqual([0, 1, 1, 2]);
    expect(none.truth.data).toHaveLength(0);
  });

  it('rejects a background or truth of the wrong length with AppError INVALID_ARGUMENT (no silent padding)', async () => {
    const three = (): Float32Array => Float32Array.of(1, 2, 3);
    await expect(backgroundTruthPairs([0], [1, 1, 3], () => Float32Array.of(1), three)).rejects.toThrow(
      /state 0 has a background of 1 and a truth of 3 values; \[1, 1, 3\] needs 3/,
    );
    await expect(
      backgroundTruthPairs([0], [1, 1, 3], three, () => Float32Array.of(1, 2, 3, 4)),
    ).rejects.toBeInstanceOf(AppError);
  });
});

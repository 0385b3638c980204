import { latLonGrid } from '@alignda/tensor';
import { fieldsNetcdf, readAnalysisNetcdf, writeNetcdfClassic } from '@alignda/world';
import type { FieldSet } from '@alignda/world';
import { describe, expect, it } from 'vitest';

import { compareAnalyses } from './analysis-compare.js';
import { comparisonLine } from './assimilate-from-job.js';

const grid = latLonGrid([30, 0], [0, 120, 240]);
const n = 2 * 2 * 3;

/** An analysis file of channels t, u with 2 members; `tweak` changes the mean before it is written. */
function file(tweak: (mean: Float32Array) => void = () => undefined, source = 'alignda orchestrator') {
  const mean = Float32Array.from({ length: n }, (_, k) => 250 + k / 7);
  tweak(mean);
  const sets: FieldSet[] = [
    { suffix: '', description: 'mean of', data: mean },
    { suffix: '_spread', description: 'spread of', data: new Float32Array(n).fill(0.5), isQuantity: false },
    {
      suffix: '_members',
      description: 'member of',
      data: Float32Array.from({ length: 2 * n }, (_, k) => k),
      members: 2,
    },
    { suffix: '_background', description: 'background of', data: new Float32Array(n).fill(240) },
  ];
  return readAnalysisNetcdf(
    writeNetcdfClassic(
      fieldsNetcdf({
        grid,
        channels: ['t', 'u'],
        units: ['K', 'm s-1'],
        time: '2001-01-23T00:00Z',
        sets,
        validMask: Uint8Array.from([1, 1, 1, 1, 1, 0]),
        attributes: { source },
      }),
    ),
  );
}

describe('compareAnalyses', () => {
  it('finds two files with the same fields identical, whoever wrote them, masked cells included', () => {
    const c = compareAnalyses(file(), file(undefined, 'alignda assimilate'));
    expect(c).toMatchObject({ identical: true, values: 4 * 2 * 6 + 2 * 6, differences: [], mismatches: [] });
    expect(comparisonLine(c)).toBe(
      'reproduced: the analysis equals the stored one bit for bit (mean, spread, members, background; 60 values)',
    );
  });

  it('counts the values that differ by a single ulp, per variable, with the largest difference', () => {
    const c = compareAnalyses(
      file(),
      file((m) => {
        m[7] = Math.fround((m[7] as number) + 2 ** -15);
        m[8] = (m[8] as number) + 1;
      }),
    );
    expect(c.identical).toBe(false);
    expect(c.differences).toEqual([{ variable: 'u', count: 6, differing: 2, maxAbs: 1 }]);
    expect(comparisonLine(c)).toBe(
      'not reproduced: values differ from the stored analysis in u 2 of 6 (max |diff| 1.0000)',
    );
  });

  it('says why two files cannot be compared', () => {
    const one = readAnalysisNetcdf(
      writeNetcdfClassic(
        fieldsNetcdf({
          grid,
          channels: ['t'],
          units: ['K'],
          time: '2001-01-24T00:00Z',
          sets: [{ suffix: '', description: 'mean of', data: new Float32Array(6) }],
        }),
      ),
    );
    const c = compareAnalyses(file(), one);
    expect(c.identical).toBe(false);
    expect(c.mismatches).toEqual([
      'channels t where the stored analysis has t,u',
      '1 member(s) where the stored analysis has 2',
      'valid time 2001-01-24T00:00:00.000Z where the stored analysis has 2001-01-23T00:00:00.000Z',
      'no spread, members, background where the stored analysis has them',
    ]);
  });
});

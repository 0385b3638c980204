import type { CycleRecord, CycleResult } from '@alignda/pipelines';
import { describe, expect, it } from 'vitest';

import { cycleRmsePng, cycleRmseSvg } from './cycle-plot.js';

function record(cycle: number, a: number): CycleRecord {
  return {
    cycle,
    stateIndex: cycle + 1,
    time: '',
    analysisRmse: a,
    backgroundRmse: 1.2 * a,
    analysisRmseByVar: [],
    backgroundRmseByVar: [],
    omb: { mean: 0, rms: 0 },
    oma: { mean: 0, rms: 0 },
    observations: 1,
    diverged: false,
    seconds: 0,
  };
}

/** The fields of a cycle result the plot reads. */
const result = {
  methods: ['3dvar', 'letkf'],
  cycles: 5,
  intervalHours: 6,
  setup: { threshold: 0.74 },
  series: {
    '3dvar': [0, 1, 2, 3, 4].map((k) => record(k, 0.1 + 0.01 * k)),
    letkf: [0, 1, 2, 3, 4].map((k) => record(k, 0.08)),
  },
} as unknown as CycleResult;

describe('the cycle plot', () => {
  it('draws an analysis and a background line per method, and the threshold', () => {
    const svg = cycleRmseSvg(result);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const name of ['3D-Var analysis', '3D-Var background', 'LETKF analysis', 'threshold'])
      expect(svg).toContain(name);
  });

  it('rasterises to a PNG', () => {
    const png = cycleRmsePng(result);
    expect(Array.from(png.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });
});

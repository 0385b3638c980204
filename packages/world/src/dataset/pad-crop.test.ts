import { describe, expect, it } from 'vitest';

import { cfTimesToEpochMs } from './cf-time.js';
import { centredPlacement, placeAxis, placeMap, placementMask } from './pad-crop.js';

describe('centred pad/crop', () => {
  it('pads with edge values, marks padding invalid and extends the coordinates linearly', () => {
    // 2 x 3 source into 4 x 4: offsets (1, 0).
    const p = centredPlacement(2, 3, 4, 4);
    expect(p).toMatchObject({ rowOffset: 1, colOffset: 0 });
    const out = new Float32Array(16);
    placeMap([1, 2, 3, 4, 5, 6], p, 'edge', out);
    expect(Array.from(out)).toEqual([1, 2, 3, 3, 1, 2, 3, 3, 4, 5, 6, 6, 4, 5, 6, 6]);
    placeMap([1, 2, 3, 4, 5, 6], p, 'zero', out);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0, 0]);
    expect(Array.from(placementMask(p))).toEqual([0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(placeAxis(Float64Array.from([75, 72.5]), 1, 4))).toEqual([77.5, 75, 72.5, 70]);
  });

  it('crops the centre when the target is smaller', () => {
    const p = centredPlacement(1, 5, 1, 3);
    expect(p.colOffset).toBe(-1);
    const out = new Float32Array(3);
    placeMap([1, 2, 3, 4, 5], p, 'edge', out);
    expect(Array.from(out)).toEqual([2, 3, 4]);
    expect(Array.from(placementMask(p))).toEqual([1, 1, 1]);
  });
});

describe('cfTimesToEpochMs', () => {
  it('converts CF "hours since" values (the NCEP first time 1867128 h since 1800-01-01 is 2013-01-01T00Z)', () => {
    // Reference from Python: datetime(1800, 1, 1) + timedelta(hours=1867128) == datetime(2013, 1, 1).
    const [t] = cfTimesToEpochMs([1867128], 'hours since 1800-01-01');
    expect(new Date(t ?? 0).toISOString()).toBe('2013-01-01T00:00:00.000Z');
    expect(Array.from(cfTimesToEpochMs([1.5], 'days since 2000-01-01 00:00:00'))).toEqual([
      Date.UTC(2000, 0, 2, 12),
    ]);
  });

  it('rejects units it cannot read with a clear message', () => {
    expect(() => cfTimesToEpochMs([0], 'fortnights since 2000-01-01')).toThrow(
      'time units "fortnights since 2000-01-01"',
    );
    expect(() => cfTimesToEpochMs([0], 'days since 2000-01-01', '360_day')).toThrow(
      'calendar "360_day" is not supported',
    );
  });
});

import type { LatLonGrid } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { validateObsBatch } from './obs-batch.js';
import type { ObsBatch } from './obs-batch.js';
import { QC_FLAG, qcFlagNames } from './qc.js';

const grid: LatLonGrid = {
  kind: 'latlon',
  latDeg: Float64Array.from({ length: 25 }, (_, i) => 75 - 2.5 * i),
  lonDeg: Float64Array.from({ length: 53 }, (_, j) => 200 + 2.5 * j),
  periodicLon: false,
};

function batch(over: Partial<ObsBatch> = {}): ObsBatch {
  const n = over.value?.length ?? 5;
  return {
    validTime: '2014-01-01T12:00:00Z',
    channels: ['t'],
    channelIndex: new Int32Array(n),
    // obs 0 fine; 1 NaN value; 2 north of the grid; 3 error std 0; 4 error std NaN and off grid in lon
    latDeg: Float64Array.from([40, 40, 80, 40, 40]),
    lonDeg: Float64Array.from([250, 250, 250, 250, 100]),
    value: Float64Array.from([280, Number.NaN, 280, 280, 280]),
    errorStd: Float64Array.from([1, 1, 1, 0, Number.NaN]),
    qcFlags: new Uint32Array(n),
    qcReasons: new Array<string>(n).fill(''),
    ...over,
  };
}

describe('validateObsBatch', () => {
  it('rejects bad observations with QC flags and reasons and keeps the good ones', () => {
    const { accepted, rejected, batch: out } = validateObsBatch(batch(), { grid });
    expect(Array.from(accepted)).toEqual([0]);
    expect(rejected.map((r) => [r.index, qcFlagNames(r.flags)])).toEqual([
      [1, ['missing']],
      [2, ['outsideGrid']],
      [3, ['badError']],
      [4, ['outsideGrid', 'badError']],
    ]);
    expect(rejected[0]?.reason).toBe('value NaN is not finite');
    expect(rejected[1]?.reason).toBe("latitude 80 outside the grid's 15..75");
    expect(rejected[2]?.reason).toBe('error std 0 is not finite and > 0');
    expect(out.qcFlags[4]).toBe(QC_FLAG.outsideGrid | QC_FLAG.badError);
    expect(out.qcReasons[0]).toBe('');
  });

  it('without a grid still rejects latitudes beyond the poles', () => {
    const { rejected } = validateObsBatch(batch({ latDeg: Float64Array.from([40, 40, 95, 40, 40]) }));
    expect(rejected.find((r) => r.index === 2)?.reason).toBe(
      'location (95, 250) is not a point on the sphere',
    );
  });

  it('throws a clear error for an empty batch', () => {
    const empty = batch({
      channelIndex: new Int32Array(0),
      latDeg: new Float64Array(0),
      lonDeg: new Float64Array(0),
      value: new Float64Array(0),
      errorStd: new Float64Array(0),
      qcFlags: new Uint32Array(0),
      qcReasons: [],
    });
    expect(() => validateObsBatch(empty)).toThrow('observation batch is empty');
  });

  it('throws a clear error for an unknown channel', () => {
    expect(() => validateObsBatch(batch({ channelIndex: Int32Array.from([0, 0, 2, 0, 0]) }))).toThrow(
      'observation 2: unknown channel index 2 (channels: t)',
    );
  });

  it('throws a clear error when columns differ in length', () => {
    expect(() => validateObsBatch(batch({ errorStd: new Float64Array(3).fill(1) }))).toThrow(
      'errorStd has length 3, value has 5',
    );
  });
});

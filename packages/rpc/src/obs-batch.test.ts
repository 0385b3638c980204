import { describe, expect, it } from 'vitest';
import type { ObsBatch } from './generated/alignda/v1/common.js';
import { InvalidMessageError } from './invalid-message-error.js';
import { assertObsBatchMessage, obsBatchIssues } from './obs-batch.js';

/** Three well-formed gridded observations of two channels. */
function gridBatch(): ObsBatch {
  return {
    validTime: new Date(Date.UTC(2019, 0, 1)),
    channels: ['t', 'z_upper'],
    channelIndex: [0, 1, 1],
    locations: { $case: 'gridPoints', value: { row: [0, 2, 31], col: [0, 5, 63] } },
    values: [271.5, 51_000, 52_300],
    errorStd: [0.5, 50, 50],
    qcFlags: [],
    ids: [],
  };
}

const render = (batch: ObsBatch | undefined, context = {}): string[] =>
  obsBatchIssues(batch, context).map((i) => `${i.path}: ${i.message}`);

describe('observation batch validation', () => {
  it('accepts a well-formed batch, with or without the dataset context', () => {
    expect(render(gridBatch())).toEqual([]);
    expect(
      render(gridBatch(), { datasetChannels: ['t', 'z_upper', 'u'], gridShape: { height: 32, width: 64 } }),
    ).toEqual([]);
    expect(() => assertObsBatchMessage(gridBatch())).not.toThrow();
  });

  it('accepts point locations of the same length', () => {
    const batch: ObsBatch = {
      ...gridBatch(),
      locations: { $case: 'points', value: { latDeg: [10, 20, 30], lonDeg: [-5, 0, 359] } },
    };
    expect(render(batch)).toEqual([]);
  });

  it('reports lengths that differ from the number of values', () => {
    const batch: ObsBatch = {
      ...gridBatch(),
      errorStd: [1],
      qcFlags: [0, 0],
      locations: { $case: 'points', value: { latDeg: [10, 20, 30], lonDeg: [0] } },
    };
    expect(render(batch)).toEqual([
      'observations.error_std: has 1 entries, expected N = 3 (the length of values)',
      'observations.qc_flags: has 2 entries, expected 0 or N = 3 (the length of values)',
      'observations.points.lon_deg: has 1 entries, expected N = 3 (the length of values)',
    ]);
  });

  it('reports a missing valid time, missing locations and channel indices out of range', () => {
    const batch: ObsBatch = {
      ...gridBatch(),
      validTime: undefined,
      locations: undefined,
      channelIndex: [0, 2, 7],
    };
    expect(render(batch)).toEqual([
      'observations.valid_time: is required',
      'observations.channel_index[1]: 2 is not an index into the 2 channels',
      'observations.channel_index[2]: 7 is not an index into the 2 channels',
      'observations.locations: is not set (points or grid_points)',
    ]);
  });

  it('checks channel names and grid indices against the dataset when given', () => {
    const batch: ObsBatch = { ...gridBatch(), channels: ['t', 'q'], channelIndex: [0, 1, 1] };
    expect(
      render(batch, { datasetChannels: ['t', 'z_upper'], gridShape: { height: 32, width: 32 } }),
    ).toEqual([
      "observations.channels: 'q' is not a channel of the dataset (t, z_upper)",
      'observations.grid_points.col[2]: 63 is outside [0, 32)',
    ]);
  });

  it('lists a few bad entries per field and counts the rest', () => {
    const n = 10;
    const batch: ObsBatch = {
      ...gridBatch(),
      channelIndex: Array.from({ length: n }, () => 5),
      locations: {
        $case: 'gridPoints',
        value: { row: new Array<number>(n).fill(0), col: new Array<number>(n).fill(0) },
      },
      values: new Array<number>(n).fill(1),
      errorStd: new Array<number>(n).fill(1),
    };
    expect(render(batch)).toEqual([
      'observations.channel_index[0]: 5 is not an index into the 2 channels',
      'observations.channel_index[1]: 5 is not an index into the 2 channels',
      'observations.channel_index[2]: 5 is not an index into the 2 channels',
      'observations.channel_index: 7 more entries is not an index into the 2 channels',
    ]);
  });

  it('throws one InvalidMessageError whose message names the first problems', () => {
    const batch: ObsBatch = { ...gridBatch(), validTime: undefined, channels: [], errorStd: [] };
    let caught: unknown;
    try {
      assertObsBatchMessage(batch, {}, 'sample.observations');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidMessageError);
    const error = caught as InvalidMessageError;
    expect(error.issues.length).toBeGreaterThan(2);
    expect(error.message).toMatch(
      /^sample\.observations\.valid_time: is required; sample\.observations\.channels: is empty; /,
    );
    expect(render(undefined)).toEqual(['observations: is required']);
  });
});

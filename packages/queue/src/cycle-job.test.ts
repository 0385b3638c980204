import { describe, expect, it } from 'vitest';

import { CYCLE_JOB_VERSION, cycleJobData, cycleStepJobId, parseCycleJobData } from './cycle-job.js';

describe('the cycle queue contract', () => {
  it('carries the cycle id, step and correlation id with its version, through JSON as BullMQ stores it', () => {
    const data = JSON.parse(JSON.stringify(cycleJobData('c1', 7, 'r1'))) as unknown;
    expect(parseCycleJobData(data)).toEqual({
      version: CYCLE_JOB_VERSION,
      cycleId: 'c1',
      step: 7,
      correlationId: 'r1',
    });
    expect(parseCycleJobData(cycleJobData('c2', 0, '')).correlationId).toBe('c2');
  });

  it('gives each step of each cycle its own job id, free of the ":" BullMQ refuses', () => {
    const ids = new Set(['a', 'b'].flatMap((c) => [0, 1, 10].map((k) => cycleStepJobId(c, k))));
    expect(ids.size).toBe(6);
    for (const id of ids) expect(id).not.toContain(':');
    expect(cycleStepJobId('a', 1)).not.toBe(cycleStepJobId('a', 10));
  });

  it('refuses another version naming the cycle, and a payload without a cycle id or a valid step', () => {
    expect(() => parseCycleJobData({ ...cycleJobData('c3', 1, 'r'), version: 2 })).toThrow(
      expect.objectContaining({ code: 'FAILED_PRECONDITION', details: { cycleId: 'c3' } }),
    );
    expect(() => parseCycleJobData({ version: 1, step: 0 })).toThrow('the cycle-step job has no cycleId');
    for (const step of [-1, 1.5, '2', undefined])
      expect(() => parseCycleJobData({ version: 1, cycleId: 'c4', step })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
  });
});

import { describe, expect, it } from 'vitest';

import { ASSIMILATE_JOB_VERSION, assimilateJobData, parseAssimilateJobData } from './assimilate-job.js';

describe('the assimilate queue contract', () => {
  it('carries the job id, correlation id and request with its version, through JSON as BullMQ stores it', () => {
    const data = JSON.parse(
      JSON.stringify(assimilateJobData('j1', 'c1', { method: 'dps', members: 2 })),
    ) as unknown;
    expect(parseAssimilateJobData(data)).toEqual({
      version: ASSIMILATE_JOB_VERSION,
      jobId: 'j1',
      correlationId: 'c1',
      request: { method: 'dps', members: 2 },
    });
    expect(parseAssimilateJobData({ ...assimilateJobData('j2', '', {}) }).correlationId).toBe('j2');
  });

  it('refuses another version naming the job, and a payload without a job id', () => {
    expect(() => parseAssimilateJobData({ ...assimilateJobData('j3', 'c', {}), version: 0 })).toThrow(
      expect.objectContaining({ code: 'FAILED_PRECONDITION', details: { jobId: 'j3' } }),
    );
    // A payload from before versions: refused too.
    expect(() => parseAssimilateJobData({ jobId: 'j4', correlationId: 'c', request: {} })).toThrow(
      /payload version undefined; this orchestrator reads version 1/,
    );
    expect(() => parseAssimilateJobData({ version: 1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => parseAssimilateJobData(null)).toThrow('the assimilate job has no jobId in its data');
  });
});

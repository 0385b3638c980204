import { describe, expect, it } from 'vitest';

import { GuidanceMode, SampleRequest, SampleResult } from './generated/alignda/v1/sampler.js';
import {
  SAMPLE_JOB_VERSION,
  parseSampleJobData,
  parseSampleJobReturn,
  sampleFailure,
  sampleFailureReason,
  sampleJobData,
  sampleJobId,
  sampleJobReturn,
} from './sample-job.js';
import { float32FromTensor, tensorFromFloat32 } from './tensor-codec.js';

const latents = Float32Array.from({ length: 2 * 4 * 3 }, (_, i) => Math.sin(i) * 1e3 + 1e-7 * i);

const request = {
  backgroundLatent: tensorFromFloat32(latents.subarray(0, 12), [1, 4, 3], 'z'),
  guidance: GuidanceMode.DPS,
  members: 2,
  steps: 7,
  seed: 41,
  modelVersion: 'v3',
  guidanceStrength: 0.5,
} as SampleRequest;

const result: SampleResult = {
  analysisLatents: tensorFromFloat32(latents, [2, 4, 3], 'analysis_latents'),
  modelVersion: 'v3',
  steps: 7,
  corrections: 1,
  executionProvider: 'cuda',
  sampler: 'node-7:1234',
};

describe('the sample queue contract', () => {
  it('carries a SampleRequest and a SampleResult bit for bit through JSON, as BullMQ stores them', () => {
    const data = JSON.parse(JSON.stringify(sampleJobData('job-1', 'corr-1', request))) as unknown;
    const back = parseSampleJobData(data);
    expect(back.jobId).toBe('job-1');
    expect(back.correlationId).toBe('corr-1');
    const encoded = (r: SampleRequest): number[] => [...SampleRequest.encode(r).finish()];
    expect(encoded(back.request)).toEqual(encoded(request));
    expect(back.request.seed).toBe(41);

    const value = JSON.parse(JSON.stringify(sampleJobReturn(result, 'host:12'))) as unknown;
    const out = parseSampleJobReturn(value);
    expect(out.sampler).toBe('host:12');
    expect([...SampleResult.encode(out.result).finish()]).toEqual([...SampleResult.encode(result).finish()]);
    expect(float32FromTensor(out.result.analysisLatents, 'analysis_latents', [2, 4, 3]).data).toEqual(
      latents,
    );
  });

  it('keys one sample job per assimilation job, without the ":" BullMQ forbids in custom ids', () => {
    expect(sampleJobId('0b7c')).toBe('0b7c.sample');
    expect(sampleJobId('a')).not.toBe(sampleJobId('b'));
    expect(sampleJobId('0b7c')).not.toContain(':');
  });

  it('refuses another version (a rolling upgrade never misreads a job in flight) and malformed payloads', () => {
    const data = sampleJobData('job-1', 'c', request);
    expect(() => parseSampleJobData({ ...data, version: SAMPLE_JOB_VERSION + 1 })).toThrow(
      /has version 2; this sampler reads version 1/,
    );
    expect(() => parseSampleJobData({ ...data, version: undefined })).toThrow(
      expect.objectContaining({ code: 'FAILED_PRECONDITION' }),
    );
    expect(() => parseSampleJobData(null)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => parseSampleJobData({ ...data, jobId: '' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'the sample job has no jobId' }),
    );
    expect(() => parseSampleJobData({ ...data, request: 'not base64!' })).toThrow(
      'the sample job request is not a base64 string',
    );
    // Valid base64 that is no SampleRequest: a truncated field.
    expect(() => parseSampleJobData({ ...data, request: Buffer.from([10, 200]).toString('base64') })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => parseSampleJobReturn({ version: SAMPLE_JOB_VERSION, result: 5 })).toThrow(
      expect.objectContaining({ code: 'INTERNAL' }),
    );
    expect(() => parseSampleJobReturn(undefined)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it("carries a failure as CODE: message, and reads BullMQ's own reasons (stalls) as UNAVAILABLE", () => {
    const reason = sampleFailureReason(
      Object.assign(new Error('members: 0 is not an integer in [1, 64]'), {
        code: 'INVALID_ARGUMENT',
      }) as never,
    );
    expect(reason).toBe('INVALID_ARGUMENT: members: 0 is not an integer in [1, 64]');
    expect(sampleFailure(reason)).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'sampler: members: 0 is not an integer in [1, 64]',
    });
    expect(sampleFailure('CANCELLED: sampling cancelled after 3 of 8 steps')).toMatchObject({
      code: 'CANCELLED',
    });
    expect(sampleFailure('job stalled more than allowable limit')).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'sampler: job stalled more than allowable limit',
    });
    expect(sampleFailure('NOT_A_CODE: x')).toMatchObject({ code: 'UNAVAILABLE' });
    expect(sampleFailure(undefined)).toMatchObject({ code: 'UNAVAILABLE' });
  });
});

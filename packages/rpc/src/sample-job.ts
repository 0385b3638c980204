/**
 * The `sample` BullMQ queue's contract (issue 13, horizontal scaling): the orchestrator adds one job per assimilation
 * job's sampling step and every sampler replica consumes the queue. The payload is the same SampleRequest the gRPC
 * Sample rpc takes, protobuf-encoded (base64, as BullMQ stores JSON), so a queued sample and a direct call run the
 * same handler on the same bytes; the return value is the SampleResult, encoded the same way. Every payload carries
 * a version: a sampler of another version refuses it rather than misreading a job in flight (a rolling upgrade).
 *
 * - The BullMQ job id is {@link sampleJobId}(the assimilation job's id): one sample job per job step. A retried
 *   orchestrator job finds the one it added (running, or done) instead of sampling again.
 * - A failure travels as BullMQ's failed reason `CODE: message` (the AppError catalog code), read back by
 *   {@link sampleFailure}.
 */
import { APP_ERROR_CODES, AppError } from '@alignda/errors';
import type { AppErrorCode } from '@alignda/errors';

import { SampleRequest, SampleResult } from './generated/alignda/v1/sampler.js';

/** The version of {@link SampleJobData} and {@link SampleJobReturn} this code reads and writes. */
export const SAMPLE_JOB_VERSION = 1;

/** The name of every job on the sample queue. */
export const SAMPLE_JOB_NAME = 'sample';

/** What a sample job carries. */
export interface SampleJobData {
  readonly version: number;
  /** The assimilation job's id (cancellations on `alignda:cancel` name it). */
  readonly jobId: string;
  /** The job's correlation id, for the sampler's log lines. */
  readonly correlationId: string;
  /** The SampleRequest, protobuf, base64. */
  readonly request: string;
}

/** What a finished sample job returns. */
export interface SampleJobReturn {
  readonly version: number;
  /** The SampleResult, protobuf, base64. */
  readonly result: string;
  /** The replica that sampled it (`host:pid`). */
  readonly sampler: string;
}

/** The progress a sample job reports (BullMQ `job.updateProgress`): the sampler's Progress message. */
export interface SampleJobProgress {
  readonly fraction: number;
  readonly stage: string;
  readonly message: string;
}

/** The sample job of assimilation job `jobId` (BullMQ forbids ':' in custom ids). */
export function sampleJobId(jobId: string): string {
  return `${jobId}.sample`;
}

/** The job data of one sampling step. */
export function sampleJobData(jobId: string, correlationId: string, request: SampleRequest): SampleJobData {
  return {
    version: SAMPLE_JOB_VERSION,
    jobId,
    correlationId,
    request: Buffer.from(SampleRequest.encode(request).finish()).toString('base64'),
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The protobuf bytes of a base64 field; INVALID_ARGUMENT when it is not base64. */
function bytesOf(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0)
    throw new AppError('INVALID_ARGUMENT', `${what} is not a base64 string`);
  return Buffer.from(value, 'base64');
}

/** The version check every payload passes first. */
function checkVersion(value: Record<string, unknown>, what: string): void {
  if (value.version !== SAMPLE_JOB_VERSION)
    throw new AppError(
      'FAILED_PRECONDITION',
      `${what} has version ${JSON.stringify(value.version)}; this sampler reads version ${SAMPLE_JOB_VERSION}`,
    );
}

/**
 * Reads a sample job's data.
 * @throws AppError FAILED_PRECONDITION for another version, INVALID_ARGUMENT for anything malformed
 */
export function parseSampleJobData(data: unknown): {
  readonly jobId: string;
  readonly correlationId: string;
  readonly request: SampleRequest;
} {
  if (!isRecord(data)) throw new AppError('INVALID_ARGUMENT', 'sample job data is not an object');
  checkVersion(data, 'the sample job');
  const { jobId, correlationId } = data;
  if (typeof jobId !== 'string' || jobId === '')
    throw new AppError('INVALID_ARGUMENT', 'the sample job has no jobId');
  let request: SampleRequest;
  try {
    request = SampleRequest.decode(bytesOf(data.request, 'the sample job request'));
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('INVALID_ARGUMENT', `the sample job request is not a SampleRequest: ${String(err)}`, {
      cause: err,
    });
  }
  return {
    jobId,
    correlationId: typeof correlationId === 'string' && correlationId !== '' ? correlationId : jobId,
    request,
  };
}

/** The return value of a finished sample job. */
export function sampleJobReturn(result: SampleResult, sampler: string): SampleJobReturn {
  return {
    version: SAMPLE_JOB_VERSION,
    result: Buffer.from(SampleResult.encode(result).finish()).toString('base64'),
    sampler,
  };
}

/**
 * Reads a finished sample job's return value.
 * @throws AppError FAILED_PRECONDITION for another version, INTERNAL for anything malformed (a sampler wrote it)
 */
export function parseSampleJobReturn(value: unknown): {
  readonly result: SampleResult;
  readonly sampler: string;
} {
  if (!isRecord(value)) throw new AppError('INTERNAL', 'the sample job returned no object');
  checkVersion(value, "the sample job's result");
  try {
    return {
      result: SampleResult.decode(bytesOf(value.result, "the sample job's result")),
      sampler: typeof value.sampler === 'string' ? value.sampler : '?',
    };
  } catch (err) {
    throw new AppError('INTERNAL', `the sample job's result is not a SampleResult: ${String(err)}`, {
      cause: err,
    });
  }
}

/** The failed reason a sampler gives BullMQ for `err`: `CODE: message`. */
export function sampleFailureReason(err: AppError): string {
  return `${err.code}: ${err.message}`;
}

const CODES = new Set<string>(APP_ERROR_CODES);

/**
 * The AppError a failed sample job stands for. A reason that names no catalog code is BullMQ's own (a job stalled
 * past its limit: every replica that took it died): UNAVAILABLE, so that the assimilation job is retried.
 */
export function sampleFailure(reason: string | undefined): AppError {
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(reason ?? '');
  const code = m?.[1];
  if (m !== null && code !== undefined && CODES.has(code))
    return new AppError(code as AppErrorCode, `sampler: ${m[2] ?? ''}`);
  return new AppError('UNAVAILABLE', `sampler: ${reason ?? 'the sample job failed'}`);
}

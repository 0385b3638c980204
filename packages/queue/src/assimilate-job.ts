/**
 * The `assimilate` queue's contract: what the gateway adds for one job and the orchestrator reads. Every payload
 * carries a version: an orchestrator of another version refuses a job rather than misreading it (a rolling upgrade
 * with jobs in flight). The BullMQ job id is the Job row's id.
 */
import { AppError } from '@alignda/errors';

/** The version of {@link AssimilateJobData} this code writes and reads. */
export const ASSIMILATE_JOB_VERSION = 1;

/** The name of every job on the assimilate queue. */
export const ASSIMILATE_JOB_NAME = 'assimilate';

/** What one assimilate job carries. */
export interface AssimilateJobData {
  readonly version: number;
  /** The Job row's id (and the BullMQ job's). */
  readonly jobId: string;
  /** The submitting request's correlation id, for the worker's logs. */
  readonly correlationId: string;
  /** The validated request, defaults filled in (packages/pipelines' AssimilationRequest). */
  readonly request: unknown;
}

/** The payload of one job. */
export function assimilateJobData(jobId: string, correlationId: string, request: unknown): AssimilateJobData {
  return { version: ASSIMILATE_JOB_VERSION, jobId, correlationId, request };
}

/**
 * Reads an assimilate job's payload; the correlation id falls back to the job id.
 * @throws AppError INVALID_ARGUMENT without a job id (nothing to record the failure on), FAILED_PRECONDITION for
 *   another version (with `details.jobId`, so that the caller can fail that Job row)
 */
export function parseAssimilateJobData(data: unknown): AssimilateJobData {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const { jobId, correlationId } = d;
  if (typeof jobId !== 'string' || jobId === '')
    throw new AppError('INVALID_ARGUMENT', 'the assimilate job has no jobId in its data');
  if (d.version !== ASSIMILATE_JOB_VERSION)
    throw new AppError(
      'FAILED_PRECONDITION',
      `the assimilate job has payload version ${JSON.stringify(d.version)}; this orchestrator reads version ${ASSIMILATE_JOB_VERSION}: run it on a matching orchestrator or submit it again`,
      { details: { jobId } },
    );
  return {
    version: ASSIMILATE_JOB_VERSION,
    jobId,
    correlationId: typeof correlationId === 'string' && correlationId !== '' ? correlationId : jobId,
    request: d.request,
  };
}

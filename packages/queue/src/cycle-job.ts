/**
 * The `cycle` queue's contract: one job per step of a continuous cycle, added by the gateway (step 0, and again on
 * resume), by the cycle service (each next step) and by its reconciler (a step the queue lost). The BullMQ job id is
 * {@link cycleStepJobId}, so adding a step that is already queued is a no-op and a step is never queued twice.
 * Every payload carries a version: a cycle service of another version refuses the step rather than misreading it.
 */
import { AppError } from '@alignda/errors';

/** The version of {@link CycleJobData} this code writes and reads. */
export const CYCLE_JOB_VERSION = 1;

/** The name of every job on the cycle queue. */
export const CYCLE_JOB_NAME = 'cycle-step';

/** What one cycle-step job carries. */
export interface CycleJobData {
  readonly version: number;
  /** The Cycle row's id. */
  readonly cycleId: string;
  /** The 0-based step (the CycleStep row's stepIndex). */
  readonly step: number;
  /** The correlation id of the request that started (or resumed) the cycle, for the logs. */
  readonly correlationId: string;
}

/** The BullMQ job id of step `step` of cycle `cycleId` (BullMQ ids may not contain ':'). */
export function cycleStepJobId(cycleId: string, step: number): string {
  return `${cycleId}.step-${step}`;
}

/** The payload of one step. */
export function cycleJobData(cycleId: string, step: number, correlationId: string): CycleJobData {
  return { version: CYCLE_JOB_VERSION, cycleId, step, correlationId };
}

/**
 * Reads a cycle-step payload; the correlation id falls back to the cycle id.
 * @throws AppError INVALID_ARGUMENT without a cycle id or a step (nothing to record the failure on),
 *   FAILED_PRECONDITION for another version (with `details.cycleId`)
 */
export function parseCycleJobData(data: unknown): CycleJobData {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const { cycleId, step, correlationId } = d;
  if (typeof cycleId !== 'string' || cycleId === '')
    throw new AppError('INVALID_ARGUMENT', 'the cycle-step job has no cycleId in its data');
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0)
    throw new AppError('INVALID_ARGUMENT', `the cycle-step job of cycle ${cycleId} has no valid step`);
  if (d.version !== CYCLE_JOB_VERSION)
    throw new AppError(
      'FAILED_PRECONDITION',
      `the cycle-step job has payload version ${JSON.stringify(d.version)}; this cycle service reads version ${CYCLE_JOB_VERSION}: run it on a matching cycle service or resume the cycle again`,
      { details: { cycleId } },
    );
  return {
    version: CYCLE_JOB_VERSION,
    cycleId,
    step,
    correlationId: typeof correlationId === 'string' && correlationId !== '' ? correlationId : cycleId,
  };
}

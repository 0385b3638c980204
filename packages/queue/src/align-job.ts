/**
 * The alignment flow's contract: one BullMQ flow per AlignmentRun, added by the gateway with a FlowProducer and
 * run by the trainer service (services/trainer). Children run before their parent:
 *
 *     evaluate-and-register (align queue)     the gate on held-out alignment-period cases; the candidate registered
 *       └── train (train queue)               Diffusion-DPO, checkpointed every K steps (one per GPU)
 *             └── preferences (align queue)   candidates drawn, scored, paired; the preference set written
 *
 * Every job carries only the run's id: the settings live on the AlignmentRun row (the source of truth), so a job
 * replayed after a restart reads the same ones. Job ids are {@link alignJobId}, so one run never has two jobs of a
 * stage. Every payload carries a version: a trainer of another version refuses the job rather than misreading it.
 */
import type { FlowJob } from 'bullmq';
import { AppError } from '@alignda/errors';

import { QueueName } from './queue-names.js';

/** The version of {@link AlignJobData} this code writes and reads. */
export const ALIGN_JOB_VERSION = 1;

/** The flow's stages, as BullMQ job names. */
export const AlignStage = {
  /** Candidates drawn from the reference prior, decoded, scored by the rewards and paired (align queue). */
  preferences: 'preferences',
  /** Diffusion-DPO of the score network on the pairs (train queue). */
  train: 'train',
  /** The gate on held-out alignment-period cases; the candidate model folder and ModelVersion (align queue). */
  evaluate: 'evaluate-and-register',
} as const;
export type AlignStage = (typeof AlignStage)[keyof typeof AlignStage];

/** What every job of an alignment flow carries. */
export interface AlignJobData {
  readonly version: number;
  /** The AlignmentRun row's id. */
  readonly runId: string;
  /** The correlation id of the POST that started the run, for the logs. */
  readonly correlationId: string;
}

/** The BullMQ job id of `stage` of run `runId` (BullMQ ids may not contain ':'). */
export function alignJobId(runId: string, stage: AlignStage): string {
  return `${runId}.${stage}`;
}

/** The payload of every job of run `runId`. */
export function alignJobData(runId: string, correlationId: string): AlignJobData {
  return { version: ALIGN_JOB_VERSION, runId, correlationId };
}

/**
 * Reads an alignment job's payload; the correlation id falls back to the run id.
 * @throws AppError INVALID_ARGUMENT without a run id, FAILED_PRECONDITION for another version (with
 *   `details.runId`)
 */
export function parseAlignJobData(data: unknown): AlignJobData {
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const { runId, correlationId } = d;
  if (typeof runId !== 'string' || runId === '')
    throw new AppError('INVALID_ARGUMENT', 'the alignment job has no runId in its data');
  if (d.version !== ALIGN_JOB_VERSION)
    throw new AppError(
      'FAILED_PRECONDITION',
      `the alignment job has payload version ${JSON.stringify(d.version)}; this trainer reads version ${ALIGN_JOB_VERSION}: run it on a matching trainer or submit the alignment again`,
      { details: { runId } },
    );
  return {
    version: ALIGN_JOB_VERSION,
    runId,
    correlationId: typeof correlationId === 'string' && correlationId !== '' ? correlationId : runId,
  };
}

/** The flow of run `runId` as FlowProducer.add takes it (queue names and stages above). */
export function alignFlow(
  runId: string,
  correlationId: string,
  options: {
    /** Runs of a stage before an infrastructure failure is final. @defaultValue 3 */
    readonly attempts?: number;
  } = {},
): FlowJob {
  const data = alignJobData(runId, correlationId);
  const opts = (stage: AlignStage): FlowJob['opts'] => ({
    jobId: alignJobId(runId, stage),
    attempts: options.attempts ?? 3,
    backoff: { type: 'exponential', delay: 2000 },
    // A failed child fails its parent, which then fails the run (the trainer's failed-job handler records it).
    failParentOnFailure: true,
  });
  return {
    name: AlignStage.evaluate,
    queueName: QueueName.align,
    data,
    opts: opts(AlignStage.evaluate),
    children: [
      {
        name: AlignStage.train,
        queueName: QueueName.train,
        data,
        opts: opts(AlignStage.train),
        children: [
          {
            name: AlignStage.preferences,
            queueName: QueueName.align,
            data,
            opts: opts(AlignStage.preferences),
          },
        ],
      },
    ],
  };
}

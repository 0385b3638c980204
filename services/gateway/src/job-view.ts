/**
 * What `GET /v1/assimilations/:id` answers: the Job row (the record: status, timings, error, result)
 * merged with what BullMQ knows that the row may not yet (the job became active, its progress, its place
 * in the queue).
 */
import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { Job } from '@alignda/db';

/** A job's lifecycle as clients see it (the row's JobStatus). */
export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
/** One of {@link JOB_STATES}. */
export type JobState = (typeof JOB_STATES)[number];

/** The path of a job's resource. */
export function jobUrl(id: string): string {
  return `/v1/assimilations/${id}`;
}

/** The body of a 202 / 200 submission answer. */
export const submittedSchema = z
  .object({
    id: z.uuid().describe('the job id (also the BullMQ job id)'),
    url: z.string().describe('the job resource, relative to the gateway'),
  })
  .meta({ id: 'SubmittedJob' });

/** The job resource. */
export const jobViewSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    state: z.enum(JOB_STATES),
    queuePosition: z
      .number()
      .int()
      .positive()
      .nullable()
      .describe('1 = next to start; null unless the job is waiting on the queue'),
    progress: z
      .number()
      .min(0)
      .max(1)
      .describe('fraction done, 0..1 (the BullMQ job progress while it runs)'),
    stage: z.string().nullable().describe('the stage running now, e.g. "sample"'),
    correlationId: z.string().nullable(),
    timings: z.object({
      queuedAt: z.string().describe('ISO 8601 UTC'),
      startedAt: z.string().nullable(),
      finishedAt: z.string().nullable(),
      waitMs: z.number().nullable().describe('queued to started, milliseconds'),
      runMs: z.number().nullable().describe('started to finished, milliseconds'),
    }),
    error: z.object({ code: z.string().describe('AppError catalog code'), message: z.string() }).nullable(),
    result: z.unknown().describe('the result summary once succeeded, else null'),
  })
  .meta({ id: 'AssimilationJob' });

/** The job resource's body. */
export type JobView = z.infer<typeof jobViewSchema>;

/** What the view reads of BullMQ. */
export type ViewQueue = Pick<Queue, 'getJob' | 'toKey' | 'getBackend'>;

const FINISHED: readonly string[] = ['succeeded', 'failed', 'cancelled'];

/** The state from the row and, while the row says queued or running, BullMQ's state of the job. */
export function mergeState(row: JobState, bull: string | undefined): JobState {
  if (FINISHED.includes(row)) return row;
  switch (bull) {
    case 'active':
      return 'running';
    case 'completed':
      return 'succeeded';
    case 'failed':
      return 'failed';
    default:
      return row;
  }
}

/**
 * The progress a worker reports with `job.updateProgress(fraction)` or
 * `job.updateProgress({ fraction, stage })`, clamped to [0, 1]; `undefined` when it reported none.
 */
export function readProgress(progress: unknown): { fraction?: number; stage?: string } {
  const clamp = (x: number): number => Math.min(1, Math.max(0, x));
  if (typeof progress === 'number' && Number.isFinite(progress)) return { fraction: clamp(progress) };
  if (progress !== null && typeof progress === 'object') {
    const { fraction, stage } = progress as { fraction?: unknown; stage?: unknown };
    return {
      ...(typeof fraction === 'number' && Number.isFinite(fraction) ? { fraction: clamp(fraction) } : {}),
      ...(typeof stage === 'string' ? { stage } : {}),
    };
  }
  return {};
}

/**
 * A waiting job's place in line, 1 = next. BullMQ LPUSHes new jobs onto the wait list and workers take
 * from its right end (RPOPLPUSH), so the jobs ahead are those to the right of it.
 */
export async function queuePosition(queue: ViewQueue, id: string): Promise<number | null> {
  const client = await queue.getBackend().client;
  const key = queue.toKey('wait');
  const [index, length] = await Promise.all([client.lpos(key, id), client.llen(key)]);
  return index === null ? null : Math.max(1, length - index);
}

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());
const ms = (a: Date | null, b: Date | null): number | null =>
  a === null || b === null ? null : b.getTime() - a.getTime();

/** The job resource of `row`, with BullMQ's state, progress and position when the queue still holds it. */
export async function jobView(queue: ViewQueue, row: Job): Promise<JobView> {
  const bullJob = FINISHED.includes(row.status) ? undefined : await queue.getJob(row.id);
  const bullState = bullJob === undefined ? undefined : await bullJob.getState();
  const state = mergeState(row.status, bullState);
  const reported = bullJob === undefined ? {} : readProgress(bullJob.progress);
  const position = bullState === 'waiting' ? await queuePosition(queue, row.id) : null;
  const error =
    row.errorCode !== null
      ? { code: row.errorCode, message: row.errorMessage ?? '' }
      : bullState === 'failed' && bullJob !== undefined
        ? { code: 'INTERNAL', message: bullJob.failedReason }
        : null;
  return {
    id: row.id,
    url: jobUrl(row.id),
    state,
    queuePosition: position,
    progress: state === 'succeeded' ? 1 : (reported.fraction ?? row.progress),
    stage: reported.stage ?? row.stage,
    correlationId: row.correlationId,
    timings: {
      queuedAt: row.queuedAt.toISOString(),
      startedAt: iso(row.startedAt),
      finishedAt: iso(row.finishedAt),
      waitMs: ms(row.queuedAt, row.startedAt),
      runMs: ms(row.startedAt, row.finishedAt),
    },
    error,
    result: row.result ?? null,
  };
}

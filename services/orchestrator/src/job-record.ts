/**
 * The Job row's life as the orchestrator writes it (the gateway created it `queued`; GET reads it), and the
 * Analysis row of a finished job. Every transition is conditional on the row's status, so a job the client cancelled
 * meanwhile stays cancelled: a write that finds it finished changes nothing and says so.
 */
import type { AppErrorCode } from '@alignda/errors';
import { ensureDatasetRow } from '@alignda/db';
import type { Db } from '@alignda/db';
import type { DaSource } from '@alignda/world';

/** A JSON value as a row stores it: NaN and infinities become null (JSON has neither). */
export function jsonValue<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

const OPEN = { in: ['queued' as const, 'running' as const] };

/**
 * Marks the job running (its first start time kept across retries).
 * @returns false when the row is no longer queued or running (cancelled before it started): do no work
 */
export async function markRunning(db: Db, id: string, stage: string): Promise<boolean> {
  await db.job.updateMany({ where: { id, status: OPEN, startedAt: null }, data: { startedAt: new Date() } });
  const { count } = await db.job.updateMany({
    where: { id, status: OPEN },
    data: { status: 'running', stage, progress: 0, errorCode: null, errorMessage: null, finishedAt: null },
  });
  return count === 1;
}

/** The stage and overall fraction, for readers of the row once BullMQ has let go of the job. */
export async function markStage(db: Db, id: string, stage: string, progress: number): Promise<void> {
  await db.job.updateMany({ where: { id, status: 'running' }, data: { stage, progress } });
}

/** Back to queued while the job waits for its retry; the stage says why. */
export async function markRetrying(db: Db, id: string, stage: string): Promise<void> {
  await db.job.updateMany({ where: { id, status: 'running' }, data: { status: 'queued', stage } });
}

/** Failed, with the catalog code and message clients read. */
export async function markFailed(db: Db, id: string, code: AppErrorCode, message: string): Promise<void> {
  await db.job.updateMany({
    where: { id, status: OPEN },
    data: { status: 'failed', errorCode: code, errorMessage: message, finishedAt: new Date() },
  });
}

/** Cancelled (the gateway has usually marked it already; this covers a cancel that reached only the worker). */
export async function markCancelled(db: Db, id: string, message: string): Promise<void> {
  await db.job.updateMany({
    where: { id, status: OPEN },
    data: { status: 'cancelled', errorCode: 'CANCELLED', errorMessage: message, finishedAt: new Date() },
  });
}

/** The Dataset row of `source` (created on first use; two workers racing to create it both get the one row). */
export function datasetRowId(db: Db, source: DaSource): Promise<string> {
  const descriptor =
    source.dataset !== undefined
      ? jsonValue(source.dataset.descriptor)
      : { world: source.name, title: source.title, channels: source.channels, units: source.units };
  return ensureDatasetRow(db, {
    name: source.name,
    kind: source.kind === 'world' ? source.name : 'dataset',
    descriptor,
  });
}

/** What a succeeded job records. */
export interface JobSuccess {
  readonly jobId: string;
  readonly datasetId: string;
  readonly validTime: Date;
  readonly members: number;
  /** Files by role, relative to ALIGNDA_HOME. */
  readonly artifactPaths: Readonly<Record<string, string>>;
  readonly diagnostics: unknown;
  /** What made the analysis (code, runtime, models, seeds, request). @defaultValue none recorded */
  readonly provenance?: unknown;
  /** The Job row's result summary. */
  readonly result: unknown;
}

/**
 * In one transaction: the Job row succeeded with its result, and its Analysis row. The Analysis row's id is the
 * job's id, so a retried job (or a second delivery of it) upserts the one row instead of adding another.
 * @returns false when the job was no longer running (cancelled meanwhile): nothing is written
 */
export async function markSucceeded(db: Db, s: JobSuccess): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const { count } = await tx.job.updateMany({
      where: { id: s.jobId, status: 'running' },
      data: {
        status: 'succeeded',
        stage: 'done',
        progress: 1,
        result: jsonValue(s.result) as object,
        finishedAt: new Date(),
      },
    });
    if (count === 0) return false;
    const row = {
      validTime: s.validTime,
      datasetId: s.datasetId,
      jobId: s.jobId,
      members: s.members,
      artifactPaths: { ...s.artifactPaths },
      diagnostics: jsonValue(s.diagnostics) as object,
      ...(s.provenance === undefined ? {} : { provenance: jsonValue(s.provenance) as object }),
      // A retry stores fresh files: they are kept for the whole retention again.
      expiredAt: null,
    };
    await tx.analysis.upsert({ where: { id: s.jobId }, create: { id: s.jobId, ...row }, update: row });
    return true;
  });
}

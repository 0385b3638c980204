/**
 * What the chaos run checks once its work has finished, from the registry (the source of truth) and the queue: per
 * part of the run, the jobs submitted, succeeded, failed, cancelled, lost (a Job row not finished that is not on the
 * `assimilate` queue either: nothing will ever finish it), still unfinished, and duplicated analyses (more than one
 * Analysis row for a job); per cycle, its state, the steps recorded of its length, duplicated steps (rows per
 * stepIndex beyond one: the unique key forbids them, they are counted all the same), gaps (a stepIndex missing below
 * the highest recorded) and whether its series equals the reference's (the same settings and seeds, run without
 * faults by `alignda cycle`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import type { Db } from '@alignda/db';
import { QueueName } from '@alignda/queue';

import { alignda } from '../../bench/platform-stack.js';
import type { CycleSettings, Submitted } from './chaos-workload.js';

/** The numbers a cycle's series is compared on, per step and method. */
export interface StepNumbers {
  readonly analysisRmse: number | null;
  readonly backgroundRmse: number | null;
  readonly ombRms: number | null;
  readonly omaRms: number | null;
  readonly observations: number;
}

/** A series: method -> one entry per step. */
export type Series = Record<string, StepNumbers[]>;

/** The series of `alignda cycle`'s cycle.json. */
export function readReferenceSeries(file: string): Series {
  const json = JSON.parse(readFileSync(file, 'utf8')) as {
    series: Record<string, (StepNumbers & { omb: { rms: number | null }; oma: { rms: number | null } })[]>;
  };
  return Object.fromEntries(
    Object.entries(json.series).map(([m, rs]) => [
      m,
      rs.map((r) => ({
        analysisRmse: r.analysisRmse,
        backgroundRmse: r.backgroundRmse,
        ombRms: r.omb.rms,
        omaRms: r.oma.rms,
        observations: r.observations,
      })),
    ]),
  );
}

/**
 * The reference: `alignda cycle` with `settings` in one process, without faults (it also makes the nature runs the
 * cycle service reads), kept in `home` by the settings' hash.
 * @returns its cycle.json
 */
export async function makeReference(
  env: NodeJS.ProcessEnv,
  home: string,
  settings: CycleSettings,
): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 12);
  const out = path.join(home, 'chaos-reference', hash);
  const file = path.join(out, 'cycle.json');
  if (existsSync(file)) return file;
  const r = await alignda(env, [
    'cycle',
    '--preset',
    settings.preset,
    '--methods',
    settings.methods.join(','),
    '--cycles',
    String(settings.cycles),
    '--members',
    String(settings.members),
    '--skill-every',
    String(settings.skillEvery),
    '--tuning',
    JSON.stringify(settings.tuning),
    '--out',
    out,
  ]);
  if (r.status !== 0) throw new Error(`alignda cycle (the reference) failed (${r.status}):\n${r.stderr}`);
  return file;
}

/** The series of GET /v1/cycles/:id's view. */
export function seriesOfView(view: { series?: unknown }): Series {
  const out: Series = {};
  for (const step of (view.series ?? []) as { methods: Record<string, StepNumbers> }[])
    for (const [m, r] of Object.entries(step.methods))
      (out[m] ??= []).push({
        analysisRmse: r.analysisRmse,
        backgroundRmse: r.backgroundRmse,
        ombRms: r.ombRms,
        omaRms: r.omaRms,
        observations: r.observations,
      });
  return out;
}

/** The job figures of one part of the run. */
export interface JobTally {
  readonly scenario: string;
  submitted: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  lost: number;
  unfinished: number;
  duplicatedAnalyses: number;
  /** Failure codes and the ids of lost jobs, for the report. */
  readonly notes: string[];
}

/** One cycle's figures. */
export interface CycleTally {
  readonly name: string;
  readonly scenario: string;
  readonly state: string;
  readonly steps: number;
  readonly recorded: number;
  readonly duplicated: number;
  readonly gaps: number;
  readonly seriesEqual: boolean;
}

/** Tallies the run's jobs, by scenario. */
export async function tallyJobs(db: Db, redisUrl: string, jobs: readonly Submitted[]): Promise<JobTally[]> {
  const byScenario = new Map<string, JobTally>();
  const rows = new Map(
    (
      await db.job.findMany({
        where: { id: { in: jobs.map((j) => j.id) } },
        select: { id: true, status: true, errorCode: true, errorMessage: true },
      })
    ).map((r) => [r.id, r]),
  );
  const analyses = await db.analysis.groupBy({
    by: ['jobId'],
    where: { jobId: { in: jobs.map((j) => j.id) } },
    _count: { _all: true },
  });
  const analysesOf = new Map(analyses.map((a) => [a.jobId, a._count._all]));
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(QueueName.assimilate, { connection });
  try {
    for (const j of jobs) {
      let t = byScenario.get(j.scenario);
      if (t === undefined) {
        t = {
          scenario: j.scenario,
          submitted: 0,
          succeeded: 0,
          failed: 0,
          cancelled: 0,
          lost: 0,
          unfinished: 0,
          duplicatedAnalyses: 0,
          notes: [],
        };
        byScenario.set(j.scenario, t);
      }
      t.submitted++;
      t.duplicatedAnalyses += Math.max(0, (analysesOf.get(j.id) ?? 0) - 1);
      const row = rows.get(j.id);
      const status = row?.status ?? 'missing';
      if (status === 'succeeded') t.succeeded++;
      else if (status === 'failed') {
        t.failed++;
        t.notes.push(`job ${j.id} failed: ${row?.errorCode ?? ''} ${row?.errorMessage ?? ''}`);
      } else if (status === 'cancelled') t.cancelled++;
      else {
        // Not finished: in flight while the queue still holds it, lost when nothing will ever run it.
        const state = await queue.getJobState(j.id);
        if (['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'].includes(state))
          t.unfinished++;
        else {
          t.lost++;
          t.notes.push(`job ${j.id} lost: row ${status}, queue ${state}`);
        }
      }
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return [...byScenario.values()];
}

/** Tallies one cycle; `view` is its GET /v1/cycles/:id (undefined when it could not be read). */
export async function tallyCycle(
  db: Db,
  cycle: Submitted,
  steps: number,
  view: { state?: unknown; series?: unknown } | undefined,
  reference: Series,
): Promise<CycleTally> {
  const rows = await db.cycleStep.findMany({
    where: { cycleId: cycle.id },
    select: { stepIndex: true, status: true },
  });
  const perIndex = new Map<number, number>();
  for (const r of rows) perIndex.set(r.stepIndex, (perIndex.get(r.stepIndex) ?? 0) + 1);
  const done = new Set(rows.filter((r) => r.status === 'succeeded').map((r) => r.stepIndex));
  const highest = Math.max(-1, ...done);
  let gaps = 0;
  for (let k = 0; k < highest; k++) if (!done.has(k)) gaps++;
  const row = await db.cycle.findUnique({ where: { id: cycle.id }, select: { status: true } });
  const series = view === undefined ? undefined : seriesOfView(view);
  return {
    name: cycle.name,
    scenario: cycle.scenario,
    state: row?.status ?? 'missing',
    steps,
    recorded: done.size,
    duplicated: [...perIndex.values()].reduce((a, n) => a + Math.max(0, n - 1), 0),
    gaps,
    seriesEqual:
      series !== undefined && done.size === steps && JSON.stringify(series) === JSON.stringify(reference),
  };
}

/** Whether a cycle reached every figure. */
export function cycleOk(c: CycleTally): boolean {
  return (
    c.state === 'succeeded' && c.recorded === c.steps && c.duplicated === 0 && c.gaps === 0 && c.seriesEqual
  );
}

/** Whether a part of the run's jobs reached every figure (all finished, none lost, no duplicated analysis). */
export function jobsOk(t: JobTally): boolean {
  return t.lost === 0 && t.unfinished === 0 && t.duplicatedAnalyses === 0;
}

/** Rows as a text table with a header, columns padded. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [
    line(cells[0] ?? []),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.slice(1).map(line),
  ].join('\n');
}

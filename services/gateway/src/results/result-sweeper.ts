/**
 * The result sweeper: removes the result folders (`<homeDir>/results/<jobId>/`) that have outlived the retention
 * (ALIGNDA_RESULT_TTL_HOURS) and records the expiry on their Analysis rows (`expiredAt` set, `artifactPaths` emptied),
 * so the analysis answers 410 Gone; the rows themselves, provenance and diagnostics included, stay. What goes is
 * decided by {@link planSweep}. Every step is idempotent (a folder already gone, a row already marked), so several
 * gateways may sweep one ALIGNDA_HOME.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

import type { Db } from '@alignda/db';
import type { Logger } from '@alignda/log';

import { RESULTS_DIR } from './result-files.js';
import { expiryCutoff, planSweep } from './retention.js';
import type { FolderJob, ResultFolder } from './retention.js';

/** What the sweeper works on. */
export interface SweeperDeps {
  readonly db: Db;
  /** ALIGNDA_HOME. */
  readonly homeDir: string;
  /** ALIGNDA_RESULT_TTL_HOURS. */
  readonly ttlHours: number;
  readonly logger: Logger;
}

/** What one sweep did. */
export interface SweepOutcome {
  /** Analysis rows marked expired. */
  readonly expired: readonly string[];
  /** Other folders removed. */
  readonly removed: readonly string[];
}

/** The folders under `<homeDir>/results` (none when it does not exist). */
function resultFolders(root: string): ResultFolder[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    try {
      const s = statSync(path.join(root, name));
      return s.isDirectory() ? [{ name, modifiedMs: s.mtimeMs }] : [];
    } catch {
      return []; // removed meanwhile
    }
  });
}

/** Removes the result folders past the retention at `now` and marks their Analysis rows expired. */
export async function sweepResults(deps: SweeperDeps, now: Date = new Date()): Promise<SweepOutcome> {
  const { db } = deps;
  const root = path.join(deps.homeDir, RESULTS_DIR);
  const cutoff = expiryCutoff(now, deps.ttlHours);
  const kept = await db.analysis.findMany({
    where: { expiredAt: null },
    select: { id: true, createdAt: true, job: { select: { finishedAt: true } } },
  });
  const analyses = kept.map((a) => ({
    id: a.id,
    createdAt: a.createdAt,
    finishedAt: a.job?.finishedAt ?? null,
  }));
  const folders = resultFolders(root);
  const owned = new Set(analyses.map((a) => a.id));
  const strays = folders.filter((f) => !owned.has(f.name)).map((f) => f.name);
  const jobs = new Map<string, FolderJob>(
    (
      await db.job.findMany({
        where: { id: { in: strays } },
        select: { id: true, status: true, finishedAt: true },
      })
    ).map((j) => [j.id, j]),
  );
  const plan = planSweep(cutoff, analyses, folders, (name) => jobs.get(name));

  const expired: string[] = [];
  for (const id of plan.expire) {
    try {
      rmSync(path.join(root, id), { recursive: true, force: true });
    } catch (err) {
      deps.logger.warn(
        { err, jobId: id },
        'could not remove an expired result folder; kept for the next sweep',
      );
      continue;
    }
    const { count } = await db.analysis.updateMany({
      where: { id, expiredAt: null },
      data: { expiredAt: now, artifactPaths: {} },
    });
    if (count === 1) expired.push(id);
  }
  const removed: string[] = [];
  for (const name of plan.removeFolders) {
    try {
      rmSync(path.join(root, name), { recursive: true, force: true });
      removed.push(name);
    } catch (err) {
      deps.logger.warn({ err, folder: name }, 'could not remove a stray result folder');
    }
  }
  if (expired.length > 0 || removed.length > 0)
    deps.logger.info(
      { expired: expired.length, removed: removed.length, ttlHours: deps.ttlHours },
      'results swept',
    );
  return { expired, removed };
}

/** A running sweeper. */
export interface ResultSweeper {
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/**
 * Sweeps now and then every `intervalMs`; a failed sweep is logged and tried again at the next tick. The timer does
 * not keep the process alive.
 */
export function startResultSweeper(deps: SweeperDeps, intervalMs: number): ResultSweeper {
  let running: Promise<unknown> | undefined;
  // A sweep still running when the timer fires is left to finish: the next tick sweeps again.
  const tick = (): void => {
    running ??= sweepResults(deps)
      .catch((err: unknown) => deps.logger.warn({ err }, 'result sweep failed'))
      .finally(() => {
        running = undefined;
      });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

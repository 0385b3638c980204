/**
 * Which results have outlived their retention (ALIGNDA_RESULT_TTL_HOURS): a pure plan over rows and folders, carried
 * out by the sweeper (result-sweeper.ts). A succeeded job's files go once the job finished longer ago than the
 * retention, and its Analysis row records the expiry; a folder whose job failed or was cancelled (a file written before
 * the job ended otherwise), or that no job owns, goes once it is as old. Folders of queued or running jobs stay.
 */

/** An Analysis row whose files are still kept. */
export interface KeptAnalysis {
  /** The row's id (= the job's id). */
  readonly id: string;
  /** When its job finished; null for a row whose job is gone (then `createdAt` counts). */
  readonly finishedAt: Date | null;
  readonly createdAt: Date;
}

/** A folder under `<homeDir>/results`. */
export interface ResultFolder {
  /** Its name: the job id. */
  readonly name: string;
  /** Its last modification, ms since the epoch. */
  readonly modifiedMs: number;
}

/** What is known of the job a folder is named after; undefined when there is no such job. */
export interface FolderJob {
  readonly status: string;
  readonly finishedAt: Date | null;
}

/** What one sweep does. */
export interface SweepPlan {
  /** Analysis rows (ids) to mark expired; their folders are removed with them. */
  readonly expire: readonly string[];
  /** Other folders (names) to remove: jobs that failed or were cancelled, or that do not exist. */
  readonly removeFolders: readonly string[];
}

/** The instant before which a finished job's results have expired, for a retention of `ttlHours` at `now`. */
export function expiryCutoff(now: Date, ttlHours: number): Date {
  return new Date(now.getTime() - ttlHours * 3_600_000);
}

const OPEN = new Set(['queued', 'running']);

/**
 * The plan of one sweep at `cutoff`.
 * @param analyses - the Analysis rows not yet expired
 * @param folders - the folders under results/
 * @param jobOf - the job a folder is named after (undefined: none), for folders no kept Analysis row owns
 */
export function planSweep(
  cutoff: Date,
  analyses: readonly KeptAnalysis[],
  folders: readonly ResultFolder[],
  jobOf: (name: string) => FolderJob | undefined,
): SweepPlan {
  const expire = analyses.filter((a) => (a.finishedAt ?? a.createdAt) < cutoff).map((a) => a.id);
  const owned = new Set(analyses.map((a) => a.id));
  const removeFolders = folders
    .filter((f) => {
      if (owned.has(f.name)) return false;
      const job = jobOf(f.name);
      if (job === undefined) return f.modifiedMs < cutoff.getTime();
      if (OPEN.has(job.status)) return false;
      // A succeeded job without a kept row (already expired, or its row gone): its files are past use too.
      return (job.finishedAt?.getTime() ?? f.modifiedMs) < cutoff.getTime();
    })
    .map((f) => f.name);
  return { expire, removeFolders };
}

/**
 * The gateway's only way to the blob store: a path an Analysis row records (relative to ALIGNDA_HOME) is resolved and
 * read only when it lies inside `<homeDir>/results/<jobId>/`, the job's own folder, so a row can never make the
 * gateway read another file. A file that is missing is gone (an expired or removed result), not an error of the
 * gateway.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { AppError } from '@alignda/errors';

/** The blob store's folder under ALIGNDA_HOME. */
export const RESULTS_DIR = 'results';

/**
 * The absolute path of `relative` (as an Analysis row records it), checked to lie in job `jobId`'s result folder.
 * @throws AppError `INTERNAL` for a path outside it (a row the orchestrator did not write)
 */
export function resultPath(homeDir: string, jobId: string, relative: string): string {
  const folder = path.resolve(homeDir, RESULTS_DIR, jobId);
  const target = path.resolve(homeDir, relative);
  const inside = path.relative(folder, target);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside))
    throw new AppError('INTERNAL', `job ${jobId}: the recorded result path is outside its result folder`, {
      details: { jobId },
    });
  return target;
}

/**
 * The bytes of a job's result file.
 * @returns undefined when the file does not exist (gone)
 */
export async function readResultFile(
  homeDir: string,
  jobId: string,
  relative: string,
): Promise<Buffer | undefined> {
  try {
    return await readFile(resultPath(homeDir, jobId, relative));
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw err;
  }
}

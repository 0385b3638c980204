/**
 * The blob store of job results: files under `<ALIGNDA_HOME>/results/<jobId>/`, written whole or not at all (beside
 * the target, then renamed), so a reader never sees half a file and a retried job replaces its own.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where a job's files live, relative to ALIGNDA_HOME (the form rows record). */
export function resultDir(jobId: string): string {
  return path.join('results', jobId);
}

/**
 * Writes `bytes` as `<homeDir>/results/<jobId>/<name>`.
 * @returns the path relative to `homeDir`
 */
export function writeResultFile(homeDir: string, jobId: string, name: string, bytes: Uint8Array): string {
  const relative = path.join(resultDir(jobId), name);
  const target = path.join(homeDir, relative);
  mkdirSync(path.dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  try {
    writeFileSync(partial, bytes);
    renameSync(partial, target);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
  return relative;
}

/** Removes a job's files (a job cancelled after they were written). */
export function removeResults(homeDir: string, jobId: string): void {
  rmSync(path.join(homeDir, resultDir(jobId)), { recursive: true, force: true });
}

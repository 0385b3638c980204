/**
 * The files of an alignment run under ALIGNDA_HOME: the run's folder `alignments/<runId>/` (the preference set with
 * its content hash beside it, and the DPO checkpoint, which the trainer resumes from), the reference's model folder
 * read from its ModelVersion row, and the candidate's model folder `models/<reference>-aligned-<set>-<run>/` (the
 * reference's VAE, emulator and manifest, the aligned prior as its score network), which the orchestrator and the
 * cycle service open like any trained set.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { AppError } from '@alignda/errors';
import { MODEL_FILES, MODEL_MANIFEST_FILE } from '@alignda/nn';
import type { AlignmentStore } from '@alignda/pipelines';

/** The folder of run `runId`'s files. */
export function alignmentDir(homeDir: string, runId: string): string {
  return path.join(homeDir, 'alignments', runId);
}

/** The alignment store of run `runId` (files written under temporary names and renamed). */
export function alignmentStore(homeDir: string, runId: string): AlignmentStore {
  const dir = alignmentDir(homeDir, runId);
  const prefs = (set: string): string => path.join(dir, `preferences-${set}.safetensors`);
  const hashFile = (set: string): string => path.join(dir, `preferences-${set}.sha256`);
  return {
    readPreferences: (set) => {
      const file = prefs(set);
      if (!existsSync(file) || !existsSync(hashFile(set))) return Promise.resolve(undefined);
      return Promise.resolve({
        bytes: new Uint8Array(readFileSync(file)),
        hash: readFileSync(hashFile(set), 'utf8').trim(),
        file,
      });
    },
    writePreferences: (set, bytes, hash) => {
      mkdirSync(dir, { recursive: true });
      const file = prefs(set);
      writeFileSync(`${file}.tmp`, bytes);
      writeFileSync(`${hashFile(set)}.tmp`, `${hash}\n`);
      renameSync(`${file}.tmp`, file);
      renameSync(`${hashFile(set)}.tmp`, hashFile(set));
      return Promise.resolve(file);
    },
    alignedCheckpointPath: (set) => {
      mkdirSync(dir, { recursive: true });
      return path.join(dir, `score-aligned-${set}.safetensors`);
    },
  };
}

/**
 * The model folder of a score ModelVersion: `artifactPaths.folder`, else the folder of `artifactPaths.checkpoint`,
 * relative to ALIGNDA_HOME (as `alignda eval` and `alignda align` record them) and inside it.
 * @throws AppError FAILED_PRECONDITION for a row without paths or with one outside ALIGNDA_HOME
 */
export function modelFolderOf(homeDir: string, version: { id: string; artifactPaths: unknown }): string {
  const paths = (version.artifactPaths ?? {}) as { folder?: unknown; checkpoint?: unknown };
  const rel =
    typeof paths.folder === 'string'
      ? paths.folder
      : typeof paths.checkpoint === 'string'
        ? path.dirname(paths.checkpoint)
        : undefined;
  const home = path.resolve(homeDir);
  const dir = rel === undefined ? undefined : path.resolve(home, rel);
  if (dir === undefined || (dir !== home && !dir.startsWith(`${home}${path.sep}`)))
    throw new AppError(
      'FAILED_PRECONDITION',
      `model version ${version.id} names no model folder inside ALIGNDA_HOME (artifactPaths ${JSON.stringify(paths)})`,
    );
  return dir;
}

/**
 * Writes the candidate's model folder: the reference's VAE, emulator and manifest, and `checkpoint` as its score
 * network; returns the folder. Copies go through temporary names, so a retried stage rewrites it whole.
 */
export function writeCandidateFolder(
  homeDir: string,
  reference: string,
  name: string,
  checkpoint: string,
): string {
  const dir = path.join(homeDir, 'models', name);
  mkdirSync(dir, { recursive: true });
  const copy = (from: string, to: string): void => {
    copyFileSync(from, `${to}.tmp`);
    renameSync(`${to}.tmp`, to);
  };
  for (const f of [MODEL_FILES.vae, MODEL_FILES.emulator, MODEL_MANIFEST_FILE])
    if (existsSync(path.join(reference, f))) copy(path.join(reference, f), path.join(dir, f));
  copy(checkpoint, path.join(dir, MODEL_FILES.score));
  return dir;
}

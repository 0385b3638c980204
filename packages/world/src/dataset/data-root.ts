/**
 * The data root (ALIGNDA_DATA_DIR): the one folder user datasets are read from. A registered path must stay inside
 * it, whatever its spelling: no `..` segment, no absolute path elsewhere, no symbolic link pointing out of it.
 * The HTTP API registers datasets only through this check, so that it never reads an arbitrary server path.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';

import { DatasetError } from './dataset-error.js';

/** Whether `child` is `root` or inside it (both absolute, normalised). */
function isInside(root: string, child: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The real path of `p`, or of its longest existing parent joined with the rest (for a path not yet present). */
function realPathOf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    const parent = path.dirname(p);
    return parent === p ? p : path.join(realPathOf(parent), path.basename(p));
  }
}

/**
 * Resolves a dataset's source path and checks it lies under the data root.
 * @param dataDir - the data root, absolute
 * @param baseDir - folder a relative `p` is resolved against (the descriptor file's folder, or the data root)
 * @param p - the path as written in the descriptor
 * @param label - dataset name for the message
 * @returns the absolute path (as spelled, not the real path)
 * @throws DatasetError `PATH_NOT_ALLOWED` naming `source.path` when `p` has a `..` segment, or resolves or links
 *   outside the data root
 */
export function resolveUnderDataRoot(dataDir: string, baseDir: string, p: string, label: string): string {
  const bad = (why: string): never => {
    throw new DatasetError('PATH_NOT_ALLOWED', `dataset ${label}: source.path ${p} ${why}`);
  };
  if (p.split(/[\\/]+/).includes('..')) bad('has a ".." segment; give a path under the data root');
  const root = path.resolve(dataDir);
  const abs = path.resolve(baseDir, p);
  if (!isInside(root, abs)) bad(`is outside the data root ${root} (ALIGNDA_DATA_DIR)`);
  if (!isInside(realPathOf(root), realPathOf(abs))) {
    bad(`is a symbolic link (or lies under one) leading outside the data root ${root}`);
  }
  return abs;
}

/** `abs` relative to the data root, in `/` spelling, as stored in a registry entry. */
export function relativeToDataRoot(dataDir: string, abs: string): string {
  return path.relative(path.resolve(dataDir), abs).split(path.sep).join('/');
}

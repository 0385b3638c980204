/**
 * A folder of named files replaced as a whole: `<dir>/state/`. A write goes to `state.tmp/` and is swapped in by
 * renames, so a process killed mid-write leaves the previous snapshot whole (`state.old/` is read when `state/` is
 * missing, the moment between the two renames). What the files mean is the caller's business (e.g. a cycle's state,
 * packages/pipelines' `cycleStoreOn`).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { AppError } from '@alignda/errors';

/** The port a snapshot is kept through: whole-snapshot writes, single-file reads. */
export interface SnapshotFiles {
  /** Where the snapshot lives, for messages. */
  readonly location: string;
  /** True when a snapshot has been written. */
  exists(): boolean;
  /** The file `name` of the current snapshot; undefined when there is no snapshot or no such file. */
  read(name: string): Uint8Array | undefined;
  /** Replaces the snapshot by exactly these files (names without folders). */
  write(files: ReadonlyMap<string, Uint8Array | string>): void;
  /** Removes the snapshot. */
  remove(): void;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A {@link SnapshotFiles} in `<dir>/state/`. */
export function snapshotDir(dir: string): SnapshotFiles {
  const live = path.join(dir, 'state');
  const tmp = path.join(dir, 'state.tmp');
  const old = path.join(dir, 'state.old');
  const readable = (): string | undefined => (existsSync(live) ? live : existsSync(old) ? old : undefined);
  const check = (name: string): void => {
    if (!SAFE_NAME.test(name))
      throw new AppError(
        'INVALID_ARGUMENT',
        `snapshot file name ${JSON.stringify(name)} is not a plain name`,
      );
  };
  return {
    location: live,
    exists: () => readable() !== undefined,
    read: (name) => {
      check(name);
      const from = readable();
      if (from === undefined) return undefined;
      const file = path.join(from, name);
      return existsSync(file) ? new Uint8Array(readFileSync(file)) : undefined;
    },
    write: (files) => {
      for (const name of files.keys()) check(name);
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      for (const [name, body] of files) writeFileSync(path.join(tmp, name), body);
      rmSync(old, { recursive: true, force: true });
      if (existsSync(live)) renameSync(live, old);
      renameSync(tmp, live);
      rmSync(old, { recursive: true, force: true });
    },
    remove: () => {
      for (const d of [tmp, live, old]) rmSync(d, { recursive: true, force: true });
    },
  };
}

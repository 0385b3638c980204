/**
 * The alignment files of a model folder: `preferences-<set>.safetensors` with its content hash in
 * `preferences-<set>.sha256`, and the aligned score network `score-aligned-<set>.safetensors` beside the reference.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { AlignmentStore, PreferenceSetName } from '@alignda/pipelines';

/** The alignment store of the model folder `dir`. */
export function folderAlignmentStore(dir: string): AlignmentStore {
  const prefs = (set: PreferenceSetName): string => path.join(dir, `preferences-${set}.safetensors`);
  const hashFile = (set: PreferenceSetName): string => path.join(dir, `preferences-${set}.sha256`);
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
      // Written under temporary names and renamed, so that a crash never leaves a file without its hash.
      const file = prefs(set);
      writeFileSync(`${file}.tmp`, bytes);
      writeFileSync(`${hashFile(set)}.tmp`, `${hash}\n`);
      renameSync(`${file}.tmp`, file);
      renameSync(`${hashFile(set)}.tmp`, hashFile(set));
      return Promise.resolve(file);
    },
    alignedCheckpointPath: (set) => path.join(dir, `score-aligned-${set}.safetensors`),
  };
}

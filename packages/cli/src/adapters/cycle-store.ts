/**
 * The file {@link CycleStore} of `alignda cycle`: packages/pipelines' state codec on a snapshot folder `<dir>/state/`
 * (packages/world's `snapshotDir`: written to `state.tmp/` and swapped in by renames, so a process killed mid-save
 * leaves the previous state whole). The cycle service keeps its cycles the same way.
 */
import { cycleStoreOn } from '@alignda/pipelines';
import type { CycleStore } from '@alignda/pipelines';
import { snapshotDir } from '@alignda/world';

/** A {@link CycleStore} in `<dir>/state/`. */
export function fileCycleStore(dir: string): CycleStore & { readonly location: string; exists(): boolean } {
  const files = snapshotDir(dir);
  return { ...cycleStoreOn(files), location: files.location, exists: () => files.exists() };
}

import { griddedObservations } from '@alignda/da';
import type { Observations } from '@alignda/da';
import type { ObsBatch } from '@alignda/world';

/**
 * The DA core's gridded observations (H = selection) from a world observation batch whose entries carry
 * grid rows and columns (simulated gridded observations). Validation happens in `griddedObservations`.
 * @param stateShape - [C, H, W] of the state the batch observes
 */
export function griddedFromBatch(
  batch: ObsBatch,
  stateShape: readonly [number, number, number],
): Observations {
  if (!batch.row || !batch.col) {
    throw new Error(
      'observation batch has no grid rows/columns: point observations need the bilinear operator',
    );
  }
  return griddedObservations({
    stateShape,
    channel: batch.channelIndex,
    row: batch.row,
    col: batch.col,
    value: batch.value,
    std: batch.errorStd,
  });
}

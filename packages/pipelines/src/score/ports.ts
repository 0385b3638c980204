/** The ports of scoring one condition (scoreCondition). */
import type { Field } from '@alignda/tensor';

/**
 * A frozen forecast model (for the reward service, the forecast service over gRPC): the state `steps` x 6 h after
 * `initial`, physical units, [C, H, W] flattened.
 * @param correlationId - passed on, so the forecast's log lines join the scoring call's
 * @throws AppError FAILED_PRECONDITION when the forecast model cannot be reached
 */
export type ForecastPort = (
  initial: Field,
  validTime: Date | undefined,
  steps: number,
  call: { readonly signal: AbortSignal; readonly correlationId: string },
) => Promise<Float32Array>;

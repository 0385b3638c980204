/** The background-error covariance of a job's 3D-Var, from the source's train period. */
import { createBSqrt, estimateBackgroundError } from '@alignda/da';
import type { BSqrt } from '@alignda/da';
import { AppError } from '@alignda/errors';
import type { DaSource } from '@alignda/world';

import { pickCases } from '../cases.js';
import { LEAD_STEPS } from '../evaluate-tuning.js';
import { backgroundTruthPairs } from '../var3d-pairs.js';

/**
 * B^(1/2) of the separable univariate 3D-Var, fitted as evaluateLatent fits it (per-latitude variances, channel
 * correlations, the valid area only, from train-period background/truth pairs picked as it picks them), at a given
 * length scale instead of a tuned one.
 * @param forecast - the 48 h background from a start state index (normalised)
 * @param nWanted - pairs wanted; at most those the train period holds
 * @throws AppError `FAILED_PRECONDITION` when the train period holds fewer than 2 states with a state 48 h earlier
 */
export async function fitJobBSqrt(
  source: DaSource,
  forecast: (startIndex: number) => Promise<Float32Array>,
  normState: (i: number) => Float32Array,
  nWanted: number,
  lengthScaleKm: number,
  progress: (fraction: number) => void,
  checkAbort: () => void,
): Promise<{ bSqrt: BSqrt; n: number }> {
  const [trainLo, trainHi] = source.periods.train;
  const span = trainHi - trainLo - LEAD_STEPS;
  if (span < 2)
    throw new AppError(
      'FAILED_PRECONDITION',
      `3D-Var's B needs at least 2 train-period states with a state 48 h earlier; ${source.name}'s train period has ${Math.max(0, span)}`,
    );
  const n = Math.min(nWanted, span);
  const trainIdx = pickCases(trainLo + LEAD_STEPS, trainHi, n, false);
  const pairs = await backgroundTruthPairs(
    trainIdx,
    source.shape,
    (i) => {
      checkAbort();
      return forecast(i - LEAD_STEPS);
    },
    normState,
    progress,
  );
  const stats = estimateBackgroundError(pairs.background, pairs.truth, {
    perLatitude: true,
    crossChannel: source.shape[0] > 1,
    ...(source.validMask === undefined ? {} : { validMask: source.validMask }),
  });
  return { bSqrt: createBSqrt(source.grid, stats, { lengthScaleM: lengthScaleKm * 1000 }), n };
}

/**
 * The latent modes in a cycle: the background (the forecast of the previous analysis) is encoded, the prior bound
 * to its latent, and `latentMembers` members sampled with the guidance; their mean is the analysis carried forward.
 * The prior is the score network trained on 48 h backgrounds, reused at the cycle's interval only when asked
 * (`latentPrior: 'reuse-48h'`, written in the protocol card): a prior of 6 h cycled backgrounds is not trained yet.
 */
import { AppError } from '@alignda/errors';
import { createLatentSessions } from '@alignda/nn';
import type { LatentModels, LatentSessions } from '@alignda/nn';

import { assimilate } from './assimilate.js';
import type { LatentMode } from './assimilate.js';
import type { ResolvedCycleOptions } from './cycle-options.js';
import { drawSeed } from './cycle-step.js';
import type { CycleAnalyser, CycleWorld } from './cycle-step.js';
import { encodeState, forecastState, latentPrior } from './latent-models.js';

/** One-member sessions whose emulator forecasts `steps` source steps (one cycle interval). */
export function intervalSessions(models: LatentModels, steps: number): Promise<LatentSessions> {
  return createLatentSessions(models, 1, { leadSteps: steps });
}

/** The emulator's forecast of one interval as a cycle world's forecast. */
export function emulatorForecast(
  one: LatentSessions,
  hourOf: ((i: number) => number) | undefined,
): (x: Float32Array, i: number) => Promise<Float32Array> {
  return (x, i) => forecastState(one, x, hourOf?.(i));
}

/** The latent methods of `o.methods` (DPS, ObsFree), in their order. */
export async function latentAnalysers(
  models: LatentModels,
  one: LatentSessions,
  world: CycleWorld,
  o: ResolvedCycleOptions,
): Promise<CycleAnalyser[]> {
  const modes = o.methods.filter(
    (m): m is LatentMode & ('dps' | 'obsfree') => m === 'dps' || m === 'obsfree',
  );
  if (modes.length === 0) return [];
  const ens =
    o.latentMembers === 1
      ? one
      : await createLatentSessions(models, o.latentMembers, { leadSteps: world.steps });
  const zShape = models.score.config.latentShape;
  return modes.map((mode): CycleAnalyser => ({
    id: mode,
    init: (x0) => ({ analysis: Float32Array.from(x0) }),
    step: async (carried, obs, from, cycle) => {
      if (carried.analysis === undefined)
        throw new AppError('INTERNAL', `${mode}: the carried state has no analysis`);
      const background = await world.forecast(carried.analysis, from);
      const zb = await encodeState(one, background);
      const a = await assimilate({
        method: mode,
        prior: latentPrior(ens, zb, zShape),
        obs,
        members: o.latentMembers,
        seed: drawSeed(o.seed, cycle, mode),
        steps: o.steps,
        corrections: o.corrections,
        ...(mode === 'dps' ? { param: o.zeta } : {}),
      });
      return {
        carried: { analysis: a.mean },
        background,
        analysis: a.mean,
        ...(a.spread === undefined ? {} : { analysisSpread: a.spread }),
      };
    },
  }));
}

/**
 * The 48-hour forecast of a latent DA system's regime: the physical model of the synthetic world (de-normalised
 * in, normalised out) when the backgrounds are model forecasts, else the trained emulator. Backgrounds, the 48 h
 * skill of analyses and the forecast reward all run through it, so they share one frozen forecast model.
 */
import type { LatentSessions } from '@alignda/nn';
import { denormalise, normalise } from '@alignda/tensor';
import type { Field, NormStats } from '@alignda/tensor';
import { forecastModel, sourceStepHours } from '@alignda/world';
import type { DaSource } from '@alignda/world';

import type { BackgroundKind } from './evaluate-latent-options.js';
import { LEAD_STEPS } from './evaluate-tuning.js';
import { forecastState } from './latent-models.js';

/** x (normalised state valid at state index i) -> its forecast LEAD_STEPS states later, normalised. */
export type LeadForecast = (x: Float32Array, i: number) => Promise<Float32Array>;

/**
 * The forecast of `kind`: `model` needs a source with dynamics (the QG world); `emulator` runs the sessions'
 * emulator (one member).
 */
export function leadForecast(
  source: Pick<DaSource, 'field' | 'shape' | 'hourOf' | 'stepHours'>,
  norm: NormStats,
  one: LatentSessions,
  kind: BackgroundKind,
): LeadForecast {
  const shape = source.shape;
  if (kind === 'emulator') return (x, i) => forecastState(one, x, source.hourOf?.(i));
  const model = forecastModel();
  return (x, i) => {
    const start: Field = {
      ...source.field(i),
      data: denormalise({ data: Float32Array.from(x), shape }, norm).data,
    };
    const end = model.forecast(start, LEAD_STEPS * sourceStepHours(source)).at(-1) ?? start;
    return Promise.resolve(normalise({ data: end.data, shape }, norm).data);
  };
}

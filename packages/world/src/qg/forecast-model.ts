import type { Field } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import { createQgModel } from './model.js';
import type { QgModel } from './model.js';
import type { QgParams } from './params.js';

/**
 * Parameter errors of the default imperfect forecast model, relative to the nature run: drag 1.5x
 * (1/(2 d) -> 1/(1.33 d)), stratification (rd 750 -> 700 km), hyperviscosity 3x stronger (3 h -> 1 h)
 * and a coarser spectral truncation (keeps |k| <= 0.5 Nyquist instead of 2/3, i.e. 16 x 8 instead of
 * 21 x 10 waves). The imposed shear and reference profile are shared (a state is read through them).
 */
export const FORECAST_MODEL_PERTURBATION: Partial<QgParams> = Object.freeze({
  dragPerS: 1 / (1.33 * 86_400),
  deformationRadiusM: 7.0e5,
  hyperviscosityTimeS: 3600,
  truncation: 0.5,
});

/** An imperfect forecast model over physical fields. */
export interface QgForecastModel {
  readonly model: QgModel;
  /**
   * Forecast from `initial` (a Field [7, ny, nx] of the nature run's grid, e.g. a truth state or an
   * analysis), returning the states every `intervalHours` up to `leadHours` (lead 0 excluded).
   */
  forecast(initial: Field, leadHours: number, intervalHours?: number): Field[];
}

/**
 * The nature run's model with perturbed parameters, as an imperfect forecast model.
 * @param params - overrides on DEFAULT_QG_PARAMS @defaultValue {@link FORECAST_MODEL_PERTURBATION}
 */
export function forecastModel(params: Partial<QgParams> = FORECAST_MODEL_PERTURBATION): QgForecastModel {
  const model = createQgModel(params);
  return {
    model,
    forecast(initial, leadHours, intervalHours = 6) {
      if (!(leadHours > 0) || !(intervalHours > 0) || !Number.isInteger(leadHours / intervalHours))
        throw new DatasetError(
          'OUT_OF_RANGE',
          `forecast: leadHours ${leadHours} must be a positive multiple of ${intervalHours}`,
        );
      const q = model.fromField(initial);
      const out: Field[] = [];
      for (let h = intervalHours; h <= leadHours; h += intervalHours) {
        model.advance(q, intervalHours);
        out.push(model.toField(q));
      }
      return out;
    },
  };
}

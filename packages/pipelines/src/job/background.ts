/**
 * Where an assimilation job stands in its source and the background it starts from, made exactly as the latent
 * evaluation makes its backgrounds (evaluateLatent): the forecast `LEAD_STEPS` source steps long (48 h on 6-hourly
 * data, 8 days on daily data) from the source's state that much before the valid time, by the imperfect physical model on the synthetic world or by the trained emulator on a dataset, in
 * normalised units.
 */
import { AppError } from '@alignda/errors';
import type { LatentSessions } from '@alignda/nn';
import { denormalise, normalise } from '@alignda/tensor';
import type { Field, NormStats } from '@alignda/tensor';
import { forecastModel, parseIsoUtc, sourceStepHours } from '@alignda/world';
import type { DaSource } from '@alignda/world';

import type { BackgroundKind } from '../evaluate-latent-options.js';
import { LEAD_STEPS } from '../evaluate-tuning.js';
import { forecastState } from '../latent-models.js';

/** A state's time as `timeOf` writes it (`2013-01-03T06`, hour precision) in epoch ms. */
const timeMs = (source: Pick<DaSource, 'timeOf'>, i: number): number => parseIsoUtc(source.timeOf(i));

/**
 * The state index of `validTime` in `source`, and that of the background's start state `LEAD_STEPS` steps earlier.
 * @throws AppError `NOT_FOUND` for a time that is no state of the source (outside its span, or between two of its
 *   states); `FAILED_PRECONDITION` when the state `LEAD_STEPS` steps earlier, which the background starts from, is
 *   not in the source
 */
export function jobStateIndex(
  source: Pick<DaSource, 'name' | 'count' | 'timeOf' | 'stepHours'>,
  validTime: string,
): { index: number; startIndex: number } {
  const t = parseIsoUtc(validTime);
  if (!Number.isFinite(t))
    throw new AppError('INVALID_ARGUMENT', `valid time '${validTime}' is not an ISO 8601 UTC time`);
  const stepHours = sourceStepHours(source);
  const leadHours = LEAD_STEPS * stepHours;
  const span = `${source.timeOf(0)} .. ${source.timeOf(source.count - 1)} (every ${stepHours} h)`;
  // States are in time order: a binary search for the first at or after t.
  let lo = 0;
  let hi = source.count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (timeMs(source, mid) < t) lo = mid + 1;
    else hi = mid;
  }
  if (lo >= source.count || timeMs(source, lo) !== t)
    throw new AppError('NOT_FOUND', `${source.name} has no state at ${validTime}: its states are ${span}`, {
      details: { validTime },
    });
  const startIndex = lo - LEAD_STEPS;
  if (startIndex < 0 || timeMs(source, lo) - timeMs(source, startIndex) !== leadHours * 3_600_000)
    throw new AppError(
      'FAILED_PRECONDITION',
      `the background at ${validTime} is the ${leadHours} h forecast from the state ${leadHours} h earlier, which ${source.name} does not hold: its states are ${span}`,
      { details: { validTime } },
    );
  return { index: lo, startIndex };
}

/**
 * The 48 h forecast model of backgrounds (and of the evaluation's forecast-skill rows): the normalised forecast
 * `LEAD_STEPS` on from the normalised state `x` valid at state `i`, by the imperfect physical model on the synthetic
 * world or by the trained emulator. evaluateLatent and every job use this one function, so a job's background is bit
 * for bit the evaluation's.
 * @param one - single-member sessions (the emulator's forecast); unused by physical-model backgrounds
 * @throws AppError `INVALID_ARGUMENT` for physical-model backgrounds on a source that is no synthetic world
 */
export function leadForecaster(
  source: DaSource,
  norm: NormStats,
  one: LatentSessions | undefined,
  kind: BackgroundKind,
): (x: Float32Array, i: number) => Promise<Float32Array> {
  const shape = source.shape;
  if (kind === 'emulator') {
    if (one === undefined) throw new AppError('INTERNAL', 'leadForecaster: the emulator needs sessions');
    return (x, i) => forecastState(one, x, source.hourOf?.(i));
  }
  if (source.kind !== 'world')
    throw new AppError(
      'INVALID_ARGUMENT',
      `${source.name} has no dynamical model for backgrounds: use the emulator (background 'emulator')`,
    );
  const physicalModel = forecastModel();
  return (x, i) => {
    const start: Field = {
      ...source.field(i),
      data: denormalise({ data: Float32Array.from(x), shape }, norm).data,
    };
    const end = physicalModel.forecast(start, LEAD_STEPS * sourceStepHours(source)).at(-1) ?? start;
    return Promise.resolve(normalise({ data: end.data, shape }, norm).data);
  };
}

/**
 * The 48 h background forecaster: the normalised forecast valid at state `i + LEAD_STEPS` from the source's state
 * `i` ({@link leadForecaster} started from the truth).
 * @param one - single-member sessions (the emulator's forecast); unused by physical-model backgrounds
 * @throws AppError `INVALID_ARGUMENT` for physical-model backgrounds on a source that is no synthetic world
 */
export function backgroundForecaster(
  source: DaSource,
  norm: NormStats,
  one: LatentSessions | undefined,
  kind: BackgroundKind,
): (startIndex: number) => Promise<Float32Array> {
  const shape = source.shape;
  const normState = (i: number): Float32Array => normalise({ data: source.state(i).data, shape }, norm).data;
  const forecast = leadForecaster(source, norm, one, kind);
  return (i) => forecast(normState(i), i);
}

/**
 * Scoring the N sibling samples of one condition (METHOD.md section 5), the use case behind RewardService.Score:
 * R_assim and R_forecast as Bradley-Terry win rates of the latitude-weighted RMSE of normalised fields (the forecasts
 * through a {@link ForecastPort}), the Geo-Score and the hydrostatic reward from packages/da's deviations of samples
 * and truth, per-sample latitude-weighted RMSE, MSE and MAE of normalised fields, O-A per sample and O-B against a
 * background (packages/world's departures). The rewards are {@link rewardTerms}, {@link rewardScales} and
 * {@link rewardValues}, as buildPreferenceSet computes them; by default the scales s_m come from this condition's
 * own samples (a Score call sees one condition), where a preference set fixes them over its alignment period —
 * `scales` gives them explicitly.
 */
import type { RewardName, RewardScales } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { latWeightedRmse, mae, mse } from '@alignda/tensor';
import type { Field, Tensor } from '@alignda/tensor';
import { departures } from '@alignda/world';
import type { DepartureObs, Departures } from '@alignda/world';

import type { ForecastPort } from './ports.js';
import { rewardScales, rewardTerms, rewardValues } from './rewards.js';
import type { ConditionFields, RewardContext } from './rewards.js';

/** 6-hour steps of R_forecast's forecasts when none are given: 48 h, as the preference sets. */
export const DEFAULT_FORECAST_STEPS = 8;

/** The dataset the samples belong to. */
export interface ScoreDataset extends RewardContext {
  /** Per-channel std of the models' normalisation: normalised errors are physical errors / std_c. */
  readonly std: readonly number[];
}

/** Observations for O-A and O-B: channels are the dataset's, values and error stds physical units. */
export interface ScoreObservations extends DepartureObs {
  /** Whether each observation is used (passed QC). */
  readonly used: readonly boolean[];
}

/** The ports of {@link scoreCondition}. */
export interface ScorePorts {
  /** The frozen forecast model, for R_forecast. */
  readonly forecast?: ForecastPort | undefined;
}

/** Options of {@link scoreCondition}. */
export interface ScoreConditionOptions {
  readonly dataset: ScoreDataset;
  /** Rewards to compute, each at most once, in this order. */
  readonly rewards: readonly RewardName[];
  /**
   * Where the rewards' scales s_m come from: `'condition'`, this condition's own samples; or scales fixed elsewhere
   * (e.g. a preference set's, over its alignment period). @defaultValue 'condition'
   */
  readonly scales?: 'condition' | RewardScales;
  /** 6-hour steps of R_forecast's forecasts. @defaultValue {@link DEFAULT_FORECAST_STEPS} */
  readonly forecastSteps?: number;
  /** The samples' valid time, passed to the forecast port. */
  readonly validTime?: Date | undefined;
  /** Observations: O-A of each sample, and O-B with `background`. */
  readonly observations?: ScoreObservations | undefined;
  /** The background [C, H, W], physical units, for O-B. */
  readonly background?: Float32Array | undefined;
  /** Passed to the forecast port. */
  readonly call?: { readonly signal: AbortSignal; readonly correlationId: string };
  /** Stages: `truth-forecast`, `forecast` (with R_forecast), `score`. */
  readonly onProgress?: (stage: string, fraction: number, message: string) => void | Promise<void>;
}

/** The scores of one sample; rewards not asked for are undefined. */
export interface SampleScores {
  readonly rAssim?: number;
  readonly rForecast?: number;
  readonly geoScore?: number;
  readonly rHydrostatic?: number;
  /** Mean over levels of the sample's geostrophic deviation D. */
  readonly geostrophicDeviation?: number;
  /** Latitude-weighted RMSE per channel, normalised; empty without truth. */
  readonly wrmseNormalised: readonly number[];
  readonly mseNormalised?: number;
  readonly maeNormalised?: number;
  /** O-A of the sample, with observations. */
  readonly oMinusA?: Departures;
}

/** The scores of every sample. */
export interface ScoreOutcome {
  readonly samples: readonly SampleScores[];
  /** Mean over levels of the truth's geostrophic deviation, with `geo`. */
  readonly truthGeostrophicDeviation?: number;
  /** O-B, with observations and a background. */
  readonly oMinusB?: Departures;
}

/** Field / std_c per channel, [n, C, H, W] flattened. */
function scaled(data: Float32Array, std: readonly number[], C: number, HW: number): Float32Array {
  return Float32Array.from(data, (v, k) => v / (std[Math.floor(k / HW) % C] as number));
}

function meanOf(values: ArrayLike<number>, from: number, count: number): number {
  let s = 0;
  for (let i = from; i < from + count; i++) s += values[i] as number;
  return s / count;
}

const SCORE_FIELDS: Record<RewardName, 'rAssim' | 'rForecast' | 'geoScore' | 'rHydrostatic'> = {
  assim: 'rAssim',
  forecast: 'rForecast',
  geo: 'geoScore',
  hydro: 'rHydrostatic',
};

/**
 * Scores N samples of one condition, physical units, each [C, H, W] on the dataset's grid.
 * @throws AppError INVALID_ARGUMENT when a reward needs the truth and none is given, a win rate has fewer than two
 *   samples, or the dataset has no channels for `geo` / `hydro` (e.g. no geopotential on ncep-air);
 *   FAILED_PRECONDITION when R_forecast has no forecast port or the normalisation does not have the samples' channels
 */
export async function scoreCondition(
  samples: readonly Field[],
  truth: Field | undefined,
  ports: ScorePorts,
  options: ScoreConditionOptions,
): Promise<ScoreOutcome> {
  const { dataset, rewards } = options;
  const N = samples.length;
  const [C, H, W] = samples[0]?.shape ?? [0, 0, 0];
  const HW = H * W;
  const size = C * HW;
  const shape = [C, H, W];
  const stacked = new Float32Array(N * size); // [N, C, H, W]
  samples.forEach((s, n) => stacked.set(s.data, n * size));
  const progress = async (stage: string, fraction: number, message: string): Promise<void> => {
    await options.onProgress?.(stage, fraction, message);
  };

  let forecasts: { samples: Float32Array; verification: Float32Array } | undefined;
  if (rewards.includes('forecast')) {
    if (truth === undefined) throw new AppError('INVALID_ARGUMENT', 'R_forecast needs the truth');
    const forecast = ports.forecast;
    if (forecast === undefined)
      throw new AppError('FAILED_PRECONDITION', 'R_forecast needs a forecast model, and none is given');
    const steps = options.forecastSteps ?? DEFAULT_FORECAST_STEPS;
    const call = options.call ?? { signal: new AbortController().signal, correlationId: '' };
    await progress('truth-forecast', 0, '');
    const verification = await forecast(truth, options.validTime, steps, call);
    const out = new Float32Array(N * size);
    for (const [n, s] of samples.entries()) {
      await progress('forecast', n / (N + 1), `sample ${n + 1}/${N}`);
      out.set(await forecast(s, options.validTime, steps, call), n * size);
    }
    forecasts = { samples: out, verification };
  }
  await progress('score', N / (N + 1), '');

  if (truth === undefined && rewards.length > 0)
    throw new AppError(
      'INVALID_ARGUMENT',
      `rewards ${rewards.join(', ')} need the truth: set ScoreRequest.truth`,
    );
  if (dataset.std.length !== C)
    throw new AppError(
      'FAILED_PRECONDITION',
      `the normalisation has ${dataset.std.length} channels, the samples ${C}`,
    );
  const mask = dataset.validMask === undefined ? {} : { mask: dataset.validMask };
  const out = Array.from(
    { length: N },
    () => ({}) as { -readonly [K in keyof SampleScores]: SampleScores[K] },
  );
  let truthGeostrophicDeviation: number | undefined;
  if (truth !== undefined) {
    const samplesN: Tensor<Float32Array> = {
      data: scaled(stacked, dataset.std, C, HW),
      shape: [N, C, H, W],
    };
    const truthN: Tensor<Float32Array> = { data: scaled(truth.data, dataset.std, C, HW), shape };
    for (let n = 0; n < N; n++) {
      const one = { data: samplesN.data.subarray(n * size, (n + 1) * size), shape };
      const s = out[n] as (typeof out)[number];
      s.wrmseNormalised = Array.from(latWeightedRmse(one, truthN, dataset.grid.latDeg, mask).perChannel);
      s.mseNormalised = mse(one, truthN, mask).overall;
      s.maeNormalised = mae(one, truthN, mask).overall;
    }
    const fields: ConditionFields = {
      samples: { data: stacked, shape: [N, C, H, W] },
      truth: { data: truth.data, shape },
      normalised: { samples: samplesN, truth: truthN },
      ...(forecasts === undefined
        ? {}
        : {
            forecasts: {
              samples: { data: scaled(forecasts.samples, dataset.std, C, HW), shape: [N, C, H, W] },
              verification: { data: scaled(forecasts.verification, dataset.std, C, HW), shape },
            },
          }),
    };
    // One reward at a time, terms, scales, values, so that the first failing reward is the one reported.
    for (const reward of rewards) {
      const terms = rewardTerms([reward], fields, dataset);
      const given = options.scales ?? 'condition';
      const scales = given === 'condition' ? rewardScales([reward], [terms]) : given;
      const r = rewardValues([reward], terms, scales, fields, dataset)[reward] as Float64Array;
      out.forEach((s, n) => (s[SCORE_FIELDS[reward]] = r[n] as number));
      if (reward === 'geo' && terms.geo !== undefined) {
        const d = terms.geo.deviations;
        const L = d.shape[1] as number;
        out.forEach((s, n) => (s.geostrophicDeviation = meanOf(d.data, n * L, L)));
        truthGeostrophicDeviation = meanOf(terms.geo.truth, 0, L);
      }
    }
  }

  const obs = options.observations;
  const departuresOf = (field: ArrayLike<number>): Departures =>
    departures(obs as ScoreObservations, field, dataset.grid, {
      used: (obs as ScoreObservations).used,
      validMask: dataset.validMask,
    });
  return {
    samples: out.map((s, n) => ({
      ...s,
      wrmseNormalised: s.wrmseNormalised ?? [],
      ...(obs === undefined ? {} : { oMinusA: departuresOf(stacked.subarray(n * size, (n + 1) * size)) }),
    })),
    ...(truthGeostrophicDeviation === undefined ? {} : { truthGeostrophicDeviation }),
    ...(obs === undefined || options.background === undefined
      ? {}
      : { oMinusB: departuresOf(options.background) }),
  };
}

/**
 * Scores of N sibling samples of one condition (pure), with packages/da's rewards as buildPreferenceSet uses them
 * (METHOD.md section 5): R_assim and R_forecast as Bradley-Terry win rates of the latitude-weighted RMSE of
 * normalised fields, the Geo-Score and the hydrostatic reward from the deviations of samples and truth. One
 * difference from a preference set, by necessity: a Score call sees one condition, so the scales s_m are those of
 * this condition's siblings, not the median over an alignment period.
 *
 * [to move] pipelines has no "score one condition" use case yet; this composition belongs there (beside
 * buildPreferenceSet, which could then call it) once it exists.
 */
import {
  bradleyTerryWinRates,
  deviationScale,
  geoDeviations,
  geoReward,
  hydroDeviations,
  hydroReward,
  siblingErrors,
  winRateScales,
} from '@alignda/da';
import type { BalanceSpec, RewardName } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { latWeightedRmse, mae, mse } from '@alignda/tensor';
import type { Grid, Tensor } from '@alignda/tensor';

/** What the scores are computed against. */
export interface ScoreContext {
  readonly grid: Grid;
  /** 1 where a cell holds data, [H, W]. @defaultValue every cell */
  readonly validMask?: Uint8Array;
  /** Per-channel std of the models' normalisation: normalised errors are physical errors / std_c. */
  readonly std: readonly number[];
  /** The dataset's balance relations (geo, hydro); undefined when it has none. */
  readonly balance: BalanceSpec | undefined;
  /** The dataset's name and channels, for messages. */
  readonly name: string;
  readonly channels: readonly string[];
}

/** The fields to score, physical units. */
export interface ScoreInput {
  /** The samples, [N, C, H, W]. */
  readonly samples: Tensor<Float32Array>;
  /** The truth, [C, H, W]; the rewards and skill need it. */
  readonly truth?: Float32Array;
  /** Rewards to compute, each at most once. */
  readonly rewards: readonly RewardName[];
  /** 48 h forecasts from each sample [N, C, H, W] and the verification [C, H, W], for `forecast`. */
  readonly forecasts?: { readonly samples: Float32Array; readonly verification: Float32Array };
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
}

/** The scores of every sample. */
export interface ScoreOutcome {
  readonly samples: readonly SampleScores[];
  /** Mean over levels of the truth's geostrophic deviation, with `geo`. */
  readonly truthGeostrophicDeviation?: number;
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

/**
 * Scores N samples of one condition.
 * @throws AppError INVALID_ARGUMENT when a reward needs the truth and none is given, a win rate has fewer than two
 *   samples, or the dataset has no channels for `geo` / `hydro` (e.g. no geopotential on ncep-air)
 */
export function scoreSamples(input: ScoreInput, ctx: ScoreContext): ScoreOutcome {
  const [N, C, H, W] = input.samples.shape as [number, number, number, number];
  const HW = H * W;
  const shape = [C, H, W];
  const truth = input.truth;
  if (truth === undefined && input.rewards.length > 0)
    throw new AppError(
      'INVALID_ARGUMENT',
      `rewards ${input.rewards.join(', ')} need the truth: set ScoreRequest.truth`,
    );
  if (ctx.std.length !== C)
    throw new AppError(
      'FAILED_PRECONDITION',
      `the normalisation has ${ctx.std.length} channels, the samples ${C}`,
    );
  const mask = ctx.validMask === undefined ? {} : { mask: ctx.validMask };
  const out = Array.from(
    { length: N },
    () => ({}) as { -readonly [K in keyof SampleScores]: SampleScores[K] },
  );
  let truthGeostrophicDeviation: number | undefined;
  if (truth === undefined) {
    for (const s of out) s.wrmseNormalised = [];
    return { samples: out };
  }
  const samplesN: Tensor<Float32Array> = {
    data: scaled(input.samples.data, ctx.std, C, HW),
    shape: [N, C, H, W],
  };
  const truthN: Tensor<Float32Array> = { data: scaled(truth, ctx.std, C, HW), shape };
  for (let n = 0; n < N; n++) {
    const one = { data: samplesN.data.subarray(n * C * HW, (n + 1) * C * HW), shape };
    const s = out[n] as (typeof out)[number];
    s.wrmseNormalised = Array.from(latWeightedRmse(one, truthN, ctx.grid.latDeg, mask).perChannel);
    s.mseNormalised = mse(one, truthN, mask).overall;
    s.maeNormalised = mae(one, truthN, mask).overall;
  }
  const winRates = (samples: Tensor<Float32Array>, target: Tensor<Float32Array>): Float64Array => {
    const errors = siblingErrors(samples, target, ctx.grid.latDeg, mask);
    return bradleyTerryWinRates(errors, winRateScales([errors]));
  };
  const truthPhysical = { data: truth, shape };
  for (const reward of input.rewards) {
    if (reward === 'assim') {
      const r = winRates(samplesN, truthN);
      out.forEach((s, n) => (s.rAssim = r[n] as number));
    } else if (reward === 'forecast') {
      if (input.forecasts === undefined)
        throw new AppError('FAILED_PRECONDITION', 'R_forecast needs the 48 h forecasts of the samples');
      const f = input.forecasts;
      const r = winRates(
        { data: scaled(f.samples, ctx.std, C, HW), shape: [N, C, H, W] },
        { data: scaled(f.verification, ctx.std, C, HW), shape },
      );
      out.forEach((s, n) => (s.rForecast = r[n] as number));
    } else {
      const spec = ctx.balance;
      const what =
        reward === 'geo'
          ? 'a geopotential with both wind components at one level'
          : 'a temperature between two geopotential levels';
      if (spec === undefined)
        throw new AppError(
          'INVALID_ARGUMENT',
          `${ctx.name} has no channels for ${reward} (it needs ${what}; channels: ${ctx.channels.join(', ')})`,
        );
      const deviations = reward === 'geo' ? geoDeviations : hydroDeviations;
      const d = deviations(input.samples, ctx.grid, spec, mask);
      const dTruth = deviations({ data: truth, shape: [1, C, H, W] }, ctx.grid, spec, mask).data;
      const scale = deviationScale([{ deviations: d, truth: dTruth }]);
      const r =
        reward === 'geo'
          ? geoReward(input.samples, truthPhysical, ctx.grid, spec, scale, mask)
          : hydroReward(input.samples, truthPhysical, ctx.grid, spec, scale, mask);
      const L = d.shape[1] as number;
      out.forEach((s, n) => {
        if (reward === 'geo') {
          s.geoScore = r[n];
          s.geostrophicDeviation = meanOf(d.data, n * L, L);
        } else s.rHydrostatic = r[n];
      });
      if (reward === 'geo') truthGeostrophicDeviation = meanOf(dTruth, 0, L);
    }
  }
  return {
    samples: out.map((s) => ({ ...s, wrmseNormalised: s.wrmseNormalised ?? [] })),
    ...(truthGeostrophicDeviation === undefined ? {} : { truthGeostrophicDeviation }),
  };
}

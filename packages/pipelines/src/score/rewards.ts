/**
 * The rewards of one condition's N sibling samples (METHOD.md section 5), in three steps that preference sets and
 * the scoring of one condition share: the raw terms of each reward (packages/da's sibling errors for the win rates,
 * balance deviations of samples and truth for the Geo-Score and the hydrostatic reward), the scales s_m fixed on a
 * set of conditions, and the rewards of the samples under those scales. Who calls them chooses the conditions the
 * scales come from: a preference set the whole alignment period, a Score call its own condition.
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
import type { BalanceDeviations, BalanceSpec, RewardName, RewardScales } from '@alignda/da';
import { AppError } from '@alignda/errors';
import type { Grid, Tensor } from '@alignda/tensor';

/** What the rewards are computed against. */
export interface RewardContext {
  readonly grid: Grid;
  /** 1 where a cell holds data, [H, W]. @defaultValue every cell */
  readonly validMask?: Uint8Array | undefined;
  /** The dataset's balance relations (geo, hydro); undefined when it has none. */
  readonly balance: BalanceSpec | undefined;
  /** The dataset's name and channels, for messages. */
  readonly name: string;
  readonly channels: readonly string[];
  /**
   * Whether the Geo-Score leaves out the cells `validMask` marks invalid, as R_hydro and the win rates do. [choice]
   * Preference sets have computed it on every cell (outside the tropics) and pass false, so their sets stay as they
   * were; a Score call masks it.
   * @defaultValue true
   */
  readonly maskGeo?: boolean;
}

/** One condition's fields. */
export interface ConditionFields {
  /** The samples, [N, C, H, W], physical units (geo, hydro). */
  readonly samples: Tensor<Float32Array>;
  /** The truth, [C, H, W], physical units (geo, hydro). */
  readonly truth: Tensor<Float32Array>;
  /** Samples and truth in the units the win rates are computed in, the models' normalised ones (assim). */
  readonly normalised?: { readonly samples: Tensor<Float32Array>; readonly truth: Tensor<Float32Array> };
  /** Forecasts from each sample [N, C, H, W] and their verification [C, H, W], normalised units (forecast). */
  readonly forecasts?: {
    readonly samples: Tensor<Float32Array>;
    readonly verification: Tensor<Float32Array>;
  };
}

/** The raw terms of one condition's rewards, before any scale. */
export interface RewardTerms {
  /** Sibling errors [N, C] of the samples (R_assim). */
  readonly assim?: Tensor<Float64Array>;
  /** Sibling errors [N, C] of the samples' forecasts (R_forecast). */
  readonly forecast?: Tensor<Float64Array>;
  /** Geostrophic deviations of samples and truth (Geo-Score). */
  readonly geo?: BalanceDeviations;
  /** Hydrostatic deviations of samples and truth (R_hydro). */
  readonly hydro?: BalanceDeviations;
}

/** Rewards of the samples, length N each, for the rewards asked for. */
export type RewardValues = Partial<Record<RewardName, Float64Array>>;

/** The order rewards are computed and recorded in, whatever the order asked. */
const ORDER: readonly RewardName[] = ['assim', 'forecast', 'geo', 'hydro'];

function inOrder(rewards: readonly RewardName[]): RewardName[] {
  return ORDER.filter((r) => rewards.includes(r));
}

function maskOf(ctx: RewardContext): { mask?: Uint8Array } {
  return ctx.validMask === undefined ? {} : { mask: ctx.validMask };
}

function geoMaskOf(ctx: RewardContext): { mask?: Uint8Array } {
  return ctx.maskGeo === false ? {} : maskOf(ctx);
}

function balanceOf(reward: 'geo' | 'hydro', ctx: RewardContext): BalanceSpec {
  const what =
    reward === 'geo'
      ? 'a geopotential with both wind components at one level'
      : 'a temperature between two geopotential levels';
  if (ctx.balance === undefined)
    throw new AppError(
      'INVALID_ARGUMENT',
      `${ctx.name} has no channels for ${reward} (it needs ${what}; channels: ${ctx.channels.join(', ')})`,
    );
  return ctx.balance;
}

/**
 * The raw terms of the given rewards (assim, forecast, geo, hydro, in that order).
 * @throws AppError FAILED_PRECONDITION when `forecast` has no forecasts or `assim` no normalised fields;
 *   INVALID_ARGUMENT when the dataset has no channels for `geo` / `hydro`
 */
export function rewardTerms(
  rewards: readonly RewardName[],
  fields: ConditionFields,
  ctx: RewardContext,
): RewardTerms {
  const out: { -readonly [K in keyof RewardTerms]: RewardTerms[K] } = {};
  const mask = maskOf(ctx);
  const latDeg = ctx.grid.latDeg;
  const [, C, H, W] = fields.samples.shape as [number, number, number, number];
  for (const reward of inOrder(rewards)) {
    if (reward === 'assim') {
      if (fields.normalised === undefined)
        throw new AppError('FAILED_PRECONDITION', 'R_assim needs the samples and truth in normalised units');
      out.assim = siblingErrors(fields.normalised.samples, fields.normalised.truth, latDeg, mask);
    } else if (reward === 'forecast') {
      if (fields.forecasts === undefined)
        throw new AppError('FAILED_PRECONDITION', 'R_forecast needs the 48 h forecasts of the samples');
      out.forecast = siblingErrors(fields.forecasts.samples, fields.forecasts.verification, latDeg, mask);
    } else {
      const spec = balanceOf(reward, ctx);
      const truth = { data: fields.truth.data, shape: [1, C, H, W] };
      out[reward] =
        reward === 'geo'
          ? {
              deviations: geoDeviations(fields.samples, ctx.grid, spec, geoMaskOf(ctx)),
              truth: geoDeviations(truth, ctx.grid, spec, geoMaskOf(ctx)).data,
            }
          : {
              deviations: hydroDeviations(fields.samples, ctx.grid, spec, mask),
              truth: hydroDeviations(truth, ctx.grid, spec, mask).data,
            };
    }
  }
  return out;
}

/**
 * The scales of the given rewards, fixed on a set of conditions: per variable the median spread of the sibling
 * errors (win rates), the median deviation gap (geo, hydro).
 * @param conditions - each condition's terms, with every reward asked for
 */
export function rewardScales(
  rewards: readonly RewardName[],
  conditions: readonly RewardTerms[],
): RewardScales {
  const out: { -readonly [K in keyof RewardScales]: RewardScales[K] } = {};
  const terms = <K extends keyof RewardTerms>(k: K): NonNullable<RewardTerms[K]>[] =>
    conditions.map((c) => c[k] as NonNullable<RewardTerms[K]>);
  for (const reward of inOrder(rewards)) {
    if (reward === 'assim' || reward === 'forecast') out[reward] = Array.from(winRateScales(terms(reward)));
    else out[reward] = deviationScale(terms(reward));
  }
  return out;
}

/**
 * The rewards of one condition's samples under the given scales: Bradley-Terry win rates for assim and forecast,
 * the Geo-Score and R_hydro for geo and hydro.
 * @throws AppError INVALID_ARGUMENT from packages/da when a win rate has fewer than two samples
 */
export function rewardValues(
  rewards: readonly RewardName[],
  terms: RewardTerms,
  scales: RewardScales,
  fields: ConditionFields,
  ctx: RewardContext,
): RewardValues {
  const out: RewardValues = {};
  for (const reward of inOrder(rewards)) {
    const scale = scales[reward];
    const term = terms[reward];
    if (scale === undefined || term === undefined)
      throw new AppError('FAILED_PRECONDITION', `no scale or terms for the reward ${reward}`);
    if (reward === 'assim' || reward === 'forecast')
      out[reward] = bradleyTerryWinRates(terms[reward] as Tensor<Float64Array>, scale as readonly number[]);
    else if (reward === 'geo')
      out.geo = geoReward(
        fields.samples,
        fields.truth,
        ctx.grid,
        balanceOf(reward, ctx),
        scale as number,
        geoMaskOf(ctx),
      );
    else
      out.hydro = hydroReward(
        fields.samples,
        fields.truth,
        ctx.grid,
        balanceOf(reward, ctx),
        scale as number,
        maskOf(ctx),
      );
  }
  return out;
}

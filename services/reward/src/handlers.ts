/**
 * The RewardService rpc (proto/alignda/v1/reward.proto): decode the samples, truth, background and observations,
 * call pipelines' `scoreCondition` (the 48 h forecasts R_forecast needs through the forecast service's port, scales
 * from this condition's samples), stream its Progress and one ScoreResult.
 */
import type { BalanceSpec, RewardName } from '@alignda/da';
import { AppError } from '@alignda/errors';
import {
  InvalidMessageError,
  RewardKind,
  assertFieldLayout,
  assertObsBatchMessage,
  fieldFromProto,
  invalidMessage,
  serverStreamHandler,
} from '@alignda/rpc';
import type {
  CallLogger,
  DepartureDiagnostics,
  FieldLayout,
  ObsBatch,
  RewardServiceServer,
  ScoreRequest,
  ScoreResponse,
  StreamContext,
} from '@alignda/rpc';
import { DEFAULT_FORECAST_STEPS, scoreCondition } from '@alignda/pipelines';
import type { ForecastPort, ScoreObservations } from '@alignda/pipelines';
import type { Field } from '@alignda/tensor';
import type { Departures } from '@alignda/world';

export { DEFAULT_FORECAST_STEPS };

/** The dataset a service scores for. */
export interface RewardDataset extends FieldLayout {
  /** The id requests name (the source's name). */
  readonly name: string;
  /** 1 where a cell holds data, [H, W]. @defaultValue every cell */
  readonly validMask?: Uint8Array;
  /** Per-channel std of the models' normalisation (the train period's). */
  readonly std: readonly number[];
  /** Balance relations for geo and hydro; undefined when the dataset has none. */
  readonly balance: BalanceSpec | undefined;
}

/** What the handler works with. */
export interface RewardHandlerDeps {
  readonly dataset: RewardDataset;
  /** The forecast model for R_forecast; undefined when no forecast service is configured. */
  readonly forecast?: ForecastPort;
}

const REWARDS: Partial<Record<RewardKind, RewardName>> = {
  [RewardKind.ASSIM]: 'assim',
  [RewardKind.FORECAST]: 'forecast',
  [RewardKind.GEO]: 'geo',
  [RewardKind.HYDROSTATIC]: 'hydro',
};

function rewardsOf(kinds: readonly RewardKind[]): RewardName[] {
  const out: RewardName[] = [];
  kinds.forEach((k, i) => {
    const name = REWARDS[k];
    if (name === undefined) invalidMessage(`rewards[${i}]`, `${k} is not a reward kind`);
    if (out.includes(name)) invalidMessage(`rewards[${i}]`, `${RewardKind[k]} is asked for twice`);
    out.push(name);
  });
  return out;
}

/** A batch message resolved to the dataset's channels; QC-flagged observations are not used. */
export function resolveObs(batch: ObsBatch, dataset: RewardDataset): ScoreObservations {
  assertObsBatchMessage(batch, { datasetChannels: dataset.channels }, 'observations');
  const toDataset = batch.channels.map((name) => dataset.channels.indexOf(name));
  const loc = batch.locations;
  return {
    channelIndex: Int32Array.from(batch.channelIndex, (c) => toDataset[c] ?? -1),
    ...(loc?.$case === 'points'
      ? { latDeg: Float64Array.from(loc.value.latDeg), lonDeg: Float64Array.from(loc.value.lonDeg) }
      : { row: Int32Array.from(loc?.value.row ?? []), col: Int32Array.from(loc?.value.col ?? []) }),
    value: Float64Array.from(batch.values),
    errorStd: Float64Array.from(batch.errorStd),
    used: batch.values.map((_, i) => (batch.qcFlags[i] ?? 0) === 0),
  };
}

function diagnostics(d: Departures, dataset: RewardDataset): DepartureDiagnostics {
  return {
    departures: Array.from(d.departures),
    channels: d.channels.map((c) => ({ ...c, channel: dataset.channels[c.channelIndex] ?? '' })),
  };
}

/** Score: Progress ("truth-forecast", "forecast", "score") and one ScoreResult. */
export async function score(
  deps: RewardHandlerDeps,
  request: ScoreRequest,
  ctx: Pick<StreamContext<ScoreResponse>, 'send' | 'signal' | 'correlationId'>,
): Promise<void> {
  const { dataset } = deps;
  if (request.datasetId !== dataset.name)
    throw new AppError(
      'NOT_FOUND',
      `unknown dataset '${request.datasetId}' (this service scores '${dataset.name}')`,
    );
  if (request.samples.length === 0) invalidMessage('samples', 'is empty: give at least one sample');
  const decode = (
    message: ScoreRequest['truth'],
    path: string,
  ): { field: Field; validTime: Date | undefined } => {
    const got = fieldFromProto(message, path);
    assertFieldLayout(got.field, dataset, path);
    return got;
  };
  const samples = request.samples.map((m, n) => decode(m, `samples[${n}]`));
  const validTime = samples[0]?.validTime;
  samples.forEach((s, n) => {
    if (s.validTime?.getTime() !== validTime?.getTime())
      invalidMessage(`samples[${n}].valid_time`, 'differs from samples[0].valid_time');
  });
  const truth = request.truth === undefined ? undefined : decode(request.truth, 'truth').field;
  const background =
    request.background === undefined ? undefined : decode(request.background, 'background').field;
  const obs = request.observations === undefined ? undefined : resolveObs(request.observations, dataset);
  const rewards = rewardsOf(request.rewards);
  let forecastSteps = DEFAULT_FORECAST_STEPS;
  if (rewards.includes('forecast')) {
    if (truth === undefined)
      throw new InvalidMessageError([{ path: 'truth', message: 'is required for REWARD_KIND_FORECAST' }]);
    if (deps.forecast === undefined)
      throw new AppError(
        'FAILED_PRECONDITION',
        'R_forecast needs the forecast service, and none is configured (--forecast-address)',
      );
    forecastSteps = request.forecastSteps ?? DEFAULT_FORECAST_STEPS;
    if (!(Number.isInteger(forecastSteps) && forecastSteps >= 1))
      invalidMessage('forecast_steps', `${forecastSteps} is not an integer >= 1`);
  }
  const scored = await scoreCondition(
    samples.map((s) => s.field),
    truth,
    { forecast: deps.forecast },
    {
      dataset,
      rewards,
      scales: 'condition',
      forecastSteps,
      validTime,
      observations: obs,
      background: background?.data,
      call: { signal: ctx.signal, correlationId: ctx.correlationId },
      onProgress: (stage, fraction, message) =>
        ctx.send({ event: { $case: 'progress', value: { fraction, stage, message } } }),
    },
  );
  await ctx.send({
    event: {
      $case: 'result',
      value: {
        samples: scored.samples.map(({ oMinusA, ...s }, n) => ({
          index: n,
          ...s,
          wrmseNormalised: [...s.wrmseNormalised],
          oMinusA: oMinusA === undefined ? undefined : diagnostics(oMinusA, dataset),
        })),
        oMinusB: scored.oMinusB === undefined ? undefined : diagnostics(scored.oMinusB, dataset),
        ...(scored.truthGeostrophicDeviation === undefined
          ? {}
          : { truthGeostrophicDeviation: scored.truthGeostrophicDeviation }),
      },
    },
  });
}

/** The RewardService implementation. */
export function rewardHandlers(deps: RewardHandlerDeps, log: CallLogger): RewardServiceServer {
  return {
    score: serverStreamHandler(log, (request: ScoreRequest, ctx: StreamContext<ScoreResponse>) =>
      score(deps, request, ctx),
    ),
  };
}

/**
 * The RewardService rpc (proto/alignda/v1/reward.proto): decode the samples, truth, background and observations,
 * get the 48 h forecasts R_forecast needs from the forecast service, call the domain's `scoreSamples` and
 * `departures`, stream Progress and one ScoreResult.
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
import type { Field } from '@alignda/tensor';

import { departures } from './domain/departures.js';
import type { Departures, ResolvedObs } from './domain/departures.js';
import type { ForecastPort } from './domain/ports.js';
import { scoreSamples } from './domain/score.js';

/** 6-hour steps of R_forecast's forecasts when the request sets none: 48 h, as the preference sets. */
export const DEFAULT_FORECAST_STEPS = 8;

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
export function resolveObs(batch: ObsBatch, dataset: RewardDataset): ResolvedObs {
  assertObsBatchMessage(batch, { datasetChannels: dataset.channels }, 'observations');
  const toDataset = batch.channels.map((name) => dataset.channels.indexOf(name));
  const loc = batch.locations;
  return {
    channel: Int32Array.from(batch.channelIndex, (c) => toDataset[c] ?? -1),
    location:
      loc?.$case === 'points'
        ? {
            kind: 'points',
            latDeg: Float64Array.from(loc.value.latDeg),
            lonDeg: Float64Array.from(loc.value.lonDeg),
          }
        : {
            kind: 'cells',
            row: Int32Array.from(loc?.value.row ?? []),
            col: Int32Array.from(loc?.value.col ?? []),
          },
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
  const N = samples.length;
  const [C, H, W] = samples[0]?.field.shape ?? [0, 0, 0];
  const size = C * H * W;
  const stacked = new Float32Array(N * size); // [N, C, H, W]
  samples.forEach((s, n) => stacked.set(s.field.data, n * size));

  let forecasts: { samples: Float32Array; verification: Float32Array } | undefined;
  if (rewards.includes('forecast')) {
    if (truth === undefined)
      throw new InvalidMessageError([{ path: 'truth', message: 'is required for REWARD_KIND_FORECAST' }]);
    if (deps.forecast === undefined)
      throw new AppError(
        'FAILED_PRECONDITION',
        'R_forecast needs the forecast service, and none is configured (--forecast-address)',
      );
    const steps = request.forecastSteps ?? DEFAULT_FORECAST_STEPS;
    if (!(Number.isInteger(steps) && steps >= 1))
      invalidMessage('forecast_steps', `${steps} is not an integer >= 1`);
    const call = { signal: ctx.signal, correlationId: ctx.correlationId };
    const progress = (stage: string, fraction: number, message: string): Promise<void> =>
      ctx.send({ event: { $case: 'progress', value: { fraction, stage, message } } });
    await progress('truth-forecast', 0, '');
    const verification = await deps.forecast(truth, validTime, steps, call);
    const out = new Float32Array(N * size);
    for (const [n, s] of samples.entries()) {
      await progress('forecast', n / (N + 1), `sample ${n + 1}/${N}`);
      out.set(await deps.forecast(s.field, validTime, steps, call), n * size);
    }
    forecasts = { samples: out, verification };
  }
  await ctx.send({
    event: { $case: 'progress', value: { fraction: N / (N + 1), stage: 'score', message: '' } },
  });
  const scored = scoreSamples(
    {
      samples: { data: stacked, shape: [N, C, H, W] },
      ...(truth === undefined ? {} : { truth: truth.data }),
      rewards,
      ...(forecasts === undefined ? {} : { forecasts }),
    },
    { ...dataset },
  );
  await ctx.send({
    event: {
      $case: 'result',
      value: {
        samples: scored.samples.map((s, n) => ({
          index: n,
          ...s,
          wrmseNormalised: [...s.wrmseNormalised],
          oMinusA:
            obs === undefined
              ? undefined
              : diagnostics(
                  departures(
                    obs,
                    stacked.subarray(n * size, (n + 1) * size),
                    dataset.grid,
                    dataset.validMask,
                  ),
                  dataset,
                ),
        })),
        oMinusB:
          obs === undefined || background === undefined
            ? undefined
            : diagnostics(departures(obs, background.data, dataset.grid, dataset.validMask), dataset),
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

/**
 * The ForecastService rpc (proto/alignda/v1/forecast.proto): decode the initial state, roll it forward with
 * packages/pipelines' `forecastState` (the emulator of the model set, as backgrounds and forecast rewards run it in
 * process), stream Progress and the states asked for, in lead-time order.
 *
 * A rollout runs in segments of `emit_every` steps (the whole rollout when 0), each one `forecastState` call of an
 * emulator graph of that many steps, chained on normalised states: Rollout(steps = 8, emit_every = 0) is bit for bit
 * the 48 h forecast `forecastState` makes in process.
 */
import { AppError } from '@alignda/errors';
import type { LatentModels, LatentSessions } from '@alignda/nn';
import { forecastState } from '@alignda/pipelines';
import {
  assertFieldLayout,
  fieldFromProto,
  fieldToProto,
  invalidMessage,
  resolveModelVersion,
  serverStreamHandler,
} from '@alignda/rpc';
import type {
  CallLogger,
  FieldLayout,
  ForecastServiceServer,
  RolloutRequest,
  RolloutResponse,
  StreamContext,
} from '@alignda/rpc';
import { denormalise, normalise } from '@alignda/tensor';

/** Hours one emulator step advances the state by. */
export const STEP_HOURS = 6;
/** Most steps one rollout may take: a year of 6-hourly steps. */
export const MAX_ROLLOUT_STEPS = 1460;

/** What the handler works with. */
export interface ForecastHandlerDeps {
  readonly models: LatentModels;
  /** Channels, units and grid of the fields the emulator was trained on. */
  readonly layout: FieldLayout;
  readonly modelVersion: string;
  /** One-member sessions whose emulator graph rolls `steps` steps, created once per length. */
  sessions(steps: number): Promise<LatentSessions>;
}

/** The UTC hour of day (fractional) of a time, as a dataset's `hourOf` gives it to an emulator with solar forcing. */
export function utcHour(t: Date): number {
  return t.getUTCHours() + t.getUTCMinutes() / 60;
}

/** Rollout: Progress after each segment and the state after every `emit_every` steps (always the last one). */
export async function rollout(
  deps: ForecastHandlerDeps,
  request: RolloutRequest,
  ctx: Pick<StreamContext<RolloutResponse>, 'send' | 'signal'>,
): Promise<void> {
  const modelVersion = resolveModelVersion(request.modelVersion, deps.modelVersion, 'forecast model');
  const { field, validTime } = fieldFromProto(request.initial, 'initial');
  assertFieldLayout(field, deps.layout, 'initial');
  const steps = request.steps;
  if (!(steps >= 1 && steps <= MAX_ROLLOUT_STEPS))
    invalidMessage('steps', `${steps} is not in [1, ${MAX_ROLLOUT_STEPS}]`);
  if (request.emitEvery > steps)
    invalidMessage('emit_every', `${request.emitEvery} is more than steps = ${steps}`);
  const segment = request.emitEvery === 0 ? steps : request.emitEvery;
  const norm = deps.models.vae.norm;
  const shape = field.shape;
  const t0 = validTime?.getTime();
  let x = normalise({ data: field.data, shape }, norm).data;
  for (let done = 0; done < steps;) {
    if (ctx.signal.aborted)
      throw new AppError('CANCELLED', `rollout cancelled after ${done} of ${steps} steps`);
    const k = Math.min(segment, steps - done);
    const sessions = await deps.sessions(k);
    if (sessions.forecastTakesHour && t0 === undefined)
      invalidMessage(
        'initial.valid_time',
        'is required: the emulator has solar forcing and needs the start time',
      );
    const hour = t0 === undefined ? undefined : utcHour(new Date(t0 + done * STEP_HOURS * 3_600_000));
    x = await forecastState(sessions, x, hour);
    done += k;
    await ctx.send({
      event: {
        $case: 'progress',
        value: { fraction: done / steps, stage: 'rollout', message: `step ${done}/${steps}` },
      },
    });
    const state = { ...field, data: denormalise({ data: x, shape }, norm).data };
    const at = t0 === undefined ? undefined : new Date(t0 + done * STEP_HOURS * 3_600_000);
    await ctx.send({
      event: {
        $case: 'state',
        value: { step: done, leadHours: done * STEP_HOURS, field: fieldToProto(state, at), modelVersion },
      },
    });
  }
}

/** The ForecastService implementation. */
export function forecastHandlers(deps: ForecastHandlerDeps, log: CallLogger): ForecastServiceServer {
  return {
    rollout: serverStreamHandler(log, (request: RolloutRequest, ctx: StreamContext<RolloutResponse>) =>
      rollout(deps, request, ctx),
    ),
  };
}

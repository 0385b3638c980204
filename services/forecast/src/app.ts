/**
 * The forecast service: ForecastService.Rollout with the emulator of one trained model set held in memory.
 * `buildApp` loads the sessions of the usual 48 h rollout and never listens; `main.ts` (or a test) calls `listen`.
 */
import type { ExecutionProvider } from '@alignda/config';
import { AppError } from '@alignda/errors';
import type { Logger } from '@alignda/log';
import { createLatentSessions } from '@alignda/nn';
import type { LatentModels, LatentSessions } from '@alignda/nn';
import { LEAD_STEPS } from '@alignda/pipelines';
import { ForecastServiceService, bindService, formatShape, startGrpcService } from '@alignda/rpc';
import type { FieldLayout, GrpcService, ServiceBinding, StartGrpcServiceOptions } from '@alignda/rpc';

import { forecastHandlers } from './handlers.js';

/** The forecast service's default port. */
export const FORECAST_PORT = 50053;

/** What the service is built from. */
export interface ForecastDeps {
  /** The model set (its emulator rolls the states forward). */
  readonly models: LatentModels;
  /** Channels, units and grid of the fields the models were trained on. */
  readonly layout: FieldLayout;
  /** The version id requests may name (empty = this one). */
  readonly modelVersion: string;
  readonly log: Logger;
  /** Where inference runs. @defaultValue 'auto' (CUDA when available, else CPU) */
  readonly executionProvider?: ExecutionProvider;
  /** Threads per inference session. @defaultValue 1 */
  readonly intraOpThreads?: number;
}

/** A built service, not yet listening. */
export interface ForecastApp {
  readonly services: readonly ServiceBinding[];
  /** The execution provider the sessions run on. */
  readonly executionProvider: string;
  /** Binds the server and reports SERVING (the models are loaded by then). */
  listen(options?: StartGrpcServiceOptions): Promise<GrpcService>;
}

/**
 * Builds the forecast service: checks the models against the layout and loads the 48 h rollout's sessions.
 * @throws AppError CONFIG_INVALID when the models' field shape is not the layout's
 */
export async function buildApp(deps: ForecastDeps): Promise<ForecastApp> {
  const v = deps.models.emulator.config;
  const want = [deps.layout.channels.length, deps.layout.grid.latDeg.length, deps.layout.grid.lonDeg.length];
  if ([v.channels, v.height, v.width].join() !== want.join())
    throw new AppError(
      'CONFIG_INVALID',
      `the emulator takes fields ${formatShape([v.channels, v.height, v.width])} but the source's are ${formatShape(want)}`,
    );
  const runtime = {
    executionProvider: deps.executionProvider ?? 'auto',
    intraOpNumThreads: deps.intraOpThreads ?? 1,
  };
  // One emulator graph per rollout length (the graphs have static shapes), built on first use.
  const cache = new Map<number, Promise<LatentSessions>>();
  const sessions = (steps: number): Promise<LatentSessions> => {
    let s = cache.get(steps);
    if (s === undefined) {
      s = createLatentSessions(deps.models, 1, { leadSteps: steps, runtime });
      cache.set(steps, s);
      s.catch(() => cache.delete(steps));
    }
    return s;
  };
  const usual = await sessions(LEAD_STEPS);
  const services = [bindService(ForecastServiceService, forecastHandlers({ ...deps, sessions }, deps.log))];
  return {
    services,
    executionProvider: usual.forecast.executionProvider,
    listen: async (options) => {
      const service = await startGrpcService(services, options);
      service.setServing();
      return service;
    },
  };
}

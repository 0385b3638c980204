/**
 * The reward service: RewardService.Score for one dataset, with the forecast service for R_forecast when one is
 * configured. `buildApp` never listens; `main.ts` (or a test) calls `listen`.
 */
import type { Logger } from '@alignda/log';
import type { ForecastPort } from '@alignda/pipelines';
import { RewardServiceService, bindService, startGrpcService } from '@alignda/rpc';
import type { GrpcService, ServiceBinding, StartGrpcServiceOptions } from '@alignda/rpc';

import { rewardHandlers } from './handlers.js';
import type { RewardDataset } from './handlers.js';

/** The reward service's default port. */
export const REWARD_PORT = 50054;

/** What the service is built from. */
export interface RewardDeps {
  readonly dataset: RewardDataset;
  /** The forecast model for R_forecast. @defaultValue none: R_forecast is FAILED_PRECONDITION */
  readonly forecast?: ForecastPort;
  readonly log: Logger;
}

/** A built service, not yet listening. */
export interface RewardApp {
  readonly services: readonly ServiceBinding[];
  /** Binds the server and reports SERVING. */
  listen(options?: StartGrpcServiceOptions): Promise<GrpcService>;
}

/** Builds the reward service. */
export function buildApp(deps: RewardDeps): RewardApp {
  const handlerDeps = {
    dataset: deps.dataset,
    ...(deps.forecast === undefined ? {} : { forecast: deps.forecast }),
  };
  const services = [bindService(RewardServiceService, rewardHandlers(handlerDeps, deps.log))];
  return {
    services,
    listen: async (options) => {
      const service = await startGrpcService(services, options);
      service.setServing();
      return service;
    },
  };
}

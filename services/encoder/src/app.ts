/**
 * The encoder service: EncoderService (Encode / Decode / DescribeModel) over one trained autoencoder held in
 * memory. `buildApp` loads its sessions and never listens; `main.ts` (or a test) calls `listen`.
 */
import type { ExecutionProvider } from '@alignda/config';
import { AppError } from '@alignda/errors';
import type { Logger } from '@alignda/log';
import { createLatentSessions } from '@alignda/nn';
import type { LatentModels } from '@alignda/nn';
import { EncoderServiceService, bindService, formatShape, startGrpcService } from '@alignda/rpc';
import type { FieldLayout, GrpcService, ServiceBinding, StartGrpcServiceOptions } from '@alignda/rpc';

import { encoderHandlers, modelShapes } from './handlers.js';

/** The encoder service's default port. */
export const ENCODER_PORT = 50051;

/** What the service is built from. */
export interface EncoderDeps {
  /** The model set (its VAE encodes and decodes). */
  readonly models: LatentModels;
  /** Channels, units and grid of the fields the models were trained on. */
  readonly layout: FieldLayout;
  /** The version id requests may name (empty = this one). */
  readonly modelVersion: string;
  /** SHA-256 (hex) of the autoencoder's weights, returned with every Encode (what score models pin). */
  readonly autoencoderSha256: string;
  readonly log: Logger;
  /** Where inference runs. @defaultValue 'auto' (CUDA when available, else CPU) */
  readonly executionProvider?: ExecutionProvider;
  /** Threads per inference session. @defaultValue 1 */
  readonly intraOpThreads?: number;
}

/** A built service, not yet listening. */
export interface EncoderApp {
  readonly services: readonly ServiceBinding[];
  /** The execution provider the sessions run on. */
  readonly executionProvider: string;
  /** Binds the server and reports SERVING (the models are loaded by then). */
  listen(options?: StartGrpcServiceOptions): Promise<GrpcService>;
}

/**
 * Builds the encoder service: checks that the models fit the layout and loads their sessions.
 * @throws AppError CONFIG_INVALID when the models' field shape is not the layout's
 */
export async function buildApp(deps: EncoderDeps): Promise<EncoderApp> {
  checkLayout(deps.models, deps.layout);
  const sessions = await createLatentSessions(deps.models, 1, {
    runtime: {
      executionProvider: deps.executionProvider ?? 'auto',
      intraOpNumThreads: deps.intraOpThreads ?? 1,
    },
  });
  const handlers = encoderHandlers({ ...deps, sessions }, deps.log);
  const services = [bindService(EncoderServiceService, handlers)];
  return {
    services,
    executionProvider: sessions.encoder.executionProvider,
    listen: async (options) => {
      const service = await startGrpcService(services, options);
      service.setServing();
      return service;
    },
  };
}

/** Refuses, at boot, models whose fields are not the layout's C x H x W. */
export function checkLayout(models: LatentModels, layout: FieldLayout): void {
  const { field } = modelShapes(models);
  const want = [layout.channels.length, layout.grid.latDeg.length, layout.grid.lonDeg.length];
  if (field.join() !== want.join())
    throw new AppError(
      'CONFIG_INVALID',
      `the models take fields ${formatShape(field)} but the source's are ${formatShape(want)} (${layout.channels.join(', ')}): give the source the models were trained on`,
    );
}

/**
 * The sampler service: SamplerService.Sample over one trained model set held in memory (the score network, the
 * decoder and the DPS helper graph, so a call runs every step without network hops), and a worker on the `sample`
 * queue over the same sessions (sample-worker.ts). `buildApp` chooses the
 * execution provider (CUDA when available, else CPU, unless told), loads the sessions of one member and never
 * listens; `main.ts` (or a test) calls `listen`.
 */
import { hostname } from 'node:os';

import type { ExecutionProvider } from '@alignda/config';
import { AppError } from '@alignda/errors';
import type { Logger } from '@alignda/log';
import { createLatentSessions } from '@alignda/nn';
import type { LatentModels, LatentSessions } from '@alignda/nn';
import { LEAD_STEPS } from '@alignda/pipelines';
import { SamplerServiceService, bindService, formatShape, startGrpcService } from '@alignda/rpc';
import type { GrpcService, ServiceBinding, StartGrpcServiceOptions } from '@alignda/rpc';
import type { DaSource } from '@alignda/world';

import { samplerHandlers } from './handlers.js';
import { buildSampleWorker } from './sample-worker.js';
import type { SampleWorker, SampleWorkerDeps } from './sample-worker.js';

/** The sampler service's default port. */
export const SAMPLER_PORT = 50052;

/** What the service is built from. */
export interface SamplerDeps {
  readonly models: LatentModels;
  /** The source the models were trained on: channels, grid and valid area that observations refer to. */
  readonly source: DaSource;
  /** The version id requests may name (empty = this one). */
  readonly modelVersion: string;
  /** SHA-256 (hex) of the model set's autoencoder (`vae.safetensors`), which the sampler decodes DPS guesses with. */
  readonly autoencoderSha256: string;
  /**
   * The autoencoder the score model was trained on (the model folder's manifest, `autoencoderSha256`), when recorded.
   * @defaultValue the set's own
   */
  readonly pinnedAutoencoderSha256?: string;
  readonly log: Logger;
  /** Where inference runs. @defaultValue 'auto' (CUDA when onnxruntime has it, else CPU) */
  readonly executionProvider?: ExecutionProvider;
  /** Threads per inference session. @defaultValue 1 */
  readonly intraOpThreads?: number;
}

/** A built service, not yet listening. */
export interface SamplerApp {
  readonly services: readonly ServiceBinding[];
  /** The execution provider the sessions run on (`cpu` or `cuda`). */
  readonly executionProvider: string;
  /** Binds the server and reports SERVING (the models are loaded by then). */
  listen(options?: StartGrpcServiceOptions): Promise<GrpcService>;
  /** A worker on the `sample` queue over the same models and sessions (not yet running). */
  sampleWorker(options: Omit<SampleWorkerDeps, 'handler'>): SampleWorker;
}

/**
 * Builds the sampler service: checks the models against the source, loads the one-member sessions (which fixes the
 * execution provider) and logs the provider.
 * @throws AppError CONFIG_INVALID when the models' field shape is not the source's, or the score model is pinned to
 *   another autoencoder than the set's
 */
export async function buildApp(deps: SamplerDeps): Promise<SamplerApp> {
  const pinned = deps.pinnedAutoencoderSha256;
  if (pinned !== undefined && pinned !== deps.autoencoderSha256)
    throw new AppError(
      'CONFIG_INVALID',
      `the score model was trained on autoencoder ${pinned.slice(0, 12)}, but the model set's autoencoder is ${deps.autoencoderSha256.slice(0, 12)}: retrain the score model (alignda train) or restore its autoencoder`,
    );
  const v = deps.models.vae.config;
  if ([v.channels, v.height, v.width].join() !== deps.source.shape.join())
    throw new AppError(
      'CONFIG_INVALID',
      `the models take fields ${formatShape([v.channels, v.height, v.width])} but ${deps.source.name}'s are ${formatShape(deps.source.shape)}`,
    );
  const runtime = {
    executionProvider: deps.executionProvider ?? 'auto',
    intraOpNumThreads: deps.intraOpThreads ?? 1,
  };
  // One set of static-shape graphs per ensemble size, built on first use (packages/graph's runtime keeps the
  // onnxruntime sessions by model bytes for the life of the process; sizes are bounded by MAX_JOB_MEMBERS).
  const cache = new Map<number, Promise<LatentSessions>>();
  const sessions = (members: number): Promise<LatentSessions> => {
    let s = cache.get(members);
    if (s === undefined) {
      s = createLatentSessions(deps.models, members, { leadSteps: LEAD_STEPS, runtime });
      cache.set(members, s);
      s.catch(() => cache.delete(members));
    }
    return s;
  };
  const one = await sessions(1);
  const executionProvider = one.eps.executionProvider;
  deps.log.info({ executionProvider, requested: runtime.executionProvider }, 'execution provider');
  const handler = { ...deps, sessions, executionProvider, replica: `${hostname()}:${process.pid}` };
  const services = [bindService(SamplerServiceService, samplerHandlers(handler, deps.log))];
  return {
    services,
    executionProvider,
    listen: async (options) => {
      const service = await startGrpcService(services, options);
      service.setServing();
      return service;
    },
    sampleWorker: (options) =>
      buildSampleWorker({ ...options, handler: { ...handler, replica: options.name ?? handler.replica } }),
  };
}

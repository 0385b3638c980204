/**
 * The SamplerService rpc (proto/alignda/v1/sampler.proto): decode the request, call packages/pipelines' `assimilate`
 * with `latentPrior(sessions of N members, z_b)` exactly as `runAssimilationJob` does (members as the batch
 * dimension, the request's seed, steps and corrections), stream a Progress per predictor step and end with the
 * members' latents. Cancelling the call aborts the sampler at its next step.
 */
import type { Observations } from '@alignda/da';
import { AppError } from '@alignda/errors';
import type { LatentModels, LatentSessions } from '@alignda/nn';
import { MAX_JOB_MEMBERS, MAX_JOB_STEPS, assimilate, latentPrior } from '@alignda/pipelines';
import type { LatentMode } from '@alignda/pipelines';
import {
  GuidanceMode,
  InvalidMessageError,
  assertFinite,
  float32FromTensor,
  gridFromProto,
  gridIssues,
  invalidMessage,
  resolveModelVersion,
  serverStreamHandler,
  tensorFromFloat32,
} from '@alignda/rpc';
import type {
  CallLogger,
  SampleRequest,
  SampleResponse,
  SamplerServiceServer,
  StreamContext,
} from '@alignda/rpc';
import type { DaSource } from '@alignda/world';

import { samplerObservations } from './observations.js';

/** Predictor steps when the request sets none: packages/da's sampler default, as a job's. */
export const DEFAULT_STEPS = 64;
/** Langevin corrections per step when the request sets none: as a job's. */
export const DEFAULT_CORRECTIONS = 1;
/** The corrector step ratio tau pipelines' `assimilate` samples with (packages/da's default); no other is offered. */
export const CORRECTOR_TAU = 0.25;

/** What the handler works with. */
export interface SamplerHandlerDeps {
  readonly models: LatentModels;
  /** The source of the fields (channels, grid, valid area) that observations refer to. */
  readonly source: DaSource;
  readonly modelVersion: string;
  /**
   * SHA-256 (hex) of the autoencoder the score model is pinned to (whose latents it was trained on): a request whose
   * latents come from another is refused.
   */
  readonly autoencoderSha256: string;
  /** The onnxruntime execution provider the sessions run on (`cpu` or `cuda`), reported with each result. */
  readonly executionProvider: string;
  /** This replica's name (`host:pid`), reported with each result. */
  readonly replica: string;
  /** Frozen sessions for `members` samples per call (the graphs have static shapes), created once per size. */
  sessions(members: number): Promise<LatentSessions>;
}

const MODES: Partial<Record<GuidanceMode, LatentMode>> = {
  [GuidanceMode.OBSFREE]: 'obsfree',
  [GuidanceMode.REPAINT]: 'repaint',
  [GuidanceMode.DPS]: 'dps',
};

/** An integer setting of the request in [min, max], or its default when unset. */
function setting(
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
  path: string,
): number {
  const v = value ?? fallback;
  if (!(Number.isInteger(v) && v >= min && v <= max))
    invalidMessage(path, `${v} is not an integer in [${min}, ${max}]`);
  return v;
}

/** The settings of one Sample call, checked. */
interface SampleCall {
  /** The guidance mode, with the observations it samples with. */
  readonly guidance:
    { readonly method: 'obsfree' } | { readonly method: 'repaint' | 'dps'; readonly obs: Observations };
  readonly zb: Float32Array;
  readonly members: number;
  readonly steps: number;
  readonly corrections: number;
  readonly param: number | undefined;
  readonly modelVersion: string;
}

/** Checks and decodes a SampleRequest. */
export function decodeSampleRequest(deps: SamplerHandlerDeps, request: SampleRequest): SampleCall {
  const modelVersion = resolveModelVersion(request.modelVersion, deps.modelVersion, 'score model');
  const from = request.autoencoderSha256;
  if (from !== '' && from !== deps.autoencoderSha256)
    throw new AppError(
      'FAILED_PRECONDITION',
      `background_latent was encoded by autoencoder ${from.slice(0, 12)}; score model ${modelVersion || '(active)'} is pinned to autoencoder ${deps.autoencoderSha256.slice(0, 12)} (encode with the autoencoder it was trained with)`,
      { details: { autoencoderSha256: from, pinned: deps.autoencoderSha256 } },
    );
  const mode = MODES[request.guidance];
  if (mode === undefined) invalidMessage('guidance', `${request.guidance} is not OBSFREE, REPAINT or DPS`);
  const zShape = deps.models.score.config.latentShape;
  const zb = float32FromTensor(request.backgroundLatent, 'background_latent', zShape).data;
  assertFinite(zb, 'background_latent.data');
  const members = setting(request.members, 0, 1, MAX_JOB_MEMBERS, 'members');
  const steps = setting(request.steps, DEFAULT_STEPS, 1, MAX_JOB_STEPS, 'steps');
  const corrections = setting(request.corrections, DEFAULT_CORRECTIONS, 0, 64, 'corrections');
  if (request.correctorTau !== undefined && request.correctorTau !== CORRECTOR_TAU)
    // A value the sampler does not take is a bad argument (400), not a missing feature (UNIMPLEMENTED is a 501).
    invalidMessage(
      'corrector_tau',
      `${request.correctorTau}: only ${CORRECTOR_TAU} is offered (pipelines' assimilate takes no tau); leave it unset`,
    );
  const strength = request.guidanceStrength;
  if (strength !== undefined && !(strength > 0 && Number.isFinite(strength)))
    invalidMessage('guidance_strength', `${strength} is not finite and > 0`);
  let guidance: SampleCall['guidance'] = { method: 'obsfree' };
  if (mode !== 'obsfree') {
    const grid = gridFromProto(request.grid, 'grid');
    const issues = gridIssues(grid, deps.source.grid, 'grid');
    if (issues.length > 0) throw new InvalidMessageError(issues);
    const obs = samplerObservations(request.observations, mode, deps.source, deps.models.vae.norm);
    guidance = { method: mode, obs };
  }
  return {
    guidance,
    zb,
    members,
    steps,
    corrections,
    param: mode === 'dps' ? strength : undefined,
    modelVersion,
  };
}

/** Sample: Progress per predictor step, then the members' latents [N, Cz, Hz, Wz]. */
export async function sample(
  deps: SamplerHandlerDeps,
  request: SampleRequest,
  ctx: Pick<StreamContext<SampleResponse>, 'send' | 'signal'>,
): Promise<void> {
  const call = decodeSampleRequest(deps, request);
  const zShape = deps.models.score.config.latentShape;
  const sessions = await deps.sessions(call.members);
  let done = 0;
  const total = call.steps;
  try {
    const analysis = await assimilate({
      ...call.guidance,
      prior: latentPrior(sessions, call.zb, zShape),
      members: call.members,
      seed: request.seed,
      steps: call.steps,
      corrections: call.corrections,
      ...(call.param === undefined ? {} : { param: call.param }),
      onProgress: (fraction) => {
        done = Math.round(fraction * total);
        // Progress messages are small: no need to wait for buffer room between steps.
        void ctx.send({
          event: {
            $case: 'progress',
            value: { fraction, stage: 'sample', message: `step ${done}/${total}` },
          },
        });
      },
      signal: ctx.signal,
    });
    const latents = analysis.latents;
    if (latents === undefined) throw new AppError('INTERNAL', 'sample: the analysis has no latents');
    await ctx.send({
      event: {
        $case: 'result',
        value: {
          analysisLatents: tensorFromFloat32(latents, [call.members, ...zShape], 'analysis_latents'),
          modelVersion: call.modelVersion,
          steps: call.steps,
          corrections: call.corrections,
          executionProvider: deps.executionProvider,
          sampler: deps.replica,
        },
      },
    });
  } catch (err) {
    if (ctx.signal.aborted)
      throw new AppError('CANCELLED', `sampling cancelled after ${done} of ${total} steps`, { cause: err });
    throw err;
  }
}

/** The SamplerService implementation. */
export function samplerHandlers(deps: SamplerHandlerDeps, log: CallLogger): SamplerServiceServer {
  return {
    sample: serverStreamHandler(log, (request: SampleRequest, ctx: StreamContext<SampleResponse>) =>
      sample(deps, request, ctx),
    ),
  };
}

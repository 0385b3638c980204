/**
 * The assimilate use case: one analysis of one case by any method, from a background, observations and a prior or
 * a fitted B. Latent methods (ObsFree, Repaint, DPS: METHOD.md sections 3-4) sample members from a prior given as
 * packages/da's ports, so the same call runs a trained latent model set (see {@link latentPrior}) or the analytic
 * Gaussian prior of the tests; 3D-Var solves with a fitted B^(1/2); `exact-gaussian` is the closed-form posterior
 * mean of a Gaussian prior (the reference every sampler is checked against).
 */
import { dps, obsFree, repaint, sample, solve3DVar } from '@alignda/da';
import type {
  BSqrt,
  CgOptions,
  DecodedTweedieVjp,
  Decoder,
  DenoiseAndDecode,
  Denoiser,
  Encoder,
  GaussianPrior,
  Guidance,
  Observations,
} from '@alignda/da';
import { AppError } from '@alignda/errors';

/** The latent guidance modes. */
export const LATENT_MODES = ['obsfree', 'repaint', 'dps'] as const;
export type LatentMode = (typeof LATENT_MODES)[number];

/** Every method {@link assimilate} runs. */
export const ASSIMILATION_METHODS = [...LATENT_MODES, '3dvar', 'exact-gaussian'] as const;
export type AssimilationMethod = (typeof ASSIMILATION_METHODS)[number];

/**
 * A prior over latents as packages/da's ports, bound to one background (a background-conditioned denoiser carries
 * the background latent itself). The ports take exactly `members` samples per call when `fixedBatch` is set (frozen
 * graphs with static shapes), any batch otherwise.
 */
export interface LatentPrior {
  /** Latent shape of one member, e.g. [C, h, w]. */
  readonly zShape: readonly number[];
  readonly denoiser: Denoiser;
  /** Latent -> state (the identity for a prior over states). */
  readonly decoder: Decoder;
  /** State -> latent; Repaint needs it. */
  readonly encoder?: Encoder;
  /** z_t -> (d D(z0_hat) / d z_t)^T cotangent; DPS needs it. */
  readonly vjp?: DecodedTweedieVjp;
  /**
   * z_t -> eps, D(z0_hat) and their VJP from one network forward (the engine's split DPS graphs): DPS uses it when
   * present, one forward per guided step instead of two. @defaultValue absent (DPS calls the decoder and `vjp`)
   */
  readonly denoiseAndDecode?: DenoiseAndDecode;
  /** The batch size the ports take, when they take only one. @defaultValue any */
  readonly fixedBatch?: number;
}

/** Sampler settings of a latent analysis. */
export interface LatentAnalysisSettings {
  /** Members sampled; the analysis is their mean. @defaultValue 1 */
  readonly members?: number;
  /** Predictor steps. @defaultValue 64 (packages/da's sampler default) */
  readonly steps?: number;
  /** Langevin corrections per step. @defaultValue 1 */
  readonly corrections?: number;
  /** Seed of the sampler's noise (member m: memberSeed(seed, m) inside the sampler). */
  readonly seed: number;
  /**
   * DPS step scale zeta' or Repaint blend weight. @defaultValue the guidance's own (packages/da: DPS 0.2,
   * Repaint 1)
   */
  readonly param?: number;
  readonly onProgress?: (fraction: number) => void;
  readonly signal?: AbortSignal;
}

/** One analysis request. */
export type AssimilateRequest =
  | ({
      readonly method: 'repaint' | 'dps';
      readonly prior: LatentPrior;
      readonly obs: Observations;
    } & LatentAnalysisSettings)
  | ({
      /** Samples of the prior alone (the observations, when given, are not used). */
      readonly method: 'obsfree';
      readonly prior: LatentPrior;
      readonly obs?: Observations;
    } & LatentAnalysisSettings)
  | {
      readonly method: '3dvar';
      /** x_b, [C, H, W] flattened, in the units B and the observations are in. */
      readonly background: Float32Array | Float64Array;
      readonly obs: Observations;
      readonly bSqrt: BSqrt;
      readonly cg?: CgOptions;
    }
  | { readonly method: 'exact-gaussian'; readonly prior: GaussianPrior; readonly obs: Observations };

/** One analysis. */
export interface Analysis {
  /** The analysis (the ensemble mean for latent methods), state-sized. */
  readonly mean: Float32Array;
  /** RMS member std about the mean (latent methods with more than one member). */
  readonly spread?: number;
  /** The decoded members, [members, ...state] (latent methods). */
  readonly members?: Float32Array;
  /** The members' (standardised) latents, [members, ...zShape] (latent methods). */
  readonly latents?: Float32Array;
  /** Conjugate-gradient iterations (3D-Var). */
  readonly iterations?: number;
}

/**
 * One analysis of one case.
 * @throws AppError `INVALID_ARGUMENT` for a method without the port it needs, or a member count the prior's
 *   fixed-batch ports cannot take
 */
export async function assimilate(request: AssimilateRequest): Promise<Analysis> {
  switch (request.method) {
    case '3dvar': {
      const res = solve3DVar({
        background: request.background,
        obs: request.obs,
        bSqrt: request.bSqrt,
        ...(request.cg === undefined ? {} : { cg: request.cg }),
      });
      return { mean: Float32Array.from(res.analysis), iterations: res.iterations };
    }
    case 'exact-gaussian':
      return { mean: Float32Array.from(request.prior.posterior(request.obs).mean) };
    case 'obsfree':
    case 'repaint':
    case 'dps':
      return latentAnalysis(request.method, request.prior, request.obs, request);
  }
}

function guidanceOf(
  mode: LatentMode,
  prior: LatentPrior,
  obs: Observations | undefined,
  param: number | undefined,
): Guidance {
  if (mode === 'obsfree') return obsFree();
  if (obs === undefined) throw new AppError('INVALID_ARGUMENT', `assimilate: ${mode} needs observations`);
  if (mode === 'repaint') {
    if (prior.encoder === undefined)
      throw new AppError('INVALID_ARGUMENT', 'assimilate: Repaint needs a prior with an encoder');
    return repaint({
      obs,
      encoder: prior.encoder,
      decoder: prior.decoder,
      ...(param === undefined ? {} : { blend: param }),
    });
  }
  if (prior.vjp === undefined)
    throw new AppError('INVALID_ARGUMENT', 'assimilate: DPS needs a prior with a vector-Jacobian product');
  return dps({
    obs,
    decoder: prior.decoder,
    vjp: prior.vjp,
    ...(prior.denoiseAndDecode === undefined ? {} : { denoiseAndDecode: prior.denoiseAndDecode }),
    ...(param === undefined ? {} : { zeta: param }),
  });
}

async function latentAnalysis(
  mode: LatentMode,
  prior: LatentPrior,
  obs: Observations | undefined,
  set: LatentAnalysisSettings,
): Promise<Analysis> {
  const members = set.members ?? 1;
  if (prior.fixedBatch !== undefined && prior.fixedBatch !== members)
    throw new AppError(
      'INVALID_ARGUMENT',
      `assimilate: ${members} member(s) asked of a prior whose sessions take exactly ${prior.fixedBatch}`,
    );
  const z = await sample(prior.denoiser, guidanceOf(mode, prior, obs, set.param), {
    zShape: prior.zShape,
    members,
    batchSize: members,
    seed: set.seed,
    ...(set.steps === undefined ? {} : { steps: set.steps }),
    ...(set.corrections === undefined ? {} : { corrections: set.corrections }),
    ...(set.onProgress === undefined ? {} : { onProgress: set.onProgress }),
    ...(set.signal === undefined ? {} : { signal: set.signal }),
  });
  const xs = Float32Array.from(await prior.decoder(z.data, [members, ...prior.zShape])); // [members, C, H, W]
  const size = xs.length / members;
  const mean = new Float32Array(size);
  for (let m = 0; m < members; m++)
    for (let j = 0; j < size; j++) mean[j] = (mean[j] as number) + (xs[m * size + j] as number) / members;
  if (members === 1) return { mean, members: xs, latents: z.data };
  let v = 0;
  for (let m = 0; m < members; m++)
    for (let j = 0; j < size; j++) v += ((xs[m * size + j] as number) - (mean[j] as number)) ** 2;
  return { mean, spread: Math.sqrt(v / ((members - 1) * size)), members: xs, latents: z.data };
}

/**
 * Background-conditioned latent score network eps_theta(z_t, t, z_b) (METHOD.md section 2, item 2): a small
 * two-level U-Net over the latent grid with a sinusoidal time embedding in every residual block, self-attention
 * and a cross-attention block from z_t tokens to z_b tokens at the coarse level. Trained by denoising score
 * matching with z_t, t and eps fed as inputs (the schedule lives in the caller, packages/da).
 */
import { SCHEDULE_ETA } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { ELEMENTWISE_OPS, GraphBuilder, gradName, vjp, vjpSplit } from '@alignda/graph';
import type { Graph, SplitVjp, Value } from '@alignda/graph';
import {
  attentionBlock,
  conv2d,
  downsample,
  groupNorm,
  mse,
  resBlock,
  silu,
  timeEmbedding,
  toTokens,
  upsample,
} from './layers.js';
import type { Ctx } from './layers.js';
import { trainingGraph } from './model.js';
import type { TrainingGraph } from './model.js';
import { unstandardiseLatent, vaeDecoder, vaeLatentShape } from './vae.js';
import type { LatentNorm, VaeConfig } from './vae.js';

/** Configuration of the score network graphs. */
export interface ScoreConfig {
  /** Latent shape `[Cz, h, w]`, h and w even. @defaultValue [8, 8, 16] — the VAE's latent of a 7 x 32 x 64 field */
  readonly latentShape: readonly [number, number, number];
  /** Widths at latent and half-latent resolution. @defaultValue [64, 128] — ~1.3 M parameters; the latent grid has only 128 cells, so width is cheap */
  readonly widths: readonly [number, number];
  /** Time embedding width. @defaultValue 128 — twice the first width (Ho et al. use 4x; halved with the small net) */
  readonly timeDim: number;
  /** Attention heads (divide widths[1]). @defaultValue 4 — 32-wide heads, the DiT/ADM head width */
  readonly heads: number;
  /** GroupNorm groups. @defaultValue 8 — Wu & He */
  readonly groups: number;
  /**
   * Also feed z_b as extra input channels of the first conv. @defaultValue true — background and state are
   * co-located, so the local path learns "stay near z_b" at once and cross-attention adds the non-local part
   */
  readonly concatBackground: boolean;
  /**
   * Precondition the output (Karras et al. 2022, Table 1, applied to the VP schedule): eps_theta =
   * sigma(t) / (mu^2 + sigma^2) z_t + mu(t) / sqrt(mu^2 + sigma^2) F(z_t, t, z_b). The first term is the optimal
   * linear noise estimate for unit-variance latents, exact as t -> 1 where mu -> eta; without it the network must
   * learn eps ~ z_t there itself, and the sampler's first steps (which multiply z by mu(s)/mu(t) up to 3x)
   * amplify any shortfall until the samples diverge. @defaultValue true — measured on the qg ci models: without it
   * ObsFree samples ended with latent RMS ~190 instead of ~1
   */
  readonly preconditioned: boolean;
  /** Batch size the graphs are built for. @defaultValue 16 — the engine benchmark's batch */
  readonly batch: number;
  /** Seed of the initial parameters. @defaultValue 0 — any fixed value; runs are reproducible from it */
  readonly seed: number;
}

/** Defaults (see each field's reason). */
export const SCORE_DEFAULTS: ScoreConfig = Object.freeze({
  latentShape: [8, 8, 16] as const,
  widths: [64, 128] as const,
  timeDim: 128,
  heads: 4,
  groups: 8,
  concatBackground: true,
  preconditioned: true,
  batch: 16,
  seed: 0,
});

/**
 * Presets: `ci` — widths cut to 8/16 and batch 4 so a training step takes well under a second on one core
 * (tests, `--preset ci`); `small` — the defaults; `full` — twice the widths (~4x the FLOPs), meant for a GPU worker.
 */
export const SCORE_PRESETS = Object.freeze({
  ci: Object.freeze({
    ...SCORE_DEFAULTS,
    widths: [8, 16] as const,
    timeDim: 16,
    heads: 2,
    groups: 4,
    batch: 4,
  }),
  small: SCORE_DEFAULTS,
  full: Object.freeze({ ...SCORE_DEFAULTS, widths: [128, 256] as const, timeDim: 256, heads: 8 }),
}) satisfies Readonly<Record<string, ScoreConfig>>;

/**
 * eps_theta(z_t, t, z_b). Parameters `score.*`.
 * @param zt - `[N, Cz, h, w]`; @param t - `[N]` diffusion time in [0, 1]; @param zb - `[N, Cz, h, w]`
 * @returns predicted noise `[N, Cz, h, w]`
 */
export function scoreNet(c: Ctx, cfg: ScoreConfig, zt: Value, t: Value, zb: Value): Value {
  const { b } = c;
  const [c0, c1] = cfg.widths;
  const g = cfg.groups;
  const temb = timeEmbedding(c, 'score.time', t, cfg.timeDim); // [N, E]
  // Context: z_b encoded to the coarse level, as tokens for cross-attention.
  let cb = conv2d(c, 'score.ctx.in', zb, c0); // [N, c0, h, w]
  cb = resBlock(c, 'score.ctx.res', cb, c0, g);
  cb = downsample(c, 'score.ctx.down', cb, c1); // [N, c1, h/2, w/2]
  const ctx = toTokens(c, groupNorm(c, 'score.ctx.norm', cb, g)); // [N, hw/4, c1]
  // Trunk.
  const input = cfg.concatBackground ? b.concat([zt, zb], 1) : zt; // [N, 2Cz | Cz, h, w]
  const h0 = resBlock(c, 'score.l0.res', conv2d(c, 'score.in', input, c0), c0, g, temb); // [N, c0, h, w]
  let h1 = downsample(c, 'score.down', h0, c1); // [N, c1, h/2, w/2]
  h1 = resBlock(c, 'score.l1.res0', h1, c1, g, temb);
  h1 = attentionBlock(c, 'score.l1.self', h1, cfg.heads, g);
  h1 = attentionBlock(c, 'score.l1.cross', h1, cfg.heads, g, ctx);
  h1 = resBlock(c, 'score.l1.res1', h1, c1, g, temb);
  const u = b.concat([upsample(c, 'score.up', h1, c0), h0], 1); // [N, 2c0, h, w]
  const h = resBlock(c, 'score.l0.resup', u, c0, g, temb); // [N, c0, h, w]
  // Zero-initialised head: the untrained network predicts eps = 0 (loss 1 on unit noise), as in ADM, or with
  // preconditioning the optimal linear estimate sigma z_t / (mu^2 + sigma^2).
  const out = conv2d(c, 'score.out', silu(c, groupNorm(c, 'score.norm', h, g)), cfg.latentShape[0], {
    init: { kind: 'zeros' },
  });
  return cfg.preconditioned ? precondition(b, zt, t, out) : out;
}

/** sigma(t) z_t / (mu^2 + sigma^2) + mu(t) / sqrt(mu^2 + sigma^2) F, with packages/da's cosine VP schedule in the graph. */
function precondition(b: GraphBuilder, zt: Value, t: Value, f: Value): Value {
  const n = zt.shape[0] as number;
  const tt = b.reshape(t, [n, 1, 1, 1]); // [N, 1, 1, 1]
  const cs = b.cos(b.mul(tt, Math.acos(Math.sqrt(SCHEDULE_ETA))));
  const a = b.mul(cs, cs); // alpha(t) = mu(t)
  const s2 = b.add(b.sub(1, b.mul(a, a)), SCHEDULE_ETA * SCHEDULE_ETA); // sigma(t)^2
  const total = 1 + SCHEDULE_ETA * SCHEDULE_ETA; // mu^2 + sigma^2, the same at every t
  const skip = b.mul(b.sqrt(s2), 1 / total);
  const cOut = b.mul(a, 1 / Math.sqrt(total));
  return b.add(b.mul(zt, skip), b.mul(f, cOut));
}

function check(cfg: ScoreConfig): void {
  const [, h, w] = cfg.latentShape;
  if (h % 2 !== 0 || w % 2 !== 0)
    throw new AppError('INVALID_ARGUMENT', `score: latent grid ${h} x ${w} must be even in both axes`);
  if (cfg.widths[1] % cfg.heads !== 0)
    throw new AppError(
      'INVALID_ARGUMENT',
      `score: width ${cfg.widths[1]} not divisible by ${cfg.heads} heads`,
    );
}

interface ScoreInputs {
  readonly zt: Value;
  readonly t: Value;
  readonly zb: Value;
}

function scoreInputs(b: GraphBuilder, cfg: ScoreConfig): ScoreInputs {
  const shape = [cfg.batch, ...cfg.latentShape];
  return {
    zt: b.input('z_t', 'float32', shape),
    t: b.input('t', 'float32', [cfg.batch]),
    zb: b.input('z_b', 'float32', shape),
  };
}

/**
 * Denoising score matching forward: inputs `z_t`, `t` `[N]`, `z_b`, `eps` (the noise with which the caller made
 * z_t = mu(t) z + sigma(t) eps); outputs `loss` = mean((eps_theta - eps)^2) and `eps_hat`.
 */
export function buildScoreForward(cfg: ScoreConfig): Graph {
  check(cfg);
  const b = new GraphBuilder({ name: 'score_train', seed: cfg.seed });
  const c: Ctx = { b, seed: cfg.seed };
  const { zt, t, zb } = scoreInputs(b, cfg);
  const eps = b.input('eps', 'float32', [cfg.batch, ...cfg.latentShape]);
  const epsHat = scoreNet(c, cfg, zt, t, zb);
  b.output(mse(c, epsHat, eps), 'loss');
  b.output(epsHat, 'eps_hat');
  return b.build();
}

/** Training graph: {@link buildScoreForward} plus `grad/<param>` for every parameter. */
export function buildScoreTraining(cfg: ScoreConfig): TrainingGraph {
  return trainingGraph(buildScoreForward(cfg));
}

/** Inference: inputs `z_t`, `t` `[N]`, `z_b`; output `eps` `[N, Cz, h, w]`. */
export function buildScoreEps(cfg: ScoreConfig): Graph {
  check(cfg);
  const b = new GraphBuilder({ name: 'score_eps', seed: cfg.seed });
  const { zt, t, zb } = scoreInputs(b, cfg);
  b.output(scoreNet({ b, seed: cfg.seed }, cfg, zt, t, zb), 'eps');
  return b.build();
}

/** Initial parameters (`score.*`), seeded by `cfg.seed`. */
export function scoreInitialParams(cfg: ScoreConfig): Record<string, Float32Array | Float64Array> {
  return buildScoreForward(cfg).initialParams();
}

/** Output name of the DPS helper's VJP with respect to `z_t`. */
export const DPS_GRAD_OUTPUT = gradName('z_t');

/**
 * The latent DPS helper (METHOD.md section 4): inputs `z_t`, `t`, `z_b`, `sigma` and `mu` (`[N]`, sigma(t) and
 * mu(t) of whatever schedule the sampler uses) and `cotangent` `[N, C, H, W]`; outputs `eps` (eps_theta),
 * `x0` = D((z_t - sigma eps) / mu), the decoded Tweedie estimate, and {@link DPS_GRAD_OUTPUT} =
 * (d x0 / d z_t)^T cotangent, through both the denoiser and the decoder. Parameters `score.*` and `dec.*`.
 * One call runs the forward and the backward; {@link buildDpsSplit} cuts it in two.
 * @param latentNorm - the standardisation the prior's latents carry (see `buildVaeDecode`); none: raw latents
 */
export function buildDpsHelper(scoreCfg: ScoreConfig, vaeCfg: VaeConfig, latentNorm?: LatentNorm): Graph {
  const { graph, x0, zt } = dpsDecoded(scoreCfg, vaeCfg, latentNorm);
  return vjp(graph, [x0], ['cotangent'], [zt]);
}

/**
 * {@link buildDpsHelper} cut in two by `vjpSplit` (packages/graph), so that one forward pass per DPS evaluation
 * serves the predictor's noise estimate, the decoded estimate whose misfit gives the cotangent, and the VJP:
 * - `forward`: inputs `z_t`, `t`, `z_b`, `sigma`, `mu`; outputs `x0`, `eps` (the helper's) and the residuals of
 *   `saved`, each under its own name;
 * - `backward`: inputs `cotangent` and the residuals (plus any forward input it reads, under the forward's name);
 *   output {@link DPS_GRAD_OUTPUT}. Elementwise forward values its gradient nodes read are recomputed there from the
 *   saved outputs of convolutions, matrix products, reductions and the like.
 * The nodes are the helper's own (the recomputed ones repeat forward nodes), so eps, x0 and the VJP are the helper's
 * numbers up to float32 round-off (equal in the tests).
 */
export function buildDpsSplit(scoreCfg: ScoreConfig, vaeCfg: VaeConfig, latentNorm?: LatentNorm): SplitVjp {
  const { graph, x0, zt } = dpsDecoded(scoreCfg, vaeCfg, latentNorm);
  // Elementwise and reshaping values are recomputed by the backward rather than passed: measured on the 'small'
  // models at batch 1, 1.6 MB of residuals instead of 5.7 MB, ~10 % less CPU per DPS step than passing them all.
  return vjpSplit(graph, [x0], ['cotangent'], [zt], { recompute: (node) => ELEMENTWISE_OPS.has(node.op) });
}

/** The forward graph of the DPS helper: `x0` and `eps` from `z_t`, `t`, `z_b`, `sigma`, `mu`. */
function dpsDecoded(
  scoreCfg: ScoreConfig,
  vaeCfg: VaeConfig,
  latentNorm: LatentNorm | undefined,
): { graph: Graph; x0: Value; zt: Value } {
  check(scoreCfg);
  if (vaeLatentShape(vaeCfg).join() !== scoreCfg.latentShape.join() || vaeCfg.batch !== scoreCfg.batch) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `DPS helper: VAE latent [${vaeLatentShape(vaeCfg).join(',')}] batch ${vaeCfg.batch} vs score latent [${scoreCfg.latentShape.join(',')}] batch ${scoreCfg.batch}`,
    );
  }
  const n = scoreCfg.batch;
  const b = new GraphBuilder({ name: 'dps_helper', seed: scoreCfg.seed });
  const { zt, t, zb } = scoreInputs(b, scoreCfg);
  const sigma = b.reshape(b.input('sigma', 'float32', [n]), [n, 1, 1, 1]); // [N, 1, 1, 1]
  const mu = b.reshape(b.input('mu', 'float32', [n]), [n, 1, 1, 1]); // [N, 1, 1, 1]
  const eps = scoreNet({ b, seed: scoreCfg.seed }, scoreCfg, zt, t, zb); // [N, Cz, h, w]
  const z0 = b.div(b.sub(zt, b.mul(sigma, eps)), mu); // [N, Cz, h, w]
  const zRaw = unstandardiseLatent(b, vaeCfg, z0, latentNorm); // [N, Cz, h, w]
  const x0 = b.output(vaeDecoder({ b, seed: vaeCfg.seed }, vaeCfg, zRaw), 'x0'); // [N, C, H, W]
  b.output(eps, 'eps');
  return { graph: b.build(), x0, zt };
}

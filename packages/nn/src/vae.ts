/**
 * Convolutional VAE for `[C, H, W]` fields with 4x downsampling per axis (METHOD.md section 2, item 1):
 * encoder -> posterior mean and log-variance of a `[latentChannels, H/4, W/4]` latent, decoder back to the
 * field. Training uses the reparameterisation z = mean + exp(logvar / 2) * noise with the noise fed as a
 * graph input (graphs stay deterministic); inference uses the posterior mean as the latent.
 */
import { AppError } from '@alignda/errors';
import { GraphBuilder } from '@alignda/graph';
import type { Graph, Value } from '@alignda/graph';
import { conv2d, downsample, groupNorm, mse, resBlock, silu, upsample } from './layers.js';
import type { Ctx } from './layers.js';
import { trainingGraph } from './model.js';
import type { TrainingGraph } from './model.js';

/** Configuration of {@link buildVaeTraining} and friends. */
export interface VaeConfig {
  /** Field channels C (variables x levels). @defaultValue 7 — the synthetic QG world's 7 x 32 x 64 state */
  readonly channels: number;
  /** Grid rows H (latitude), divisible by 4. @defaultValue 32 — the QG world */
  readonly height: number;
  /** Grid columns W (longitude, periodic), divisible by 4. @defaultValue 64 — the QG world */
  readonly width: number;
  /** Latent channels; 8 gives an [8, 8, 16] latent, 1024 numbers for 14336 (14x compression). @defaultValue 8 */
  readonly latentChannels: number;
  /** Widths at full, 1/2 and 1/4 resolution. @defaultValue [32, 64, 64] — the engine benchmark's autoencoder widths */
  readonly widths: readonly [number, number, number];
  /** Residual blocks per resolution. @defaultValue 1 — the full-resolution blocks dominate the cost; more belong in a `full` preset */
  readonly blocksPerLevel: number;
  /** GroupNorm groups (divides every width). @defaultValue 8 — Wu & He's finding that 8-32 groups work alike */
  readonly groups: number;
  /**
   * Weight of the KL term, per latent element, relative to the per-element reconstruction MSE.
   * @defaultValue 1e-3 — "a small KL weight" (METHOD.md): keeps the posterior mean informative while holding the
   * latent near unit scale for the diffusion prior
   */
  readonly klWeight: number;
  /** Batch size the graphs are built for (shapes are static). @defaultValue 16 — the benchmark batch */
  readonly batch: number;
  /** Seed of the initial parameters. @defaultValue 0 — any fixed value; runs are reproducible from it */
  readonly seed: number;
}

/** Defaults (see each field's reason). */
export const VAE_DEFAULTS: VaeConfig = Object.freeze({
  channels: 7,
  height: 32,
  width: 64,
  latentChannels: 8,
  widths: [32, 64, 64] as const,
  blocksPerLevel: 1,
  groups: 8,
  klWeight: 1e-3,
  batch: 16,
  seed: 0,
});

/**
 * Presets: `ci` — widths cut to 8/16 and batch 4 so a training step takes well under a second on one core
 * (tests, `--preset ci`); `small` — the defaults; `full` — twice the widths and two blocks per level (~8x the
 * FLOPs of `small`), meant for a GPU worker.
 */
export const VAE_PRESETS = Object.freeze({
  ci: Object.freeze({ ...VAE_DEFAULTS, widths: [8, 16, 16] as const, groups: 4, batch: 4 }),
  small: VAE_DEFAULTS,
  full: Object.freeze({ ...VAE_DEFAULTS, widths: [64, 128, 128] as const, blocksPerLevel: 2 }),
}) satisfies Readonly<Record<string, VaeConfig>>;

/** The latent shape `[latentChannels, H/4, W/4]` of one sample. */
export function vaeLatentShape(cfg: VaeConfig): [number, number, number] {
  return [cfg.latentChannels, cfg.height / 4, cfg.width / 4];
}

function check(cfg: VaeConfig): void {
  if (cfg.height % 4 !== 0 || cfg.width % 4 !== 0) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `VAE: grid ${cfg.height} x ${cfg.width} must be divisible by 4 in both axes`,
    );
  }
  for (const w of cfg.widths)
    if (w % cfg.groups !== 0)
      throw new AppError('INVALID_ARGUMENT', `VAE: width ${w} not divisible by ${cfg.groups} groups`);
}

/** Encoder: `[N, C, H, W]` -> mean and log-variance, each `[N, Cz, H/4, W/4]`. Parameters `enc.*`. */
export function vaeEncoder(c: Ctx, cfg: VaeConfig, x: Value): { mean: Value; logvar: Value } {
  const [w0, w1, w2] = cfg.widths;
  let h = conv2d(c, 'enc.in', x, w0); // [N, w0, H, W]
  for (let i = 0; i < cfg.blocksPerLevel; i++) h = resBlock(c, `enc.l0.res${i}`, h, w0, cfg.groups);
  h = downsample(c, 'enc.down0', h, w1); // [N, w1, H/2, W/2]
  for (let i = 0; i < cfg.blocksPerLevel; i++) h = resBlock(c, `enc.l1.res${i}`, h, w1, cfg.groups);
  h = downsample(c, 'enc.down1', h, w2); // [N, w2, H/4, W/4]
  for (let i = 0; i < cfg.blocksPerLevel; i++) h = resBlock(c, `enc.l2.res${i}`, h, w2, cfg.groups);
  h = silu(c, groupNorm(c, 'enc.norm', h, cfg.groups));
  const stats = conv2d(c, 'enc.out', h, 2 * cfg.latentChannels, { init: { kind: 'kaiming', gain: 0.5 } }); // [N, 2Cz, H/4, W/4]
  const [mean, logvar] = c.b.split(stats, [cfg.latentChannels, cfg.latentChannels], 1) as [Value, Value]; // 2 x [N, Cz, H/4, W/4]
  return { mean, logvar };
}

/** Decoder: `[N, Cz, H/4, W/4]` -> `[N, C, H, W]`. Parameters `dec.*`. */
export function vaeDecoder(c: Ctx, cfg: VaeConfig, z: Value): Value {
  const [w0, w1, w2] = cfg.widths;
  let h = conv2d(c, 'dec.in', z, w2); // [N, w2, H/4, W/4]
  for (let i = 0; i < cfg.blocksPerLevel; i++) h = resBlock(c, `dec.l2.res${i}`, h, w2, cfg.groups);
  h = upsample(c, 'dec.up1', h, w1); // [N, w1, H/2, W/2]
  for (let i = 0; i < cfg.blocksPerLevel; i++) h = resBlock(c, `dec.l1.res${i}`, h, w1, cfg.groups);
  h = upsample(c, 'dec.up0', h, w0); // [N, w0, H, W]
  for (let i = 0; i < cfg.blocksPerLevel; i++) h = resBlock(c, `dec.l0.res${i}`, h, w0, cfg.groups);
  h = silu(c, groupNorm(c, 'dec.norm', h, cfg.groups));
  return conv2d(c, 'dec.out', h, cfg.channels, { init: { kind: 'kaiming', gain: 1 } }); // [N, C, H, W]
}

/**
 * The VAE forward and loss. Inputs `x` `[N, C, H, W]` and `noise` `[N, Cz, h, w]` (standard normal, drawn by the
 * caller); outputs `loss` = recon + klWeight * kl, `recon` (MSE), `kl` (mean per latent element of
 * KL(N(mean, exp(logvar)) || N(0, 1))), `xhat` (the reconstruction from the sampled z), and the posterior
 * `mean` and `logvar` (for monitoring the latent scale).
 */
export function buildVaeForward(cfg: VaeConfig): Graph {
  check(cfg);
  const b = new GraphBuilder({ name: 'vae_train', seed: cfg.seed });
  const c: Ctx = { b, seed: cfg.seed };
  const x = b.input('x', 'float32', [cfg.batch, cfg.channels, cfg.height, cfg.width]);
  const noise = b.input('noise', 'float32', [cfg.batch, ...vaeLatentShape(cfg)]);
  const { mean, logvar } = vaeEncoder(c, cfg, x);
  const z = b.add(mean, b.mul(b.exp(b.mul(logvar, 0.5)), noise)); // [N, Cz, h, w]
  const xhat = vaeDecoder(c, cfg, z); // [N, C, H, W]
  const recon = mse(c, xhat, x);
  // KL(N(m, s^2) || N(0, 1)) = (m^2 + s^2 - 1 - log s^2) / 2, averaged over latent elements.
  const kl = b.mul(b.reduceMean(b.sub(b.add(b.mul(mean, mean), b.exp(logvar)), b.add(logvar, 1))), 0.5); // []
  b.output(b.add(recon, b.mul(kl, cfg.klWeight)), 'loss');
  b.output(recon, 'recon');
  b.output(kl, 'kl');
  b.output(xhat, 'xhat');
  b.output(mean, 'mean');
  b.output(logvar, 'logvar');
  return b.build();
}

/** Training graph: {@link buildVaeForward} plus `grad/<param>` for every parameter. */
export function buildVaeTraining(cfg: VaeConfig): TrainingGraph {
  return trainingGraph(buildVaeForward(cfg));
}

/**
 * Per-latent-channel affine standardisation (`mean`, `std` of length Cz, e.g. from `fitLatentNorm`): the diffusion
 * prior works on (z - mean) / std so that its unit-variance noise matches the data.
 */
export interface LatentNorm {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

function latentAffine(b: GraphBuilder, cfg: VaeConfig, norm: LatentNorm): { mean: Value; std: Value } {
  const Cz = cfg.latentChannels;
  if (norm.mean.length !== Cz || norm.std.length !== Cz || norm.std.some((v) => !(v > 0)))
    throw new AppError('INVALID_ARGUMENT', `VAE: latent norm needs ${Cz} means and ${Cz} positive stds`);
  return {
    mean: b.constant(Float32Array.from(norm.mean), [1, Cz, 1, 1]),
    std: b.constant(Float32Array.from(norm.std), [1, Cz, 1, 1]),
  };
}

/** z (standardised with `norm`) -> the VAE's own latent; the identity without `norm`. */
export function unstandardiseLatent(b: GraphBuilder, cfg: VaeConfig, z: Value, norm?: LatentNorm): Value {
  if (norm === undefined) return z;
  const a = latentAffine(b, cfg, norm);
  return b.add(b.mul(z, a.std), a.mean);
}

/**
 * Inference encoder: input `x` `[N, C, H, W]`, output `z` (posterior mean, standardised with `latentNorm` when
 * given) `[N, Cz, H/4, W/4]`. Parameters `enc.*`.
 */
export function buildVaeEncode(cfg: VaeConfig, latentNorm?: LatentNorm): Graph {
  check(cfg);
  const b = new GraphBuilder({ name: 'vae_encode', seed: cfg.seed });
  const x = b.input('x', 'float32', [cfg.batch, cfg.channels, cfg.height, cfg.width]);
  let z = vaeEncoder({ b, seed: cfg.seed }, cfg, x).mean;
  if (latentNorm !== undefined) {
    const a = latentAffine(b, cfg, latentNorm);
    z = b.div(b.sub(z, a.mean), a.std);
  }
  b.output(z, 'z');
  return b.build();
}

/**
 * Inference decoder: input `z` `[N, Cz, H/4, W/4]` (standardised with `latentNorm` when given), output `x`
 * `[N, C, H, W]`. Parameters `dec.*`.
 */
export function buildVaeDecode(cfg: VaeConfig, latentNorm?: LatentNorm): Graph {
  check(cfg);
  const b = new GraphBuilder({ name: 'vae_decode', seed: cfg.seed });
  const z = b.input('z', 'float32', [cfg.batch, ...vaeLatentShape(cfg)]);
  b.output(vaeDecoder({ b, seed: cfg.seed }, cfg, unstandardiseLatent(b, cfg, z, latentNorm)), 'x');
  return b.build();
}

/** Initial parameters (`enc.*` and `dec.*`), seeded by `cfg.seed`; the same values every graph above starts from. */
export function vaeInitialParams(cfg: VaeConfig): Record<string, Float32Array | Float64Array> {
  return buildVaeForward(cfg).initialParams();
}

import { AppError } from '@alignda/errors';
import { createRng } from '@alignda/tensor';
import type { Rng, Tensor } from '@alignda/tensor';
import type { Guidance } from './guidance/guidance.js';
import type { Denoiser, MaybePromise } from './ports.js';
import { mu, sigma } from './schedule.js';
import { memberSeed } from './internal/seeds.js';
import { checkPortOutput, checkShape, fmtShape, invalidArgument, shapeSize } from './internal/errors.js';

/** Options of {@link sample}. Exactly one of `seed` and `rng` must be given. */
export interface SampleOptions {
  /** Per-member latent shape, e.g. [8, 8, 16] for the qg world's latent (4x downsampled). */
  readonly zShape: readonly number[];
  /** Ensemble size N. @defaultValue 1 */
  readonly members?: number;
  /** Predictor steps K. @defaultValue 64 (METHOD.md section 3; the paper uses 128) */
  readonly steps?: number;
  /** Langevin corrections C per step. @defaultValue 1 (METHOD.md section 3; the paper uses 2) */
  readonly corrections?: number;
  /** Corrector step scale: delta = tau / mean(g^2). @defaultValue 0.25 (METHOD.md section 3) */
  readonly tau?: number;
  /** Run seed; member m draws from a generator seeded by a hash of (seed, m). */
  readonly seed?: number;
  /** Alternative to `seed`: the run seed is drawn once from this generator. */
  readonly rng?: Rng;
  /** Members per denoiser call; results do not depend on it. @defaultValue `members` */
  readonly batchSize?: number;
  /** Called after every step with the fraction done in (0, 1] and the 1-based global step number. */
  readonly onProgress?: (fraction: number, step: number) => void;
  /** Checked between steps; when aborted, `sample` rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * An optional capability of a {@link Guidance}: it evaluates the prior noise estimate of each predictor step itself,
 * eps(z_t, t), from a pass that also gives it what it needs after the predictor (DPS with a `DenoiseAndDecode`
 * port: one network forward per guided step instead of two). The corrector's evaluations still go to the denoiser,
 * and `guideEps` still applies. It must return the denoiser's value at (z, t), up to float32 round-off.
 */
export interface PredictorEps {
  /**
   * @param z - latents at level t, shape [n, ...zShape]; read only
   * @returns eps(z, t), shape [n, ...zShape] (a new array)
   */
  predictorEps?(z: Float32Array, t: number, shape: readonly number[]): MaybePromise<Float32Array>;
}

/**
 * Posterior (or prior, with {@link obsFree}) sampling of latents with the predictor-corrector scheme of
 * METHOD.md section 3: an exponential-integrator (DDIM-like) predictor, z <- r z + (sigma(s) - r sigma(t)) eps,
 * r = mu(s)/mu(t), followed by C Langevin corrections with delta = tau / mean(g^2) per member
 * (Rozet & Louppe 2023, section 3 and their `sda` sampler; Song et al. 2021, Algorithm 5).
 * Stateless: every random draw of member m comes from its own seeded generator, so a member's result is
 * the same whatever the batch size or ensemble size.
 * @param denoiser - prior noise predictor eps(z_t, t) with its conditioning bound
 * @param guidance - observation guidance (obsFree, repaint, dps, exactGaussianGuidance), possibly with
 *   {@link PredictorEps}
 * @returns latents at t = 0, shape [N, ...zShape]; decode them with the decoder for the analysis
 */
export async function sample(
  denoiser: Denoiser,
  guidance: Guidance & PredictorEps,
  options: SampleOptions,
): Promise<Tensor> {
  const fn = 'sample';
  const { zShape, members = 1, steps = 64, corrections = 1, tau = 0.25 } = options;
  checkShape(fn, 'zShape', zShape);
  checkInteger(fn, 'members', members, 1);
  checkInteger(fn, 'steps', steps, 1);
  checkInteger(fn, 'corrections', corrections, 0);
  if (!(tau > 0) || !Number.isFinite(tau))
    throw invalidArgument(fn, `tau must be finite and > 0, got ${tau}`);
  const batchSize = options.batchSize ?? members;
  checkInteger(fn, 'batchSize', batchSize, 1);
  if ((options.seed === undefined) === (options.rng === undefined)) {
    throw invalidArgument(
      fn,
      'give exactly one of seed and rng: analyses must be reproducible from an explicit seed',
    );
  }
  const seed = options.seed ?? (options.rng as Rng).int(0x7fffffff);
  if (!Number.isInteger(seed)) throw invalidArgument(fn, `seed must be an integer, got ${seed}`);
  guidance.prepare?.(zShape);

  const D = shapeSize(zShape);
  const out = new Float32Array(members * D);
  const batches = Math.ceil(members / batchSize);
  let done = 0;
  for (let b = 0; b < batches; b++) {
    const first = b * batchSize;
    const n = Math.min(batchSize, members - first);
    const shape = [n, ...zShape];
    const rngs = Array.from({ length: n }, (_, i) => createRng(memberSeed(seed, first + i)));
    let z = new Float32Array(n * D); // [n, D]
    for (let i = 0; i < n; i++) (rngs[i] as Rng).fillNormal(z.subarray(i * D, (i + 1) * D));
    const epsHat = async (x: Float32Array, t: number, predictor: boolean): Promise<Float32Array> => {
      const own = predictor && guidance.predictorEps !== undefined;
      const e =
        predictor && guidance.predictorEps !== undefined
          ? await guidance.predictorEps(x, t, shape)
          : await denoiser(x, t, shape);
      const port = own ? `${guidance.name} guidance's predictor eps` : 'denoiser';
      checkPortOutput(fn, port, e, n * D, fmtShape(shape));
      checkFinite(fn, port, e, t);
      return guidance.guideEps === undefined ? e : guidance.guideEps(x, t, e, shape);
    };
    for (let k = 0; k < steps; k++) {
      options.signal?.throwIfAborted();
      const t = (steps - k) / steps;
      const s = (steps - k - 1) / steps;
      const eps = await epsHat(z, t, true);
      const r = mu(s) / mu(t);
      const c = sigma(s) - r * sigma(t);
      const zs = new Float32Array(n * D);
      for (let j = 0; j < zs.length; j++) zs[j] = r * (z[j] as number) + c * (eps[j] as number);
      await guidance.afterPredictor?.({ zt: z, t, eps, zs, s, shape, rngs });
      for (let it = 0; it < corrections; it++) langevin(zs, await epsHat(zs, s, false), s, tau, rngs, D);
      z = zs;
      done++;
      options.onProgress?.(done / (batches * steps), done);
    }
    out.set(z, first * D);
  }
  return { data: out, shape: [members, ...zShape] };
}

/** One Langevin correction per member: g = -eps / sigma(s), delta = tau / mean(g^2), z += delta g + sqrt(2 delta) xi. */
function langevin(
  z: Float32Array,
  eps: Float32Array,
  s: number,
  tau: number,
  rngs: readonly Rng[],
  D: number,
): void {
  const sg = sigma(s);
  for (let i = 0; i < rngs.length; i++) {
    const rng = rngs[i] as Rng;
    const o = i * D;
    let g2 = 0;
    for (let j = 0; j < D; j++) g2 += ((eps[o + j] as number) / sg) ** 2;
    g2 /= D;
    // A zero score (eps = 0 everywhere) leaves nothing to correct; skip rather than divide by zero.
    const delta = g2 > 0 ? tau / g2 : 0;
    const noise = Math.sqrt(2 * delta);
    for (let j = 0; j < D; j++) {
      z[o + j] = (z[o + j] as number) - (delta * (eps[o + j] as number)) / sg + noise * rng.normal();
    }
  }
}

function checkInteger(fn: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min)
    throw invalidArgument(fn, `${name} must be an integer >= ${min}, got ${v}`);
}

function checkFinite(fn: string, port: string, a: Float32Array, t: number): void {
  for (let j = 0; j < a.length; j++) {
    if (!Number.isFinite(a[j])) {
      throw new AppError(
        'INTERNAL',
        `${fn}: the ${port} returned a non-finite value at index ${j} (t = ${t})`,
      );
    }
  }
}

import type { Rng } from '@alignda/tensor';
import type { MaybePromise } from '../ports.js';

/** What a guidance sees after the predictor of one step t -> s (METHOD.md section 3). */
export interface StepContext {
  /** Latents at level t before the step, shape [n, ...zShape]; read only. */
  readonly zt: Float32Array;
  /** Diffusion time at the start of the step. */
  readonly t: number;
  /** The noise estimate the predictor used at (zt, t), shape [n, ...zShape]; read only. */
  readonly eps: Float32Array;
  /** Latents at level s after the predictor, shape [n, ...zShape]; the guidance updates it in place. */
  readonly zs: Float32Array;
  /** Diffusion time at the end of the step (t - 1/K). */
  readonly s: number;
  /** [n, ...zShape] */
  readonly shape: readonly number[];
  /** One generator per member of the batch: guidance noise must come from these (batch-independent). */
  readonly rngs: readonly Rng[];
}

/**
 * Observation guidance (METHOD.md section 4): one interface, so every mode runs in the same
 * {@link sample} with the same prior. A guidance may act in two places, both optional:
 * - `guideEps`: replace the prior noise estimate by a posterior one, eps - sigma(t) grad log p(y | z_t),
 *   in the predictor and the corrector (score-type guidance, e.g. the exact linear-Gaussian likelihood);
 * - `afterPredictor`: correct the latents after each predictor step and before the Langevin corrections
 *   (DPS, Chung et al. 2023 Algorithm 1; Repaint).
 * Implementations hold the observations they were made with; none ever sees the truth.
 */
export interface Guidance {
  /** Mode name for logs and tables, e.g. `obsfree`, `repaint`, `dps`, `exact-gaussian`. */
  readonly name: string;
  /** Checks the latent shape once before sampling; throws a clear error on a mismatch. */
  prepare?(zShape: readonly number[]): void;
  /**
   * @param z - latents, shape [n, ...zShape]
   * @param t - diffusion time
   * @param eps - prior noise estimate at (z, t), shape [n, ...zShape]; may be overwritten and returned
   * @param shape - [n, ...zShape]
   * @returns guided noise estimate, shape [n, ...zShape]
   */
  guideEps?(
    z: Float32Array,
    t: number,
    eps: Float32Array,
    shape: readonly number[],
  ): MaybePromise<Float32Array>;
  /** Updates `ctx.zs` in place. */
  afterPredictor?(ctx: StepContext): MaybePromise<void>;
}

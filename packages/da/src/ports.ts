/**
 * The ports through which models and observation operators enter the DA core. packages/da never
 * imports a runtime: the engine (ONNX sessions), the analytic Gaussian prior of the tests and the
 * world's interpolation operators all implement these shapes.
 *
 * Conventions: latents are Float32Array batches of shape [n, ...zShape], states (decoded fields)
 * Float32Array batches of shape [n, ...stateShape] (stateShape is [C, H, W] for gridded fields),
 * row-major. `n` is the number of members in the current batch. A port may be synchronous or async.
 */

/** A value or a promise of it: ports may be synchronous (analytic, tests) or async (ONNX). */
export type MaybePromise<T> = T | Promise<T>;

/**
 * The prior noise predictor eps_theta(z_t, t) (METHOD.md section 2, item 2), with any conditioning
 * (the background latent z_b) already bound by the caller.
 * @param z - noisy latents, shape `shape` = [n, ...zShape]
 * @param t - diffusion time in [0, 1], the same for every member
 * @param shape - [n, ...zShape]
 * @returns predicted noise, shape [n, ...zShape] (a new array; the sampler may overwrite it)
 */
export type Denoiser = (z: Float32Array, t: number, shape: readonly number[]) => MaybePromise<Float32Array>;

/**
 * The decoder D of the autoencoder.
 * @param z - latents, shape [n, ...zShape]
 * @param shape - [n, ...zShape]
 * @returns states, shape [n, ...stateShape]
 */
export type Decoder = (z: Float32Array, shape: readonly number[]) => MaybePromise<Float32Array>;

/**
 * The encoder E of the autoencoder (posterior mean).
 * @param x - states, shape [n, ...stateShape]
 * @param shape - [n, ...stateShape]
 * @returns latents, shape [n, ...zShape]
 */
export type Encoder = (x: Float32Array, shape: readonly number[]) => MaybePromise<Float32Array>;

/**
 * Vector-Jacobian product of the decoded Tweedie estimate, z_t -> D(z0_hat(z_t, t)), for latent DPS
 * (METHOD.md section 4). The engine provides it as an ONNX gradient graph; tests use the analytic
 * Gaussian denoiser and a linear decoder. The observation operator is not part of it: the cotangent
 * is already in state space (H^T applied by the caller), so one graph serves any observation set.
 * @param z - noisy latents, shape [n, ...zShape]
 * @param t - diffusion time
 * @param cotangent - state-space cotangent, shape [n, ...stateShape]
 * @param shape - [n, ...zShape]
 * @returns (d D(z0_hat(z)) / d z)^T cotangent, shape [n, ...zShape]
 */
export type DecodedTweedieVjp = (
  z: Float32Array,
  t: number,
  cotangent: Float32Array,
  shape: readonly number[],
) => MaybePromise<Float32Array>;

/**
 * The prior's noise estimate and the decoded Tweedie estimate at one (z_t, t), from ONE forward pass, with the
 * vector-Jacobian product of the latter at that point (what {@link DenoiseAndDecode} returns).
 */
export interface DecodedTweedie {
  /** eps_theta(z_t, t), shape [n, ...zShape]: the {@link Denoiser}'s value at (z_t, t), up to float32 round-off. */
  readonly eps: Float32Array;
  /** x0 = D(z0_hat(z_t, t)) = D((z_t - sigma(t) eps) / mu(t)), shape [n, ...stateShape]. */
  readonly x0: Float32Array;
  /**
   * (d x0 / d z_t)^T cotangent at this (z_t, t), from what the forward pass kept: the {@link DecodedTweedieVjp}
   * of the same point without recomputing the forward.
   * @param cotangent - state-space cotangent, shape [n, ...stateShape]
   * @returns shape [n, ...zShape]
   */
  vjp(cotangent: Float32Array): MaybePromise<Float32Array>;
}

/**
 * The prior's noise estimate eps_theta(z_t, t) and the decoded Tweedie estimate D(z0_hat(z_t, t)) from one forward
 * pass, with their VJP to come (latent DPS, METHOD.md section 4). A prior that has it saves DPS guidance a second
 * forward pass per step: the denoiser, the decoder and the {@link DecodedTweedieVjp} would each run the network
 * again. The engine provides it as a forward graph that also returns the residuals its backward graph reads; the
 * observation operator is not part of it (the cotangent comes from the caller, in state space).
 * @param z - noisy latents, shape [n, ...zShape]
 * @param t - diffusion time
 * @param shape - [n, ...zShape]
 */
export type DenoiseAndDecode = (
  z: Float32Array,
  t: number,
  shape: readonly number[],
) => MaybePromise<DecodedTweedie>;

/**
 * A linear observation operator H for ONE member (point observations by bilinear interpolation come
 * from packages/world; gridded ones from {@link griddedObservations}).
 */
export interface ObservationOperator {
  /** Shape of the state it reads, per member, e.g. [C, H, W]. */
  readonly stateShape: readonly number[];
  /** Number of observations P. */
  readonly size: number;
  /**
   * y = H x.
   * @param x - one state, length prod(stateShape)
   * @param out - length P, overwritten
   */
  apply(x: ArrayLike<number>, out: Float64Array): Float64Array;
  /**
   * x = H^T r.
   * @param r - length P
   * @param out - length prod(stateShape), overwritten (not accumulated)
   */
  adjoint(r: ArrayLike<number>, out: Float64Array): Float64Array;
}

/** Observations y = H x_true + e, e ~ N(0, diag(std^2)). They never carry the truth itself. */
export interface Observations {
  readonly operator: ObservationOperator;
  /** Observed values y, length P. */
  readonly values: Float64Array;
  /** Error standard deviations, length P, all > 0. */
  readonly std: Float64Array;
  /**
   * Present for gridded observations only: flat indices into the per-member state, length P
   * (what latent Repaint needs to build its mask).
   */
  readonly gridIndex?: Int32Array;
}

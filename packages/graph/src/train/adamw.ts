import { assertSameLayout, cloneParams, zerosLike } from './param-map.js';
import type { ParamArray, ParamMap, ReadonlyParamMap } from './param-map.js';
import { GraphError } from '../errors.js';

/** Hyper-parameters of {@link AdamW}. */
export interface AdamWOptions {
  /**
   * Learning rate used when `step` is given none (a schedule normally passes one per step).
   * @defaultValue 1e-3 — Kingma & Ba's default, also PyTorch's.
   */
  readonly lr?: number;
  /**
   * Decay rate of the first-moment (mean) estimate, beta_1.
   * @defaultValue 0.9 — Kingma & Ba, Algorithm 1.
   */
  readonly beta1?: number;
  /**
   * Decay rate of the second-moment (uncentred variance) estimate, beta_2.
   * @defaultValue 0.999 — Kingma & Ba, Algorithm 1.
   */
  readonly beta2?: number;
  /**
   * Added to the bias-corrected root second moment before dividing.
   * @defaultValue 1e-8 — Kingma & Ba, Algorithm 1.
   */
  readonly eps?: number;
  /**
   * Decoupled weight-decay factor lambda; each step multiplies a decayed parameter by `1 - lr * weightDecay`.
   * @defaultValue 0.01 — PyTorch's `torch.optim.AdamW` default, so runs compare one to one.
   */
  readonly weightDecay?: number;
  /**
   * Which parameters are decayed (by name). Biases and normalisation gains are usually excluded.
   * @defaultValue every parameter
   */
  readonly decay?: (name: string) => boolean;
}

/** The resumable state of an {@link AdamW} optimizer: step count and both moment estimates. */
export interface AdamWState {
  /** Number of steps taken so far (t in the paper; the bias corrections use it). */
  readonly step: number;
  /** First-moment estimates, one array per parameter. */
  readonly m: ParamMap;
  /** Second-moment estimates, one array per parameter. */
  readonly v: ParamMap;
}

/** Resolved hyper-parameters (every option filled in). */
export type AdamWConfig = Required<Omit<AdamWOptions, 'decay'>>;

/**
 * Adam with decoupled weight decay: Loshchilov & Hutter, "Decoupled Weight Decay Regularization",
 * ICLR 2019, Algorithm 2 (AdamW), with Adam's bias correction (Kingma & Ba, ICLR 2015, Algorithm 1).
 * The schedule multiplier eta_t of Algorithm 2 is folded into the learning rate, as in
 * `torch.optim.AdamW`, so the per-step update of a parameter p with gradient g is
 *
 *   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
 *   p = p (1 - lr lambda) - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * Parameters are updated in place; the arithmetic is float64 per element, stored in the parameter's element
 * type (moments too, as in PyTorch).
 * Gradients are not checked for NaN or Inf (clip first: {@link clipGradNorm} returns the norm).
 */
export class AdamW {
  /** Resolved hyper-parameters. */
  readonly config: AdamWConfig;
  private readonly decay: (name: string) => boolean;
  private t = 0;
  private m: ParamMap;
  private v: ParamMap;

  /**
   * @param params - the parameters to optimise; only their names and lengths are read here
   * @param options - hyper-parameters (see {@link AdamWOptions} for defaults)
   */
  constructor(params: ReadonlyParamMap, options: AdamWOptions = {}) {
    this.config = {
      lr: options.lr ?? 1e-3,
      beta1: options.beta1 ?? 0.9,
      beta2: options.beta2 ?? 0.999,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0.01,
    };
    const { lr, beta1, beta2, eps, weightDecay } = this.config;
    if (!(lr >= 0) || !Number.isFinite(lr))
      throw new GraphError('INVALID_OPTION', `AdamW: lr must be finite and >= 0, got ${lr}`);
    if (!(beta1 >= 0 && beta1 < 1))
      throw new GraphError('INVALID_OPTION', `AdamW: beta1 must be in [0, 1), got ${beta1}`);
    if (!(beta2 >= 0 && beta2 < 1))
      throw new GraphError('INVALID_OPTION', `AdamW: beta2 must be in [0, 1), got ${beta2}`);
    if (!(eps > 0)) throw new GraphError('INVALID_OPTION', `AdamW: eps must be > 0, got ${eps}`);
    if (!(weightDecay >= 0))
      throw new GraphError('INVALID_OPTION', `AdamW: weightDecay must be >= 0, got ${weightDecay}`);
    this.decay = options.decay ?? (() => true);
    this.m = zerosLike(params);
    this.v = zerosLike(params);
  }

  /** Number of steps taken so far. */
  get stepCount(): number {
    return this.t;
  }

  /**
   * Applies one AdamW update to `params` in place.
   * @param params - parameters, same names and lengths as at construction; overwritten
   * @param grads - gradients of the loss with respect to `params`, same layout; read only
   * @param lr - learning rate for this step (from a schedule) @defaultValue `config.lr`
   */
  step(params: ParamMap, grads: ReadonlyParamMap, lr: number = this.config.lr): void {
    if (!(lr >= 0) || !Number.isFinite(lr))
      throw new GraphError('INVALID_OPTION', `AdamW.step: lr must be finite and >= 0, got ${lr}`);
    assertSameLayout(this.m, params, 'AdamW.step params');
    assertSameLayout(this.m, grads, 'AdamW.step grads');
    const { beta1, beta2, eps, weightDecay } = this.config;
    this.t += 1;
    const stepSize = lr / (1 - Math.pow(beta1, this.t));
    const invBc2Sqrt = 1 / Math.sqrt(1 - Math.pow(beta2, this.t));
    const oneMinusB1 = 1 - beta1;
    const oneMinusB2 = 1 - beta2;
    for (const name of Object.keys(this.m)) {
      // Layout was checked above; these lookups cannot miss.
      const p = params[name] as ParamArray;
      const g = grads[name] as ParamArray;
      const m = this.m[name] as ParamArray;
      const v = this.v[name] as ParamArray;
      const keep = this.decay(name) ? 1 - lr * weightDecay : 1;
      const n = p.length;
      for (let i = 0; i < n; i++) {
        const gi = g[i] as number;
        const mi = beta1 * (m[i] as number) + oneMinusB1 * gi;
        const vi = beta2 * (v[i] as number) + oneMinusB2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = (p[i] as number) * keep - (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + eps);
      }
    }
  }

  /** A deep copy of the optimizer state (for checkpoints). */
  state(): AdamWState {
    return { step: this.t, m: cloneParams(this.m), v: cloneParams(this.v) };
  }

  /**
   * Replaces the optimizer state by a copy of `state` (from {@link AdamW.state} or a checkpoint).
   * @param state - must have the parameter layout this optimizer was built for
   */
  loadState(state: AdamWState): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new GraphError(
        'INVALID_OPTION',
        `AdamW.loadState: step must be a non-negative integer, got ${state.step}`,
      );
    }
    assertSameLayout(this.m, state.m, 'AdamW.loadState m');
    assertSameLayout(this.m, state.v, 'AdamW.loadState v');
    this.t = state.step;
    this.m = cloneParams(state.m);
    this.v = cloneParams(state.v);
  }
}

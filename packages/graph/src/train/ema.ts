import { assertSameLayout, cloneParams } from './param-map.js';
import type { ParamArray, ParamMap, ReadonlyParamMap } from './param-map.js';
import { GraphError } from '../errors.js';

/** Options of {@link Ema}. */
export interface EmaOptions {
  /**
   * The long-run decay rate d: after warm-up, `shadow += (1 - d) (param - shadow)` each update.
   * @defaultValue 0.999 — an averaging horizon of about 1000 steps, the usual choice for diffusion models
   */
  readonly decay?: number;
  /**
   * Warm-up of the decay: update n (1-based) uses `min(decay, (1 + n) / (10 + n))`, TensorFlow's
   * `ExponentialMovingAverage(num_updates)` rule, so the average forgets the random initialisation
   * quickly instead of being bias-corrected. `false` uses `decay` from the first update.
   * @defaultValue true
   */
  readonly warmup?: boolean;
}

/** The resumable state of an {@link Ema}. */
export interface EmaState {
  /** Number of updates applied so far. */
  readonly updates: number;
  /** The averaged parameters. */
  readonly shadow: ParamMap;
}

/**
 * Exponential moving average of parameters (Polyak & Juditsky 1992 averaging, in its exponential
 * form as used for evaluation weights, e.g. Song & Ermon 2020, "Improved Techniques for Training
 * Score-Based Generative Models", Technique 5).
 *
 * The shadow starts as a copy of the parameters (so there is no zero-initialisation bias and no bias
 * correction) and uses a warm-up decay (see {@link EmaOptions.warmup}). The update is written as
 * `shadow += (1 - d) (param - shadow)`, so the average of a constant is exactly that constant.
 */
export class Ema {
  /** The long-run decay rate. */
  readonly decay: number;
  /** Whether the decay warms up. */
  readonly warmup: boolean;
  private n = 0;
  private shadowMap: ParamMap;

  /**
   * @param params - the parameters to average; copied as the initial shadow
   * @param options - see {@link EmaOptions}
   */
  constructor(params: ReadonlyParamMap, options: EmaOptions = {}) {
    this.decay = options.decay ?? 0.999;
    this.warmup = options.warmup ?? true;
    if (!(this.decay >= 0 && this.decay < 1))
      throw new GraphError('INVALID_OPTION', `Ema: decay must be in [0, 1), got ${this.decay}`);
    this.shadowMap = cloneParams(params);
  }

  /** Number of updates applied so far. */
  get updates(): number {
    return this.n;
  }

  /** The decay the next update will use. */
  nextDecay(): number {
    const n = this.n + 1;
    return this.warmup ? Math.min(this.decay, (1 + n) / (10 + n)) : this.decay;
  }

  /**
   * Folds the current parameters into the average.
   * @param params - same names and lengths as at construction; read only
   */
  update(params: ReadonlyParamMap): void {
    assertSameLayout(this.shadowMap, params, 'Ema.update params');
    const rate = 1 - this.nextDecay();
    this.n += 1;
    for (const [name, s] of Object.entries(this.shadowMap)) {
      const p = params[name] as ParamArray;
      const len = s.length;
      for (let i = 0; i < len; i++) {
        const si = s[i] as number;
        s[i] = si + rate * ((p[i] as number) - si);
      }
    }
  }

  /** The averaged parameters (live arrays: copy before training on them). */
  get shadow(): ReadonlyParamMap {
    return this.shadowMap;
  }

  /** A deep copy of the state (for checkpoints). */
  state(): EmaState {
    return { updates: this.n, shadow: cloneParams(this.shadowMap) };
  }

  /**
   * Replaces the state by a copy of `state`.
   * @param state - from {@link Ema.state} or a checkpoint, with this average's layout
   */
  loadState(state: EmaState): void {
    if (!Number.isInteger(state.updates) || state.updates < 0) {
      throw new GraphError(
        'INVALID_OPTION',
        `Ema.loadState: updates must be a non-negative integer, got ${state.updates}`,
      );
    }
    assertSameLayout(this.shadowMap, state.shadow, 'Ema.loadState shadow');
    this.n = state.updates;
    this.shadowMap = cloneParams(state.shadow);
  }
}

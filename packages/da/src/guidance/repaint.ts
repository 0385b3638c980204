import type { Guidance } from './guidance.js';
import type { Decoder, Encoder, Observations } from '../ports.js';
import { freezeObservations } from '../observations.js';
import { mu, sigma, tweedie } from '../schedule.js';
import type { Rng } from '@alignda/tensor';
import { checkPortOutput, fmtShape, invalidArgument, shapeSize } from '../internal/errors.js';

/** Options of {@link repaint}. */
export interface RepaintOptions {
  /** Gridded observations (from griddedObservations): Repaint needs their mask. */
  readonly obs: Observations;
  /** The encoder E. */
  readonly encoder: Encoder;
  /** The decoder D. */
  readonly decoder: Decoder;
  /**
   * Weight w of the observation-consistent latent in the blend z_s <- (1 - w) z_s + w z_known: one number
   * in [0, 1], or one weight per latent element (length prod(zShape), e.g. the observation mask pooled
   * to the latent grid).
   * @defaultValue 1 (replace: the prior update still enters through z0_hat, as in RePaint's known/unknown
   * split when the encoder is the identity and the weights are the mask)
   */
  readonly blend?: number | Float32Array;
}

/**
 * Leak-free latent Repaint (METHOD.md section 4, adapted from DiffDA, Huang et al. 2024, and RePaint,
 * Lugmayr et al. 2022, Algorithm 1 without resampling): after each predictor step t -> s,
 * x_c = m * y_grid + (1 - m) * D(z0_hat(z_t)) holds the observations where observed and the current
 * estimate elsewhere; z_known = mu(s) E(x_c) + sigma(s) n, n ~ N(0, I); z_s <- (1 - w) z_s + w z_known.
 * Only observed values enter x_c: the truth is never encoded.
 */
export function repaint(options: RepaintOptions): Guidance {
  const fn = 'repaint';
  const stateShape = options.obs.operator.stateShape;
  const obs = freezeObservations(fn, options.obs, stateShape);
  const gridIndex = obs.gridIndex;
  if (gridIndex === undefined) {
    throw invalidArgument(
      fn,
      'Repaint needs gridded observations (with gridIndex); use dps for point observations',
    );
  }
  const blend = options.blend ?? 1;
  const inUnit = (w: number): boolean => w >= 0 && w <= 1;
  if (typeof blend === 'number' ? !inUnit(blend) : !blend.every(inUnit)) {
    throw invalidArgument(fn, 'blend weights must lie in [0, 1]');
  }
  const Dx = shapeSize(stateShape);
  return {
    name: 'repaint',
    prepare(zShape) {
      if (typeof blend !== 'number' && blend.length !== shapeSize(zShape)) {
        throw invalidArgument(
          fn,
          `blend has ${blend.length} weights but the latent ${fmtShape(zShape)} has ${shapeSize(zShape)}`,
        );
      }
    },
    async afterPredictor({ zt, t, eps, zs, s, shape, rngs }) {
      const n = shape[0] as number;
      const D = zt.length / n;
      const stateBatch = [n, ...stateShape];
      const x = await options.decoder(tweedie(zt, eps, t), shape);
      checkPortOutput(fn, 'decoder', x, n * Dx, fmtShape(stateBatch));
      const xc = Float32Array.from(x); // the decoder's buffer is not ours to overwrite
      for (let i = 0; i < n; i++) {
        for (let p = 0; p < gridIndex.length; p++)
          xc[i * Dx + (gridIndex[p] as number)] = obs.values[p] as number;
      }
      const zc = await options.encoder(xc, stateBatch);
      checkPortOutput(fn, 'encoder', zc, zt.length, fmtShape(shape));
      const a = mu(s);
      const sg = sigma(s);
      for (let i = 0; i < n; i++) {
        const rng = rngs[i] as Rng;
        for (let j = 0; j < D; j++) {
          const k = i * D + j;
          const w = typeof blend === 'number' ? blend : (blend[j] as number);
          const known = a * (zc[k] as number) + sg * rng.normal();
          zs[k] = (1 - w) * (zs[k] as number) + w * known;
        }
      }
    },
  };
}

import type { Guidance } from './guidance.js';
import type {
  DecodedTweedie,
  DecodedTweedieVjp,
  Decoder,
  DenoiseAndDecode,
  MaybePromise,
  Observations,
} from '../ports.js';
import type { PredictorEps } from '../sampler.js';
import { freezeObservations } from '../observations.js';
import { tweedie } from '../schedule.js';
import { checkPortOutput, fmtShape, invalidArgument, shapeSize } from '../internal/errors.js';

/** Options of {@link dps}. */
export interface DpsOptions {
  /** Observations of the decoded state; their operator's stateShape is the decoder's output shape. */
  readonly obs: Observations;
  /** The decoder D. */
  readonly decoder: Decoder;
  /** VJP of z_t -> D(z0_hat(z_t, t)) (the engine's gradient graph). */
  readonly vjp: DecodedTweedieVjp;
  /**
   * The prior's eps and decoded Tweedie estimate from one forward pass, with their VJP (the engine's split
   * gradient graph). When given, each step's predictor takes its eps from it and the guidance reuses its x0 and
   * VJP: one network forward per step instead of the denoiser's, the decoder's and the VJP's own. It must
   * belong to the same prior as the sampler's denoiser and to this decoder. Without it (or when the step's
   * (z_t, t, eps) is not the one it evaluated) the guidance runs the decoder and {@link DpsOptions.vjp}.
   */
  readonly denoiseAndDecode?: DenoiseAndDecode;
  /**
   * Step scale zeta' of the normalised DPS step zeta_i = zeta' sigma_ref / ||y - H(D(z0_hat))||_{R^-1},
   * sigma_ref = mean(std^-2)^(-1/2): with equal error std this is exactly Chung et al.'s
   * zeta' / ||y - A(x0_hat)|| on the unweighted misfit (their appendix C.2 uses zeta' in [0.1, 1]), and the
   * step does not change when R is scaled (noise-free observations with a tiny std stay well posed).
   * @defaultValue 0.2 (in state units per step; chosen on the linear-Gaussian test of dps.test.ts,
   * where 1 oscillates around the observations with K = 64 steps)
   */
  readonly zeta?: number;
}

/** The DPS misfit and its gradient for a batch of members. */
export interface DpsGradient {
  /** ||y - H(D(z0_hat(z_t)))||^2_{R^-1} per member, length n. */
  readonly misfit: Float64Array;
  /** grad_{z_t} of the misfit, shape [n, ...zShape]. */
  readonly grad: Float32Array;
}

/**
 * The misfit ||y - H(D(z0_hat(z_t)))||^2_{R^-1} of each member and its gradient with respect to z_t:
 * grad = (d D(z0_hat)/d z_t)^T (-2 H^T R^-1 (y - H D(z0_hat))), the cotangent built here in state space
 * so the VJP port never sees the observation operator.
 * @param zt - latents, shape `shape` = [n, ...zShape]
 * @param eps - prior noise estimate at (zt, t), shape [n, ...zShape]
 */
export async function dpsGradient(
  zt: Float32Array,
  t: number,
  eps: Float32Array,
  shape: readonly number[],
  ports: Pick<DpsOptions, 'obs' | 'decoder' | 'vjp'>,
): Promise<DpsGradient> {
  const fn = 'dps';
  const { obs, decoder, vjp } = ports;
  const x0 = await decoder(tweedie(zt, eps, t), shape);
  checkPortOutput(
    fn,
    'decoder',
    x0,
    (shape[0] as number) * shapeSize(obs.operator.stateShape),
    stateShapeOf(shape, obs),
  );
  return misfitGradient(x0, (cot) => vjp(zt, t, cot, shape), 'vjp', zt.length, shape, obs);
}

/**
 * {@link dpsGradient} from a {@link DecodedTweedie} of the same (z_t, t): its x0 gives the misfit and its VJP the
 * gradient, nothing is evaluated again.
 */
async function dpsGradientFromDecoded(
  decoded: DecodedTweedie,
  shape: readonly number[],
  obs: Observations,
): Promise<DpsGradient> {
  const n = shape[0] as number;
  checkPortOutput(
    'dps',
    'denoiseAndDecode (x0)',
    decoded.x0,
    n * shapeSize(obs.operator.stateShape),
    stateShapeOf(shape, obs),
  );
  return misfitGradient(
    decoded.x0,
    (cot) => decoded.vjp(cot),
    'denoiseAndDecode (vjp)',
    n * shapeSize(shape.slice(1)),
    shape,
    obs,
  );
}

const stateShapeOf = (shape: readonly number[], obs: Observations): string =>
  fmtShape([shape[0] as number, ...obs.operator.stateShape]);

/** The misfit of each member of x0 and, through `vjp`, its gradient; `zSize` = n prod(zShape). */
async function misfitGradient(
  x0: Float32Array,
  vjp: (cotangent: Float32Array) => MaybePromise<Float32Array>,
  port: string,
  zSize: number,
  shape: readonly number[],
  obs: Observations,
): Promise<DpsGradient> {
  const n = shape[0] as number;
  const Dx = shapeSize(obs.operator.stateShape);
  const P = obs.operator.size;
  const misfit = new Float64Array(n);
  const cot = new Float32Array(n * Dx);
  const hx = new Float64Array(P);
  const w = new Float64Array(P);
  const adj = new Float64Array(Dx);
  for (let i = 0; i < n; i++) {
    obs.operator.apply(x0.subarray(i * Dx, (i + 1) * Dx), hx);
    let m = 0;
    for (let p = 0; p < P; p++) {
      const inv = 1 / (obs.std[p] as number) ** 2;
      const r = (obs.values[p] as number) - (hx[p] as number);
      m += r * r * inv;
      w[p] = -2 * r * inv;
    }
    misfit[i] = m;
    obs.operator.adjoint(w, adj);
    for (let j = 0; j < Dx; j++) cot[i * Dx + j] = adj[j] as number;
  }
  const grad = await vjp(cot);
  checkPortOutput('dps', port, grad, zSize, fmtShape(shape));
  return { misfit, grad };
}

/**
 * Latent diffusion posterior sampling (Chung et al., "Diffusion posterior sampling for general noisy
 * inverse problems", ICLR 2023, Algorithm 1), in the latent of the autoencoder (METHOD.md section 4):
 * after each predictor step, z_s <- z_s - zeta_i grad_{z_t} ||y - H(D(z0_hat(z_t)))||^2_{R^-1} with
 * zeta_i = zeta' sigma_ref / ||y - H(D(z0_hat(z_t)))||_{R^-1} per member (see {@link DpsOptions.zeta}). Works with any linear H, including
 * point observations by interpolation.
 */
export function dps(options: DpsOptions): Guidance & PredictorEps {
  const fn = 'dps';
  const zeta = options.zeta ?? 0.2;
  if (!(zeta > 0) || !Number.isFinite(zeta))
    throw invalidArgument(fn, `zeta must be finite and > 0, got ${zeta}`);
  const obs = freezeObservations(fn, options.obs, options.obs.operator.stateShape);
  const ports = { obs, decoder: options.decoder, vjp: options.vjp };
  let meanPrecision = 0;
  for (const s of obs.std) meanPrecision += 1 / (s * s);
  const sigmaRef = 1 / Math.sqrt(meanPrecision / obs.std.length);
  // The last predictor evaluation of denoiseAndDecode, used by the afterPredictor of the same step.
  let last: { readonly zt: Float32Array; readonly t: number; readonly decoded: DecodedTweedie } | undefined;
  const guidance: Guidance & PredictorEps = {
    name: 'dps',
    async afterPredictor({ zt, t, eps, zs, shape }) {
      const decoded =
        last !== undefined && last.zt === zt && last.t === t && last.decoded.eps === eps
          ? last.decoded
          : undefined;
      last = undefined;
      const { misfit, grad } =
        decoded === undefined
          ? await dpsGradient(zt, t, eps, shape, ports)
          : await dpsGradientFromDecoded(decoded, shape, obs);
      const n = shape[0] as number;
      const D = zt.length / n;
      for (let i = 0; i < n; i++) {
        const norm = Math.sqrt(misfit[i] as number);
        if (!(norm > 0)) continue; // a perfect fit has no gradient to follow
        const step = (zeta * sigmaRef) / norm;
        for (let j = i * D; j < (i + 1) * D; j++) zs[j] = (zs[j] as number) - step * (grad[j] as number);
      }
    },
  };
  const denoiseAndDecode = options.denoiseAndDecode;
  if (denoiseAndDecode !== undefined) {
    guidance.predictorEps = async (z, t, shape) => {
      const decoded = await denoiseAndDecode(z, t, shape);
      last = { zt: z, t, decoded };
      return decoded.eps;
    };
  }
  return guidance;
}

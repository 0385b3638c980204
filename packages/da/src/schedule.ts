/**
 * The variance-preserving diffusion schedule of METHOD.md section 3: the cosine schedule of
 * Rozet & Louppe, "Score-based data assimilation" (NeurIPS 2023), section 2 and appendix.
 * Pure functions of the diffusion time t in [0, 1]; t = 0 is data, t = 1 is (almost) pure noise.
 */

import { invalidArgument } from './internal/errors.js';

/** Floor of the schedule: alpha(1) = eta, sigma(0) = eta. Rozet & Louppe use 1e-3. */
export const SCHEDULE_ETA = 1e-3;

const THETA = Math.acos(Math.sqrt(SCHEDULE_ETA));

/** alpha(t) = cos(arccos(sqrt(eta)) t)^2, decreasing from 1 at t = 0 to eta at t = 1. */
export function alpha(t: number): number {
  const c = Math.cos(THETA * t);
  return c * c;
}

/** Signal scale mu(t) = alpha(t): z_t = mu(t) z_0 + sigma(t) eps. */
export function mu(t: number): number {
  return alpha(t);
}

/** Noise scale sigma(t) = sqrt(1 - alpha(t)^2 + eta^2); sigma(0) = eta, sigma(1) = 1. */
export function sigma(t: number): number {
  const a = alpha(t);
  return Math.sqrt(1 - a * a + SCHEDULE_ETA * SCHEDULE_ETA);
}

/**
 * Tweedie's estimate of the clean latent, z0_hat = (z_t - sigma(t) eps) / mu(t), elementwise.
 * @param zt - noisy latents, any shape, length n
 * @param eps - predicted noise at (zt, t), length n
 * @param t - diffusion time in [0, 1]
 * @param out - optional output of length n (may alias `zt` or `eps`)
 * @returns z0_hat, length n
 */
export function tweedie(
  zt: Float32Array,
  eps: Float32Array,
  t: number,
  out: Float32Array = new Float32Array(zt.length),
): Float32Array {
  if (eps.length !== zt.length || out.length !== zt.length) {
    throw invalidArgument(
      'tweedie',
      `zt has length ${zt.length}, eps ${eps.length} and out ${out.length}; they must be equal`,
    );
  }
  const m = mu(t);
  const s = sigma(t);
  for (let i = 0; i < zt.length; i++) out[i] = ((zt[i] as number) - s * (eps[i] as number)) / m;
  return out;
}

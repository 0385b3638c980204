/** The score network's training data: (E(truth), E(48 h emulator background)) latent pairs of a period. */
import type { ParamMap } from '@alignda/graph';
import { emulatorForecasts, encodeStates } from '@alignda/nn';
import type { EmulatorConfig, VaeConfig } from '@alignda/nn';
import type { Tensor } from '@alignda/tensor';

import { BACKGROUND_LEAD_STEPS } from './presets.js';

/**
 * Truth latents E(x_t) and background latents E(x_b,t), x_b,t the emulator's 48 h forecast from x_(t-48h), for
 * every t of the period with its start 48 h inside it. `hours`: UTC hour of each state (an emulator with solar
 * forcing needs them).
 * @param states - the period's normalised states, [T, C, H, W]
 */
export async function latentPairs(
  vae: { config: VaeConfig; params: ParamMap },
  emulator: { config: EmulatorConfig; params: ParamMap },
  states: Tensor<Float32Array>,
  hours: ArrayLike<number> | undefined,
  progress: (stage: string, f: number) => void,
  label: string,
): Promise<{ z: Tensor<Float32Array>; zb: Tensor<Float32Array> }> {
  const T = states.shape[0] as number;
  const size = states.data.length / T;
  const bg = await emulatorForecasts(emulator.config, emulator.params, states, BACKGROUND_LEAD_STEPS, {
    onProgress: (f) => progress(`backgrounds (${label})`, f),
    ...(hours === undefined ? {} : { hours }),
  });
  const truth = { data: states.data.subarray(BACKGROUND_LEAD_STEPS * size), shape: bg.shape };
  const z = await encodeStates(vae.config, vae.params, truth, {
    onProgress: (f) => progress(`encode truth (${label})`, f),
  });
  const zb = await encodeStates(vae.config, vae.params, bg, {
    onProgress: (f) => progress(`encode backgrounds (${label})`, f),
  });
  return { z, zb };
}

/** The score network's training data: (E(truth), E(48 h background)) latent pairs of a period. */
import type { ParamMap } from '@alignda/graph';
import { emulatorForecasts, encodeStates } from '@alignda/nn';
import type { EmulatorConfig, VaeConfig } from '@alignda/nn';
import { denormalise, normalise } from '@alignda/tensor';
import type { NormStats, Tensor } from '@alignda/tensor';
import { forecastModel, sourceStepHours } from '@alignda/world';
import type { DaSource } from '@alignda/world';

import { BACKGROUND_LEAD_STEPS } from './presets.js';

/** Makes the 48 h backgrounds of a period's states: entry t is the forecast from state t, valid at t + 48 h. */
export type BackgroundMaker = (
  states: Tensor<Float32Array>,
  hours: ArrayLike<number> | undefined,
  onProgress: (f: number) => void,
) => Promise<Tensor<Float32Array>>;

/** Backgrounds from the trained emulator (batched frozen sessions). */
export function emulatorBackgrounds(emulator: { config: EmulatorConfig; params: ParamMap }): BackgroundMaker {
  return (states, hours, onProgress) =>
    emulatorForecasts(emulator.config, emulator.params, states, BACKGROUND_LEAD_STEPS, {
      onProgress,
      ...(hours === undefined ? {} : { hours }),
    });
}

/**
 * Backgrounds from the imperfect physical model of the synthetic world (the forecast model of the 3D-Var OSSE),
 * run on the de-normalised states and normalised back.
 */
export function modelBackgrounds(
  src: Pick<DaSource, 'field' | 'shape' | 'stepHours'>,
  norm: NormStats,
  start: number,
): BackgroundMaker {
  const model = forecastModel();
  return (states, _hours, onProgress) => {
    const T = states.shape[0] as number;
    const size = states.data.length / T;
    const n = Math.max(0, T - BACKGROUND_LEAD_STEPS);
    const out = new Float32Array(n * size);
    for (let t = 0; t < n; t++) {
      const x = denormalise(
        { data: states.data.slice(t * size, (t + 1) * size), shape: src.shape },
        norm,
      ).data;
      const first = src.field(start + t);
      const end =
        model.forecast({ ...first, data: x }, BACKGROUND_LEAD_STEPS * sourceStepHours(src)).at(-1) ?? first;
      out.set(normalise({ data: end.data, shape: src.shape }, norm).data, t * size);
      onProgress((t + 1) / n);
    }
    return Promise.resolve({ data: out, shape: [n, ...src.shape] });
  };
}

/**
 * Truth latents E(x_t) and background latents E(x_b,t), x_b,t the 48 h forecast from x_(t-48h), for every t of the
 * period with its start 48 h inside it. `hours`: UTC hour of each state (an emulator with solar forcing needs them).
 * @param states - the period's normalised states, [T, C, H, W]
 */
export async function latentPairs(
  vae: { config: VaeConfig; params: ParamMap },
  backgrounds: BackgroundMaker,
  states: Tensor<Float32Array>,
  hours: ArrayLike<number> | undefined,
  progress: (stage: string, f: number) => void,
  label: string,
): Promise<{ z: Tensor<Float32Array>; zb: Tensor<Float32Array> }> {
  const T = states.shape[0] as number;
  const size = states.data.length / T;
  const bg = await backgrounds(states, hours, (f) => progress(`backgrounds (${label})`, f));
  const truth = { data: states.data.subarray(BACKGROUND_LEAD_STEPS * size), shape: bg.shape };
  const z = await encodeStates(vae.config, vae.params, truth, {
    onProgress: (f) => progress(`encode truth (${label})`, f),
  });
  const zb = await encodeStates(vae.config, vae.params, bg, {
    onProgress: (f) => progress(`encode backgrounds (${label})`, f),
  });
  return { z, zb };
}

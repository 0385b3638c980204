/**
 * Held-out skill of trained models, in normalised units: VAE reconstruction MSE against the data variance, and
 * the emulator's multi-step (48 h = 8 steps) rollout MSE against persistence.
 */
import { AppError } from '@alignda/errors';
import { createSession, exportInference } from '@alignda/graph';
import type { ReadonlyParamMap } from '@alignda/graph';
import type { Tensor } from '@alignda/tensor';

import { buildEmulatorRollout } from '../emulator.js';
import type { EmulatorConfig } from '../emulator.js';
import { pickParams } from '../model.js';
import { buildVaeDecode, buildVaeEncode } from '../vae.js';
import type { VaeConfig } from '../vae.js';
import { emulatorHours } from './data.js';

/** VAE reconstruction of held-out states. */
export interface VaeSkill {
  /** Mean squared error of decode(encode(x)) (posterior mean), normalised units. */
  readonly mse: number;
  /** Mean of x^2: the MSE of predicting the train climatology (about 1 by construction of the normalisation). */
  readonly variance: number;
  /** Number of states. */
  readonly count: number;
}

/** Emulator forecast skill over a lead time. */
export interface EmulatorSkill {
  /** MSE of the `leadSteps`-step rollout against the truth, normalised units. */
  readonly mse: number;
  /** MSE of persistence (the start state) at the same lead. */
  readonly persistence: number;
  /** Number of forecast cases. */
  readonly cases: number;
}

/** Per-element weights 1 (valid) / 0 (padded) of one `[C, H, W]` state from an `[H, W]` mask; none: all 1. */
function cellWeights(
  mask: Uint8Array | undefined,
  size: number,
): { w: Float32Array | undefined; count: number } {
  if (mask === undefined) return { w: undefined, count: size };
  if (size % mask.length !== 0)
    throw new AppError(
      'INVALID_ARGUMENT',
      `evaluate: a mask of ${mask.length} cells does not tile a state of ${size} values`,
    );
  const w = new Float32Array(size);
  let count = 0;
  for (let i = 0; i < size; i++) {
    const v = mask[i % mask.length] ? 1 : 0;
    w[i] = v;
    count += v;
  }
  if (count === 0) throw new AppError('INVALID_ARGUMENT', 'evaluate: the mask has no valid cell');
  return { w, count };
}

function sqErr(a: Float32Array, b: Float32Array, w?: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++)
    s += (w === undefined ? 1 : (w[i] as number)) * ((a[i] as number) - (b[i] as number)) ** 2;
  return s;
}

/**
 * Encodes (posterior mean) and decodes each state of `states` `[T, C, H, W]` (normalised) with frozen weights;
 * with `mask` (valid cells `[H, W]`) the errors and the variance are averaged over valid cells only.
 * @param params - a full VAE parameter map (`enc.*` and `dec.*`)
 */
export async function evaluateVae(
  cfg: VaeConfig,
  params: ReadonlyParamMap,
  states: Tensor<Float32Array>,
  options: { readonly mask?: Uint8Array } = {},
): Promise<VaeSkill> {
  const one = { ...cfg, batch: 1 };
  const encG = buildVaeEncode(one);
  const decG = buildVaeDecode(one);
  const enc = await createSession(exportInference(encG, pickParams(encG, params)));
  const dec = await createSession(exportInference(decG, pickParams(decG, params)));
  const T = states.shape[0] as number;
  const size = states.data.length / T;
  const { w, count } = cellWeights(options.mask, size);
  let se = 0;
  let ss = 0;
  for (let t = 0; t < T; t++) {
    const x = states.data.subarray(t * size, (t + 1) * size); // [1, C, H, W]
    const { z } = await enc.run({ x: x.slice() }, ['z']);
    const { x: xhat } = await dec.run({ z: z?.data as Float32Array }, ['x']);
    se += sqErr(xhat?.data as Float32Array, x, w);
    for (let i = 0; i < size; i++) ss += (w === undefined ? 1 : (w[i] as number)) * (x[i] as number) ** 2;
  }
  return { mse: se / (T * count), variance: ss / (T * count), count: T };
}

/**
 * Rolls the emulator out `leadSteps` steps from states of `states` `[T, C, H, W]` (normalised, consecutive 6-hourly)
 * and compares with the state `leadSteps` later; starts every `stride` states, at most `maxCases`. `hours` (UTC
 * hour of each of the `T` states) is required when the emulator has solar forcing.
 */
export async function evaluateEmulator(
  cfg: EmulatorConfig,
  params: ReadonlyParamMap,
  states: Tensor<Float32Array>,
  options: {
    readonly leadSteps?: number;
    readonly stride?: number;
    readonly maxCases?: number;
    readonly hours?: ArrayLike<number>;
    /** Valid cells `[H, W]` (padded datasets): errors are averaged over these only. @defaultValue all */
    readonly mask?: Uint8Array;
  } = {},
): Promise<EmulatorSkill> {
  const lead = options.leadSteps ?? 8;
  const stride = options.stride ?? 4;
  const maxCases = options.maxCases ?? Infinity;
  const T = states.shape[0] as number;
  if (T <= lead)
    throw new AppError('INVALID_ARGUMENT', `evaluateEmulator: ${T} states leave no ${lead}-step case`);
  const hours = emulatorHours('evaluateEmulator', cfg, options.hours, T);
  const g = buildEmulatorRollout({ ...cfg, batch: 1 }, lead);
  const roll = await createSession(exportInference(g, pickParams(g, params)));
  const size = states.data.length / T;
  const { w, count } = cellWeights(options.mask, size);
  let se = 0;
  let sp = 0;
  let cases = 0;
  for (let t = 0; t + lead < T && cases < maxCases; t += stride) {
    const x = states.data.slice(t * size, (t + 1) * size); // [1, C, H, W]
    const truth = states.data.subarray((t + lead) * size, (t + lead + 1) * size);
    const feeds: Record<string, Float32Array> = { x };
    if (hours !== undefined) feeds.hour = Float32Array.of(hours[t] as number);
    const { y } = await roll.run(feeds, ['y']);
    se += sqErr(y?.data as Float32Array, truth, w);
    sp += sqErr(x, truth, w);
    cases += 1;
  }
  return { mse: se / (cases * count), persistence: sp / (cases * count), cases };
}

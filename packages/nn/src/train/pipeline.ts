/**
 * The inference steps between trainings (METHOD.md section 2): backgrounds as `leadSteps`-step emulator forecasts
 * from the truth `leadSteps` states earlier, and latents as VAE posterior means, both run with frozen weights in
 * fixed-size batches (the graphs have static shapes; the last batch is padded and the padding dropped).
 */
import { AppError } from '@alignda/errors';
import { createSession, exportInference } from '@alignda/graph';
import type { ReadonlyParamMap, Session } from '@alignda/graph';
import { fitNormStats } from '@alignda/tensor';
import type { NormStats, Tensor } from '@alignda/tensor';

import { buildEmulatorRollout } from '../emulator.js';
import type { EmulatorConfig } from '../emulator.js';
import { pickParams } from '../model.js';
import { buildVaeEncode, vaeLatentShape } from '../vae.js';
import type { VaeConfig } from '../vae.js';
import { emulatorHours } from './data.js';

/** Options of the batched runs. */
export interface BatchedRunOptions {
  /** Samples per session call. @defaultValue 16 — amortises the per-call overhead; larger gains nothing on one core */
  readonly batch?: number;
  /** Called after each call with the fraction done. */
  readonly onProgress?: (fraction: number) => void;
}

/** A per-sample scalar input `[batch]` of a batched run (the emulator's `hour`); padding slots get 0. */
interface ScalarFeed {
  readonly name: string;
  readonly value: (i: number) => number;
}

/**
 * Runs a one-input (plus an optional per-sample scalar), one-output frozen session over `count` samples taken by
 * `sample(i)` (each `inSize` long), `batch` at a time, and returns the outputs stacked `[count, outSize]`.
 */
async function runBatched(
  session: Session,
  names: { readonly input: string; readonly output: string },
  count: number,
  inSize: number,
  outSize: number,
  batch: number,
  sample: (i: number) => Float32Array,
  onProgress?: (fraction: number) => void,
  scalar?: ScalarFeed,
): Promise<Float32Array> {
  const out = new Float32Array(count * outSize);
  const feed = new Float32Array(batch * inSize);
  const scalars = new Float32Array(batch);
  for (let first = 0; first < count; first += batch) {
    const n = Math.min(batch, count - first);
    feed.fill(0);
    scalars.fill(0);
    for (let b = 0; b < n; b++) {
      feed.set(sample(first + b), b * inSize);
      if (scalar !== undefined) scalars[b] = scalar.value(first + b);
    }
    const feeds =
      scalar === undefined ? { [names.input]: feed } : { [names.input]: feed, [scalar.name]: scalars };
    const res = await session.run(feeds, [names.output]);
    const data = res[names.output]?.data;
    if (!(data instanceof Float32Array) || data.length !== batch * outSize)
      throw new AppError(
        'INTERNAL',
        `pipeline: session returned no float32 '${names.output}' of ${batch * outSize} values`,
      );
    out.set(data.subarray(0, n * outSize), first * outSize);
    onProgress?.((first + n) / count);
  }
  return out;
}

function sizeOf(states: Tensor<Float32Array>): { T: number; size: number } {
  const T = states.shape[0] as number;
  if (!(T > 0))
    throw new AppError('INVALID_ARGUMENT', `pipeline: empty state stack [${states.shape.join(', ')}]`);
  return { T, size: states.data.length / T };
}

/**
 * Backgrounds for states `leadSteps .. T-1` of `states` `[T, C, H, W]` (normalised, consecutive 6-hourly): entry k
 * is the emulator's `leadSteps`-step forecast from state k, valid at state k + leadSteps.
 * @param options.hours - UTC hour of each of the `T` states; required when the emulator has solar forcing
 * @returns `[T - leadSteps, C, H, W]`, normalised like `states`
 */
export async function emulatorForecasts(
  cfg: EmulatorConfig,
  params: ReadonlyParamMap,
  states: Tensor<Float32Array>,
  leadSteps: number,
  options: BatchedRunOptions & { readonly hours?: ArrayLike<number> } = {},
): Promise<Tensor<Float32Array>> {
  const { T, size } = sizeOf(states);
  if (!Number.isInteger(leadSteps) || leadSteps < 1 || leadSteps >= T)
    throw new AppError(
      'INVALID_ARGUMENT',
      `emulatorForecasts: lead ${leadSteps} steps leaves no case in ${T} states`,
    );
  if (size !== cfg.channels * cfg.height * cfg.width)
    throw new AppError(
      'INVALID_ARGUMENT',
      `emulatorForecasts: states [${states.shape.join(', ')}] do not fit the emulator's [${cfg.channels}, ${cfg.height}, ${cfg.width}]`,
    );
  const hours = emulatorHours('emulatorForecasts', cfg, options.hours, T);
  const batch = options.batch ?? 16;
  const g = buildEmulatorRollout({ ...cfg, batch }, leadSteps);
  const session = await createSession(exportInference(g, pickParams(g, params)));
  const count = T - leadSteps;
  const data = await runBatched(
    session,
    { input: 'x', output: 'y' },
    count,
    size,
    size,
    batch,
    (i) => states.data.subarray(i * size, (i + 1) * size),
    options.onProgress,
    hours === undefined ? undefined : { name: 'hour', value: (i) => hours[i] as number },
  );
  return { data, shape: [count, ...states.shape.slice(1)] };
}

/**
 * VAE posterior means of `states` `[T, C, H, W]` (normalised).
 * @returns `[T, Cz, H/4, W/4]`
 */
export async function encodeStates(
  cfg: VaeConfig,
  params: ReadonlyParamMap,
  states: Tensor<Float32Array>,
  options: BatchedRunOptions = {},
): Promise<Tensor<Float32Array>> {
  const { T, size } = sizeOf(states);
  if (size !== cfg.channels * cfg.height * cfg.width)
    throw new AppError(
      'INVALID_ARGUMENT',
      `encodeStates: states [${states.shape.join(', ')}] do not fit the VAE's [${cfg.channels}, ${cfg.height}, ${cfg.width}]`,
    );
  const batch = options.batch ?? 16;
  const g = buildVaeEncode({ ...cfg, batch });
  const session = await createSession(exportInference(g, pickParams(g, params)));
  const zShape = vaeLatentShape(cfg);
  const zSize = zShape[0] * zShape[1] * zShape[2];
  const data = await runBatched(
    session,
    { input: 'x', output: 'z' },
    T,
    size,
    zSize,
    batch,
    (i) => states.data.subarray(i * size, (i + 1) * size),
    options.onProgress,
  );
  return { data, shape: [T, ...zShape] };
}

/**
 * Per-channel statistics of latents `[T, Cz, h, w]`, channels named `z0`, `z1`, ...: the diffusion prior works on
 * latents standardised with them, so its unit-variance noise matches the data whatever scale the VAE chose
 * (the role of Stable Diffusion's latent scale factor, per channel).
 */
export function fitLatentNorm(z: Tensor<Float32Array>): NormStats {
  const C = z.shape[1] as number;
  return fitNormStats(z, { channels: Array.from({ length: C }, (_, c) => `z${c}`) });
}

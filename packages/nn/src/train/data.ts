/**
 * Training data from a nature run: a period's states stacked and normalised with statistics fit on the train
 * period, and the per-step batch functions of the VAE (states + reparameterisation noise) and the emulator
 * ((t, t + 6 h) pairs).
 */
import { mu, sigma } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { fitNormStats, normalise } from '@alignda/tensor';
import type { NormStats, Rng, Tensor } from '@alignda/tensor';
import type { StateSource } from '@alignda/world';

import { emulatorTakesHour } from '../emulator.js';
import type { EmulatorConfig } from '../emulator.js';
import type { ScoreConfig } from '../score.js';
import type { VaeConfig } from '../vae.js';
import { vaeLatentShape } from '../vae.js';
import type { Feeds } from './train-model.js';

/**
 * UTC hours of the states of a named period in stack order (entry k: state `start + k`), the `hours` of
 * {@link emulatorBatches} and the pipelines; undefined for a source without `hourOf`.
 */
export function periodHours(
  src: StateSource,
  period: keyof StateSource['periods'],
): Float32Array | undefined {
  const range = src.periods[period];
  if (range === undefined) throw new AppError('INVALID_ARGUMENT', `periodHours: no period '${period}'`);
  const hourOf = src.hourOf?.bind(src);
  if (hourOf === undefined) return undefined;
  const [start, end] = range;
  return Float32Array.from({ length: end - start }, (_, k) => hourOf(start + k));
}

/**
 * The hours an emulator is fed for a stack of `T` states: `hours` checked (length `T`, finite) when the config has
 * solar forcing, undefined when it has none (given hours are then unused).
 * @throws AppError `INVALID_ARGUMENT` when the config needs hours and none are given, or they do not fit the stack
 */
export function emulatorHours(
  where: string,
  cfg: EmulatorConfig,
  hours: ArrayLike<number> | undefined,
  T: number,
): ArrayLike<number> | undefined {
  if (!emulatorTakesHour(cfg)) return undefined;
  if (hours === undefined)
    throw new AppError(
      'INVALID_ARGUMENT',
      `${where}: the emulator has solar forcing (solarLonDeg) and needs the UTC hour of every state; none given`,
    );
  if (hours.length !== T)
    throw new AppError('INVALID_ARGUMENT', `${where}: ${hours.length} hours for ${T} states`);
  for (let i = 0; i < T; i++)
    if (!Number.isFinite(hours[i]))
      throw new AppError('INVALID_ARGUMENT', `${where}: hour ${i} is ${hours[i]}`);
  return hours;
}

/** States `[start, end)` stacked, shape `[T, C, H, W]`, in physical units. */
export function stackStates(src: StateSource, [start, end]: readonly [number, number]): Tensor<Float32Array> {
  if (!(Number.isInteger(start) && Number.isInteger(end) && end > start && start >= 0))
    throw new AppError('INVALID_ARGUMENT', `stackStates: empty or bad range [${start}, ${end})`);
  const first = src.state(start);
  const [C, H, W] = first.shape;
  const size = C * H * W;
  const data = new Float32Array((end - start) * size); // [T, C, H, W]
  data.set(first.data, 0);
  for (let i = start + 1; i < end; i++) data.set(src.state(i).data, (i - start) * size);
  return { data, shape: [end - start, C, H, W] };
}

/** Options of {@link fitTrainNorm}. */
export interface TrainNormOptions {
  /**
   * Centre every cell on its own train-period mean (a climatology, {@link NormStats.meanField}); the per-channel std
   * is unchanged, so normalised errors and observation noise mean what they meant. Real data have a fixed
   * geography (coasts, mountains) that an autoencoder otherwise has to reproduce from its latent: on ncep-air the
   * ci VAE then reconstructed the truth 1.4-1.9 K too cold at Seattle (a coastal cell beside the Cascades; per-cell
   * mean reconstruction biases of 0.5-0.65 K RMS over the grid), and every latent analysis inherited it. Centred on
   * the climatology, the same VAE's per-cell biases fall to 0.17-0.22 K RMS and Seattle's to 0.0-0.4 K.
   * @defaultValue true for a dataset (a source whose `kind` is `dataset`), false otherwise (the synthetic QG world
   *   is statistically homogeneous in longitude; its statistics stay as they were)
   */
  readonly climatology?: boolean;
}

/**
 * Per-channel mean and std of the `train` period (the statistics every model and metric normalises with), over the
 * valid cells; for real data also the per-cell train-period mean (see {@link TrainNormOptions.climatology}).
 */
export function fitTrainNorm(src: StateSource, options: TrainNormOptions = {}): NormStats {
  const climatology = options.climatology ?? (src as { readonly kind?: string }).kind === 'dataset';
  return fitNormStats(stackStates(src, src.periods.train), {
    channels: src.channels,
    ...(src.validMask === undefined ? {} : { mask: src.validMask }),
    ...(climatology ? { perCellMean: true } : {}),
  });
}

/** The states of a named period, normalised with `norm`, shape `[T, C, H, W]`. */
export function loadPeriod(
  src: StateSource,
  period: keyof StateSource['periods'],
  norm: NormStats,
): Tensor<Float32Array> {
  const range = src.periods[period];
  if (range === undefined) throw new AppError('INVALID_ARGUMENT', `loadPeriod: no period '${period}'`);
  return normalise(stackStates(src, range), norm);
}

/** Copies sample `i` of a `[T, ...]` stack into slot `b` of `out`. */
function copySample(
  out: Float32Array,
  b: number,
  states: Tensor<Float32Array>,
  i: number,
  size: number,
): void {
  out.set(states.data.subarray(i * size, (i + 1) * size), b * size);
}

function sampleSize(states: Tensor<Float32Array>): number {
  return states.data.length / (states.shape[0] as number);
}

/**
 * Batches of the VAE training graph: `x` = `cfg.batch` states drawn uniformly with replacement from `states`
 * `[T, C, H, W]` (normalised), `noise` = fresh N(0, 1) reparameterisation noise `[batch, Cz, H/4, W/4]`.
 */
export function vaeBatches(cfg: VaeConfig, states: Tensor<Float32Array>): (step: number, rng: Rng) => Feeds {
  const T = states.shape[0] as number;
  const size = sampleSize(states);
  if (size !== cfg.channels * cfg.height * cfg.width)
    throw new AppError(
      'INVALID_ARGUMENT',
      `vaeBatches: states [${states.shape.join(', ')}] do not fit the VAE's [${cfg.channels}, ${cfg.height}, ${cfg.width}]`,
    );
  const noiseSize = vaeLatentShape(cfg).reduce((a, d) => a * d, 1);
  return (_step, rng) => {
    const x = new Float32Array(cfg.batch * size); // [N, C, H, W]
    for (let b = 0; b < cfg.batch; b++) copySample(x, b, states, rng.int(T), size);
    const noise = rng.fillNormal(new Float32Array(cfg.batch * noiseSize)); // [N, Cz, H/4, W/4]
    return { x, noise };
  };
}

/**
 * Batches of the emulator training graph: `cfg.batch` pairs (`x` = state t, `y` = state t + 1, 6 h later) with t
 * uniform over the stack's first `T - 1` states, so both ends of a pair lie in the period; with solar forcing
 * also `hour` `[N]` = `hours[t]`, the start state's UTC hour.
 * @param hours - UTC hour of each state of the stack (see {@link periodHours}); required with forcing
 */
export function emulatorBatches(
  cfg: EmulatorConfig,
  states: Tensor<Float32Array>,
  hours?: ArrayLike<number>,
): (step: number, rng: Rng) => Feeds {
  const T = states.shape[0] as number;
  const size = sampleSize(states);
  if (T < 2) throw new AppError('INVALID_ARGUMENT', `emulatorBatches: need at least 2 states, got ${T}`);
  if (size !== cfg.channels * cfg.height * cfg.width)
    throw new AppError(
      'INVALID_ARGUMENT',
      `emulatorBatches: states [${states.shape.join(', ')}] do not fit the emulator's [${cfg.channels}, ${cfg.height}, ${cfg.width}]`,
    );
  const clock = emulatorHours('emulatorBatches', cfg, hours, T);
  return (_step, rng): Feeds => {
    const x = new Float32Array(cfg.batch * size); // [N, C, H, W]
    const y = new Float32Array(cfg.batch * size); // [N, C, H, W]
    const hour = new Float32Array(cfg.batch); // [N]
    for (let b = 0; b < cfg.batch; b++) {
      const t = rng.int(T - 1);
      copySample(x, b, states, t, size);
      copySample(y, b, states, t + 1, size);
      if (clock !== undefined) hour[b] = clock[t] as number;
    }
    return clock === undefined ? { x, y } : { x, y, hour };
  };
}

/**
 * Batches of the score network's denoising score matching (METHOD.md section 2, item 2): for `cfg.batch` pairs
 * (z, z_b) drawn uniformly with replacement, t ~ U(0, 1), eps ~ N(0, I) and z_t = mu(t) z + sigma(t) eps, with
 * mu and sigma of packages/da's cosine VP schedule (the sampler's). Feeds `z_t`, `t`, `z_b`, `eps`.
 * @param z - latents of the truth `[T, Cz, h, w]` (standardised)
 * @param zb - latents of the backgrounds valid at the same times, same shape
 */
export function scoreBatches(
  cfg: ScoreConfig,
  z: Tensor<Float32Array>,
  zb: Tensor<Float32Array>,
): (step: number, rng: Rng) => Feeds {
  const T = z.shape[0] as number;
  const size = sampleSize(z);
  if (z.shape.join() !== zb.shape.join())
    throw new AppError(
      'INVALID_ARGUMENT',
      `scoreBatches: truth latents [${z.shape.join(', ')}] vs backgrounds [${zb.shape.join(', ')}]`,
    );
  if (
    size !== cfg.latentShape.reduce((a, d) => a * d, 1) ||
    z.shape.slice(1).join() !== cfg.latentShape.join()
  )
    throw new AppError(
      'INVALID_ARGUMENT',
      `scoreBatches: latents [${z.shape.join(', ')}] do not fit the score network's [${cfg.latentShape.join(', ')}]`,
    );
  return (_step, rng) => {
    const n = cfg.batch;
    const zt = new Float32Array(n * size); // [N, Cz, h, w]
    const zbOut = new Float32Array(n * size); // [N, Cz, h, w]
    const eps = rng.fillNormal(new Float32Array(n * size)); // [N, Cz, h, w]
    const t = new Float32Array(n); // [N]
    for (let b = 0; b < n; b++) {
      const i = rng.int(T);
      t[b] = rng.uniform();
      const tb = t[b] as number; // the float32 time the network is fed, so z_t is exactly the pair (t, eps)'s
      const m = mu(tb);
      const s = sigma(tb);
      const o = b * size;
      for (let j = 0; j < size; j++)
        zt[o + j] = m * (z.data[i * size + j] as number) + s * (eps[o + j] as number);
      copySample(zbOut, b, zb, i, size);
    }
    return { z_t: zt, t, z_b: zbOut, eps };
  };
}

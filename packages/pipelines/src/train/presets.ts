/**
 * Training presets: per-preset run lengths (the nets' sizes come from packages/nn's presets of the same name) and
 * the model configurations fitted to a source's state shape.
 */
import { EMULATOR_PRESETS, SCORE_PRESETS, VAE_PRESETS, vaeLatentShape } from '@alignda/nn';
import type { EmulatorConfig, ScoreConfig, VaeConfig } from '@alignda/nn';

/** Per-preset run lengths. */
export const TRAIN_PRESETS = {
  ci: {
    /** 0.5 simulated years: ~510 train states, generated in well under a minute. */
    years: 0.5,
    /**
     * ~25 ms per VAE step and ~8 ms per emulator step at batch 4: under a minute of training in all. 3000 emulator
     * steps fit one step better but rolled out worse at 48 h (0.44 vs 0.38 of persistence's MSE).
     */
    vae: { steps: 1500, peakLr: 3e-3 },
    emulator: { steps: 1000, peakLr: 3e-3 },
    score: { steps: 2000, peakLr: 3e-3 },
  },
  small: {
    /** One simulated year: ~1020 train states (the QG world has no seasons, so a year is plenty). */
    years: 1,
    /** ~0.4 s per VAE step and ~0.25 s per emulator step at batch 16: under an hour on one core. */
    vae: { steps: 5000, peakLr: 1e-3 },
    emulator: { steps: 3000, peakLr: 1e-3 },
    score: { steps: 4000, peakLr: 1e-3 },
  },
  full: {
    /** Four simulated years (~4100 train states): the larger nets overfit one year. Sized for a GPU worker. */
    years: 4,
    vae: { steps: 20000, peakLr: 5e-4 },
    emulator: { steps: 12000, peakLr: 5e-4 },
    score: { steps: 20000, peakLr: 5e-4 },
  },
} as const;

export type Preset = keyof typeof TRAIN_PRESETS;
export const PRESETS = Object.keys(TRAIN_PRESETS) as Preset[];

/** The three models of a latent DA system, in training order. */
export const MODEL_NAMES = ['vae', 'emulator', 'score'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** Background lead time in 6-hourly steps (48 h, METHOD.md section 1). */
export const BACKGROUND_LEAD_STEPS = 8;

/** EMA decay of the score network's weights (the sampler uses the average, as ADM and EDM do). */
export const SCORE_EMA_DECAY = 0.999;

/**
 * The name of a source's model set for a preset and background kind, `<source>-<preset>-<background>` (the model
 * store's folder name), so that sets trained on model and on emulator backgrounds coexist.
 */
export function modelSetName(source: string, preset: string, background: string): string {
  return `${source}-${preset}-${background}`;
}

/**
 * A preset's model configurations fitted to a source's state shape (a one-variable field gets 4 latent channels).
 * `solarLonDeg` (the grid's longitudes, given for real datasets) turns on the emulator's solar forcing; the
 * synthetic world has no diurnal cycle and passes none, so its configs stay the presets' own.
 */
export function presetConfigs(
  preset: Preset,
  shape: readonly [number, number, number],
  solarLonDeg?: readonly number[],
): { vae: VaeConfig; emulator: EmulatorConfig; score: ScoreConfig } {
  const [channels, height, width] = shape;
  const base = VAE_PRESETS[preset];
  const vae: VaeConfig =
    channels === base.channels && height === base.height && width === base.width
      ? base
      : { ...base, channels, height, width, latentChannels: channels < 4 ? 4 : base.latentChannels };
  const emuBase = EMULATOR_PRESETS[preset];
  const sameShape = channels === emuBase.channels && height === emuBase.height && width === emuBase.width;
  const emulator: EmulatorConfig =
    solarLonDeg !== undefined
      ? { ...emuBase, channels, height, width, solarLonDeg: Array.from(solarLonDeg) }
      : sameShape
        ? emuBase
        : { ...emuBase, channels, height, width };
  const latentShape = vaeLatentShape(vae);
  const scoreBase = SCORE_PRESETS[preset];
  const score: ScoreConfig =
    latentShape.join() === scoreBase.latentShape.join() ? scoreBase : { ...scoreBase, latentShape };
  return { vae, emulator, score };
}

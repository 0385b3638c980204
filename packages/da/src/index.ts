export { SCHEDULE_ETA, alpha, mu, sigma, tweedie } from './schedule.js';
export type {
  MaybePromise,
  Denoiser,
  Decoder,
  Encoder,
  DecodedTweedieVjp,
  ObservationOperator,
  Observations,
} from './ports.js';
export { validateObservations, griddedObservations, selectionOperator } from './observations.js';
export type { GriddedObservationInput } from './observations.js';
export { sample } from './sampler.js';
export type { SampleOptions } from './sampler.js';
export type { Guidance, StepContext } from './guidance/guidance.js';
export { obsFree } from './guidance/obs-free.js';
export { exactGaussianGuidance } from './guidance/exact-gaussian.js';
export { dps, dpsGradient } from './guidance/dps.js';
export type { DpsOptions, DpsGradient } from './guidance/dps.js';
export { repaint } from './guidance/repaint.js';
export type { RepaintOptions } from './guidance/repaint.js';
export { createGaussianPrior, denseOperator } from './gaussian-prior.js';
export type { GaussianPrior } from './gaussian-prior.js';
export { memberSeed } from './internal/seeds.js';

import { GraphError } from '../errors.js';

/** A learning-rate schedule: the rate for the step with 0-based index `step`. */
export type LrSchedule = (step: number) => number;

/** Parameters of {@link warmupCosineLr}. */
export interface WarmupCosineOptions {
  /** The rate reached at the end of the warm-up, > 0. */
  readonly peakLr: number;
  /**
   * Number of warm-up steps: the rate rises linearly, `peakLr * (step + 1) / warmupSteps`, so the
   * first step already moves and step `warmupSteps - 1` uses `peakLr`.
   * @defaultValue 0 — no warm-up
   */
  readonly warmupSteps?: number;
  /** Step at which the cosine decay reaches `minLr`; the rate stays at `minLr` afterwards. */
  readonly totalSteps: number;
  /**
   * The floor of the decay.
   * @defaultValue 0.1 * peakLr — Chinchilla's and nanoGPT's choice, so late steps still learn
   */
  readonly minLr?: number;
}

/**
 * Linear warm-up then cosine decay to a floor (Loshchilov & Hutter, "SGDR: Stochastic Gradient
 * Descent with Warm Restarts", ICLR 2017, eq. 5, one cycle, no restart; warm-up as Goyal et al. 2017):
 *
 *   step < W:        peak (step + 1) / W
 *   W <= step <= T:  min + (peak - min) (1 + cos(pi (step - W) / (T - W))) / 2
 *   step > T:        min
 *
 * Pure, and monotone: non-decreasing up to step W, non-increasing after.
 * @param step - 0-based step index, a non-negative integer
 * @param options - see {@link WarmupCosineOptions}
 */
export function warmupCosineLr(step: number, options: WarmupCosineOptions): number {
  const { peakLr, totalSteps } = options;
  const warmupSteps = options.warmupSteps ?? 0;
  const minLr = options.minLr ?? 0.1 * peakLr;
  if (!Number.isInteger(step) || step < 0)
    throw new GraphError('INVALID_OPTION', `warmupCosineLr: step must be an integer >= 0, got ${step}`);
  if (step < warmupSteps) return (peakLr * (step + 1)) / warmupSteps;
  if (step >= totalSteps) return minLr;
  const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
  return minLr + 0.5 * (peakLr - minLr) * (1 + Math.cos(Math.PI * progress));
}

/**
 * Validates `options` once and returns the schedule as a function of the step.
 * @param options - see {@link WarmupCosineOptions}
 */
export function warmupCosineSchedule(options: WarmupCosineOptions): LrSchedule {
  const { peakLr, totalSteps } = options;
  const warmupSteps = options.warmupSteps ?? 0;
  const minLr = options.minLr ?? 0.1 * peakLr;
  if (!(peakLr > 0) || !Number.isFinite(peakLr))
    throw new GraphError(
      'INVALID_OPTION',
      `warmupCosineSchedule: peakLr must be finite and > 0, got ${peakLr}`,
    );
  if (!(minLr >= 0 && minLr <= peakLr)) {
    throw new GraphError(
      'INVALID_OPTION',
      `warmupCosineSchedule: minLr must be in [0, peakLr = ${peakLr}], got ${minLr}`,
    );
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) {
    throw new GraphError(
      'INVALID_OPTION',
      `warmupCosineSchedule: warmupSteps must be an integer >= 0, got ${warmupSteps}`,
    );
  }
  if (!Number.isInteger(totalSteps) || totalSteps < warmupSteps) {
    throw new GraphError(
      'INVALID_OPTION',
      `warmupCosineSchedule: totalSteps must be an integer >= warmupSteps = ${warmupSteps}, got ${totalSteps}`,
    );
  }
  const resolved: WarmupCosineOptions = { peakLr, warmupSteps, totalSteps, minLr };
  return (step) => warmupCosineLr(step, resolved);
}

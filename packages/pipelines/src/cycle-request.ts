/**
 * The request of one continuous cycle (issue 14, item 2): which world and seeds, which methods, how many steps of how
 * many hours, and how fast. The one schema the doors read — `POST /v1/cycles` validates bodies with it and the cycle
 * service reads the stored settings with it; `alignda cycle` builds the same options through {@link cycleOptionsOf} —
 * so a cycle over HTTP and `alignda cycle` with the same values give the same series.
 */
import { AppError } from '@alignda/errors';
import { WORLDS } from '@alignda/world';
import { z } from 'zod';

import { cycleStatesNeeded } from './cycle.js';
import { resolveCycleOptions } from './cycle-options.js';
import { CYCLE_FORECASTS, CYCLE_LATENT_PRIORS, CYCLE_METHODS, DEFAULT_CYCLE_METHODS } from './cycle-types.js';
import type { CycleOptions } from './cycle-types.js';
import { DEFAULT_OBS_FRACTION } from './observe.js';
import { PRESETS } from './train/presets.js';

/** Most steps one cycle runs: 100,000 six-hour steps is 68 years. */
export const MAX_CYCLE_STEPS = 100_000;

/**
 * How a cycle's steps follow each other: `simulated` runs the next step as soon as one ends (a nature run's time),
 * `wall-clock` one step per interval of real time.
 */
export const CYCLE_PACES = ['simulated', 'wall-clock'] as const;
export type CyclePace = (typeof CYCLE_PACES)[number];

const seed = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

/** The request schema; every field has the default `alignda cycle` has. */
export const cycleRequestSchema = z.strictObject({
  /** A unique name for the cycle (lower-case letters, digits, dashes); generated when absent. */
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be 1 to 64 lower-case letters, digits and dashes')
    .optional(),
  /** The synthetic world whose nature run is the truth. */
  world: z.enum(WORLDS).default('qg'),
  /** Seed of the scored nature run (never trained on). */
  seed: seed.default(2),
  /** Seed of the training nature run: B is fitted and every method tuned on it. */
  trainSeed: seed.default(1),
  /** Model preset: the training run's length and the model folder of the latent methods. */
  preset: z.enum(PRESETS).default('small'),
  methods: z
    .array(z.enum(CYCLE_METHODS))
    .min(1)
    .max(CYCLE_METHODS.length)
    .default([...DEFAULT_CYCLE_METHODS]),
  /** Steps (analyses) to run. */
  cycles: z.number().int().min(1).max(MAX_CYCLE_STEPS).default(120),
  /** Hours between analyses, a multiple of the nature run's 6 h. */
  intervalHours: z.number().int().positive().multipleOf(6).max(240).default(6),
  forecast: z.enum(CYCLE_FORECASTS).default('model'),
  /** Ensemble size of the LETKF and hybrid EnVar. */
  members: z.number().int().min(2).max(256).default(16),
  /** Members per latent analysis (their mean is carried). */
  latentMembers: z.number().int().min(1).max(64).default(4),
  latentPrior: z.enum(CYCLE_LATENT_PRIORS).optional(),
  /** Share of single values observed each step. */
  obsFraction: z.number().gt(0).max(1).default(DEFAULT_OBS_FRACTION),
  /** Observation noise std, normalised units. */
  noise: z.number().min(0).max(10).default(0.02),
  /** Lead-time forecasts every k steps (0: none). */
  skillEvery: z.number().int().min(0).max(MAX_CYCLE_STEPS).default(12),
  /** Seed of every random draw (observations, initial state, ensembles). */
  sampleSeed: seed.default(7),
  pace: z.enum(CYCLE_PACES).default('simulated'),
  /** The state of the scored run the cycle starts from (its first analysis is one interval later). */
  start: z.number().int().min(0).max(10_000_000).default(0),
  /**
   * Set on the streams of a reanalysis (POST /v1/reanalyses): from state `keepFrom` on, each step's analysis of the
   * first method is written into the reanalysis' Zarr store at time index (state - storeStart) / stepsPerInterval.
   */
  reanalysis: z
    .strictObject({
      id: z.uuid(),
      stream: z.number().int().min(0),
      keepFrom: z.number().int().min(0),
      storeStart: z.number().int().min(0),
      /** Times in the store: states storeStart, storeStart + one interval, ... */
      storeLength: z.number().int().min(1),
    })
    .optional(),
  /**
   * The model version (score prior) the latent methods and the emulator forecast use: the line's active version at
   * each step, so that a promotion reaches the cycle at its next step. @defaultValue the preset's model folder
   */
  modelVersion: z.uuid().optional(),
  /** Years of the scored nature run to open. @defaultValue just enough for this cycle ({@link cycleSourceYears}) */
  sourceYears: z.number().positive().max(1000).optional(),
  /**
   * The baselines' tuning grids and the setup's sizes (docs/METHOD.md section 7: every method tuned on the training
   * run's alignment period). Absent fields keep the pipeline's defaults, those of `alignda cycle`.
   */
  tuning: z
    .strictObject({
      pairs48: z.number().int().min(2).max(10_000),
      offlineCycles: z.number().int().min(3).max(10_000),
      offlineBurnIn: z.number().int().min(0).max(10_000),
      tuneCycles: z.number().int().min(2).max(10_000),
      lengthScalesKm: z.array(z.number().positive()).min(1).max(32),
      multipliers: z.array(z.number().positive()).min(1).max(32),
      inflations: z.array(z.number().min(1)).min(1).max(32),
      rtps: z.array(z.number().min(0).max(1)).min(1).max(32),
      halfWidthsKm: z.array(z.number().positive()).min(1).max(32),
      hybridWeights: z.array(z.number().min(0).max(1)).min(1).max(32),
      hybridHalfWidthsKm: z.array(z.number().positive()).min(1).max(32),
      maxLeadHours: z.number().int().positive().max(10_000),
      cgTol: z.number().positive().max(1),
    })
    .partial()
    .optional(),
});

/** A cycle request, defaults applied. */
export type CycleRequest = z.output<typeof cycleRequestSchema>;
/** A cycle request as sent. */
export type CycleRequestInput = z.input<typeof cycleRequestSchema>;

/** The pipeline's options for a request (what `alignda cycle` builds from its flags). */
export function cycleOptionsOf(
  r: Omit<CycleRequest, 'name' | 'world' | 'preset' | 'pace' | 'start' | 'reanalysis'> & {
    readonly start?: number;
  },
): CycleOptions {
  return {
    methods: r.methods,
    cycles: r.cycles,
    intervalHours: r.intervalHours,
    forecast: r.forecast,
    members: r.members,
    latentMembers: r.latentMembers,
    ...(r.latentPrior === undefined ? {} : { latentPrior: r.latentPrior }),
    obsFraction: r.obsFraction,
    noiseStd: r.noise,
    skillEvery: r.skillEvery,
    seed: r.sampleSeed,
    ...(r.start === undefined || r.start === 0 ? {} : { start: r.start }),
    ...r.tuning,
  };
}

/**
 * Parses and checks a request: the schema, then the options as the pipeline resolves them (a latent method without
 * a prior, a lead time that is not a multiple of the interval...).
 * @throws AppError `INVALID_ARGUMENT` naming the first bad field
 */
export function parseCycleRequest(body: unknown): CycleRequest {
  const parsed = cycleRequestSchema.safeParse(body);
  if (!parsed.success) {
    const iss = parsed.error.issues[0];
    const where = iss === undefined || iss.path.length === 0 ? 'the request' : iss.path.join('.');
    throw new AppError('INVALID_ARGUMENT', `cycle: ${where}: ${iss?.message ?? 'is invalid'}`);
  }
  const r = parsed.data;
  if (r.seed === r.trainSeed)
    throw new AppError(
      'INVALID_ARGUMENT',
      `cycle: seed ${r.seed} is the training run's seed: cycle on a nature run never trained on (e.g. seed ${r.trainSeed + 1})`,
    );
  resolveCycleOptions(cycleOptionsOf(r));
  return r;
}

/**
 * Years of the scored nature run a cycle opens by default: just long enough for its steps and skill forecasts, in
 * twentieths of a year (so that the cycle service and `alignda cycle` open the same run).
 */
export function cycleSourceYears(options: CycleOptions): number {
  return Math.ceil((cycleStatesNeeded(options) / 1460) * 20) / 20;
}

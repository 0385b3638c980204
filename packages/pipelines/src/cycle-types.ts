/**
 * The values of cycled assimilation (issue 11, item 7): the methods a cycle runs, its options with their defaults,
 * the per-cycle records, the fitted setup (kept as plain numbers so that it survives JSON), the resumable state and
 * the {@link CycleStore} port through which it is kept. The logic is in cycle.ts and the files it imports.
 */
import type { LatentModels } from '@alignda/nn';
import type { NormStats } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';

import type { ObsLayout } from './observe.js';
import type { PairedComparison } from './stats.js';

/**
 * The methods a cycle runs: the classical baselines (3D-Var with the separable B, the balanced bias-corrected
 * 3D-Var, the LETKF, hybrid EnVar) and two latent modes. Repaint is left out: its cycle behaves like ObsFree's with
 * a hard observation constraint and nobody asked for it.
 */
export const CYCLE_METHODS = ['3dvar', '3dvar-bal', 'letkf', 'hybrid', 'dps', 'obsfree'] as const;
export type CycleMethod = (typeof CYCLE_METHODS)[number];

/** The classical methods of {@link CYCLE_METHODS}, runnable without trained models. */
export const CLASSICAL_CYCLE_METHODS = ['3dvar', '3dvar-bal', 'letkf', 'hybrid'] as const;
/**
 * The methods of a cycle when none are named: the classical ones but hybrid EnVar, which came later and costs the
 * LETKF's forecasts and tuning plus its own (ask for it with `hybrid`).
 */
export const DEFAULT_CYCLE_METHODS = ['3dvar', '3dvar-bal', 'letkf'] as const;
/** The latent methods of {@link CYCLE_METHODS}: they need trained models and an explicit prior choice. */
export const LATENT_CYCLE_METHODS = ['dps', 'obsfree'] as const;

/** Where the next background comes from: the imperfect physical model (default) or the learned emulator. */
export const CYCLE_FORECASTS = ['model', 'emulator'] as const;
export type CycleForecast = (typeof CYCLE_FORECASTS)[number];

/**
 * How the latent methods get a prior for 6-hour backgrounds. Only one choice exists in this version, and it must be
 * asked for: the score network trained on 48 h backgrounds, reused at the cycle's interval. Training a prior on
 * 6 h cycled backgrounds (or a lead-conditioned one) is left for a later version.
 */
export const CYCLE_LATENT_PRIORS = ['reuse-48h'] as const;
export type CycleLatentPrior = (typeof CYCLE_LATENT_PRIORS)[number];

/** Options of `runCycle`. Every knob has a default; each default gives its reason. */
export interface CycleOptions {
  /** Methods to cycle, each carrying its own state. @defaultValue {@link DEFAULT_CYCLE_METHODS} */
  readonly methods?: readonly string[];
  /** Analysis cycles. @defaultValue 120 (30 days at 6 h: the figure) */
  readonly cycles?: number;
  /** Hours between analyses, a multiple of the source's 6 h. @defaultValue 6 */
  readonly intervalHours?: number;
  /** The forecast model of backgrounds and of the skill forecasts. @defaultValue 'model' */
  readonly forecast?: CycleForecast;
  /** LETKF ensemble size. @defaultValue 16 (the single-analysis table's) */
  readonly members?: number;
  /**
   * Members sampled per latent analysis; their mean is the analysis the cycle carries forward.
   * @defaultValue 4 [choice: a mean of a few members, not one sample, is what a cycle should carry]
   */
  readonly latentMembers?: number;
  /** The latent prior; required (no default) when a latent method is asked for. */
  readonly latentPrior?: CycleLatentPrior;
  /** Sampler predictor steps of the latent methods. @defaultValue 64 */
  readonly steps?: number;
  /** Langevin corrections per step. @defaultValue 1 */
  readonly corrections?: number;
  /** DPS step scale zeta'. @defaultValue 1 (what the 48 h evaluation chose on the QG presets; not retuned) */
  readonly zeta?: number;
  /** What is observed. @defaultValue 'values' */
  readonly obsLayout?: Exclude<ObsLayout, 'points'>;
  /** Share observed. @defaultValue 0.01 (the paper's 1 %) */
  readonly obsFraction?: number;
  /** Std of the observation noise, normalised units. @defaultValue 0.02 */
  readonly noiseStd?: number;
  /** Error std that R assumes, > 0. @defaultValue `noiseStd` */
  readonly obsErrorStd?: number;
  /** Seed of every random draw: each draw's seed is derived from (seed, cycle, stream). @defaultValue 7 */
  readonly seed?: number;
  /** State index of the scored run's initial truth. @defaultValue 0 (the run was never trained on) */
  readonly start?: number;
  /**
   * Initial error: this times a climatological perturbation (the difference of two random training states over
   * sqrt 2) is added to the initial truth. @defaultValue 0.1 [choice: a small error, so the spin-up shows]
   */
  readonly initialError?: number;
  /** The summary's window: the last N cycles. @defaultValue min(100, cycles) */
  readonly summaryCycles?: number;
  /** Forecast skill every K cycles; 0: none. @defaultValue 12 (every 3 days: 10 starts in 120 cycles) */
  readonly skillEvery?: number;
  /** The skill threshold: this share of the climatological std of the upper geopotential. @defaultValue 0.5 */
  readonly skillFraction?: number;
  /**
   * Longest skill forecast, hours; a forecast still under the threshold then is censored.
   * @defaultValue 600 (the QG truth forecast with the imperfect model reaches 0.5 at about 380 h)
   */
  readonly maxLeadHours?: number;
  /** Pairs of 48 h forecasts from the truth for the first, climatological-lead B. @defaultValue 32 */
  readonly pairs48?: number;
  /** Cycles of the offline 3D-Var cycle over the training period that makes the 6 h pairs. @defaultValue 96 */
  readonly offlineCycles?: number;
  /** Of those, the first ones left out of the pairs (the cycle's spin-up). @defaultValue 8 */
  readonly offlineBurnIn?: number;
  /** Length of each short tuning cycle on the training run's alignment period. @defaultValue 12 (3 days) */
  readonly tuneCycles?: number;
  /**
   * Candidate 3D-Var length scales, km. @defaultValue 500, 1000, 2000, 3000 (geopotential anomalies of the QG world
   * have scales near 2000 km, and short-scale geopotential increments carry large geostrophic winds into the next
   * background: 300 km blew a trial cycle up)
   */
  readonly lengthScalesKm?: readonly number[];
  /** Candidate multipliers of the balanced B's estimated length scales. @defaultValue 0.5, 1, 2 */
  readonly multipliers?: readonly number[];
  /** Candidate LETKF prior inflations (lambda). @defaultValue 1, 1.1 */
  readonly inflations?: readonly number[];
  /** Candidate LETKF relaxations to prior spread (RTPS, in [0, 1]). @defaultValue 0.5, 0.9 */
  readonly rtps?: readonly number[];
  /**
   * Candidate LETKF Gaspari-Cohn half-widths, km. @defaultValue 1000, 2000, 4000 (in trial cycles on the training run
   * 500-1000 km left grid-scale geopotential noise whose winds doubled the wind errors; 4000 km did best)
   */
  readonly halfWidthsKm?: readonly number[];
  /**
   * Candidate hybrid EnVar weights a of B = (1 - a) B_clim + a P_ens, in [0, 1]. @defaultValue 0.25, 0.5, 0.75 (the
   * single-analysis table's)
   */
  readonly hybridWeights?: readonly number[];
  /**
   * Candidate Gaspari-Cohn half-widths of hybrid EnVar's P_ens localisation, km. @defaultValue 1000, 2000 (the cycled
   * LETKF chose between them on the QG world)
   */
  readonly hybridHalfWidthsKm?: readonly number[];
  /**
   * Relative residual at which 3D-Var's conjugate gradients stop. @defaultValue 1e-6 (increments to 6 digits, far
   * below the observation noise; the single-analysis 1e-8 costs a third more iterations per cycle)
   */
  readonly cgTol?: number;
  /** Block length (cycles) of the block bootstrap of the latent/classical ratio. @defaultValue 8 (2 days) */
  readonly blockLength?: number;
  /** Resume from the store's state when it has one. @defaultValue false */
  readonly resume?: boolean;
  /** Progress as (stage, fraction). */
  readonly onProgress?: (stage: string, fraction: number) => void;
}

/** Mean and root mean square of a set of differences (innovations y - Hx or residuals). */
export interface DiffStats {
  readonly mean: number;
  readonly rms: number;
}

/** Innovation-consistency diagnostics of one analysis (cycle-score.ts `innovationDiagnostics`), normalised units. */
export interface InnovationDiagnostics {
  /** Desroziers' observation-error std, sqrt(mean((y - Hx_a)(y - Hx_b))); NaN when the mean is negative. */
  readonly obsErrorStd: number;
  /** Desroziers' background-error std in observation space, sqrt(mean((Hx_a - Hx_b)(y - Hx_b))). */
  readonly backgroundErrorStd: number;
  /** The mean products themselves (negative when the statistics contradict the model): what summaries pool. */
  readonly obsErrorVar: number;
  readonly backgroundErrorVar: number;
  /** The RMS of the observation-error std the analysis assumed (R's). */
  readonly assumedObsErrorStd: number;
  /**
   * Normalised innovation chi-square per observation, mean((y - Hx_b)^2 / (spread^2 + sigma_o^2)), for the ensemble
   * methods: about 1 when their spread and R account for the innovations, above 1 when the ensemble is overconfident.
   */
  readonly chi2?: number;
}

/** One method at one cycle. */
export interface CycleRecord {
  /** 0-based cycle. */
  readonly cycle: number;
  /** State index of the valid time in the scored run. */
  readonly stateIndex: number;
  readonly time: string;
  /** RMSE over all normalised values of the analysis (ensemble mean) and the background. */
  readonly analysisRmse: number;
  readonly backgroundRmse: number;
  /** Latitude-weighted RMSE per channel, physical units. */
  readonly analysisRmseByVar: readonly number[];
  readonly backgroundRmseByVar: readonly number[];
  /** Ensemble spread (RMS member std, normalised) of the LETKF's background and analysis ensembles. */
  readonly backgroundSpread?: number;
  readonly analysisSpread?: number;
  /** O-B: innovations y - H x_b; O-A: residuals y - H x_a (normalised). */
  readonly omb: DiffStats;
  readonly oma: DiffStats;
  /** Innovation-consistency diagnostics (absent in states saved before they existed). */
  readonly innovation?: InnovationDiagnostics;
  readonly observations: number;
  /** The analysis RMSE passed the climatological threshold at this cycle. */
  readonly diverged: boolean;
  /** Wall seconds of the forecast and the analysis. */
  readonly seconds: number;
}

/** Lead time of one forecast: hours until the skill variable's RMSE reaches the threshold (null: not by the end). */
export interface LeadTime {
  readonly hours: number | null;
  /** Hours lost against the forecast from the truth (null when either is censored). */
  readonly lost: number | null;
}

/** The forecast skill of every method's analysis at one cycle. */
export interface SkillRecord {
  readonly cycle: number;
  readonly stateIndex: number;
  /** The forecast from the truth itself: the model error alone. */
  readonly truthHours: number | null;
  readonly methods: Readonly<Record<string, LeadTime>>;
}

/** Background-error statistics as plain numbers (packages/da's `BackgroundErrorStats` without typed arrays). */
export interface PlainErrorStats {
  readonly stateShape: readonly [number, number, number];
  readonly perLatitude: boolean;
  readonly variance: readonly number[];
  readonly bias: readonly number[];
  readonly channelCorrelation?: readonly number[];
  readonly samples: number;
}

/** One row of a tuning table: the candidate and the mean analysis MSE of its short cycles. */
export interface CycleTuneRow {
  readonly candidate: Readonly<Record<string, number>>;
  readonly mse: number;
}

/** What the methods were fitted and tuned to: everything needed to rebuild them, as JSON-safe numbers. */
export interface CycleSetup {
  /** The normalisation DA is solved in (the models' own with latent methods, else the training run's). */
  readonly norm: NormStats;
  /** Climatological anomaly std of each channel (about the time mean), physical units, training period. */
  readonly climStd: readonly number[];
  /** Divergence threshold: the climatological anomaly std over all normalised values. */
  readonly threshold: number;
  /** The separable 3D-Var: B statistics of the 6 h pairs and the tuned length scale. */
  readonly var3d?: {
    readonly stats: PlainErrorStats;
    readonly lengthScaleKm: number;
    readonly tuning: readonly CycleTuneRow[];
  };
  /** The balanced 3D-Var: control statistics, bias, estimated length scales and the tuned multiplier. */
  readonly balanced?: {
    readonly error: PlainErrorStats;
    readonly control: PlainErrorStats;
    readonly lengthScalesKm: readonly number[];
    readonly multiplier: number;
    readonly tuning: readonly CycleTuneRow[];
  };
  /** The LETKF's tuned prior inflation, relaxation to prior spread and half-width. */
  readonly letkf?: {
    readonly inflation: number;
    readonly rtps: number;
    readonly halfWidthKm: number;
    readonly tuning: readonly CycleTuneRow[];
  };
  /**
   * Hybrid EnVar's tuned weight and half-width (its B_clim is `balanced`'s, its ensemble cycled with `letkf`'s
   * settings).
   */
  readonly hybrid?: {
    readonly weight: number;
    readonly halfWidthKm: number;
    readonly tuning: readonly CycleTuneRow[];
  };
  /** The offline 3D-Var cycle that made the 6 h pairs. */
  readonly offline?: {
    readonly cycles: number;
    readonly pairs: number;
    readonly meanBackgroundRmse: number;
    readonly meanAnalysisRmse: number;
  };
}

/** What one method carries from cycle to cycle (normalised states). */
export interface CarriedState {
  /** The analysis (the ensemble mean for latent methods), [C, H, W] flattened. */
  readonly analysis?: Float32Array;
  /** The analysis ensemble of the LETKF and of hybrid EnVar, [members, C, H, W] flattened. */
  readonly ensemble?: Float32Array;
  readonly members?: number;
  /** The method stopped: its state became non-finite. */
  readonly stopped?: boolean;
}

/**
 * Everything needed to continue a cycle identically: no random-generator state, since every draw is seeded from
 * (seed, cycle, stream).
 */
export interface CycleState {
  readonly version: 1;
  /** The options and sources that decide the numbers; a resume under others is refused. */
  readonly fingerprint: string;
  /** The first cycle still to run. */
  readonly nextCycle: number;
  readonly seed: number;
  readonly setup: CycleSetup;
  /** Each method's state valid at the start of cycle `nextCycle`. */
  readonly carried: Readonly<Record<string, CarriedState>>;
  readonly series: Readonly<Record<string, readonly CycleRecord[]>>;
  readonly skill: readonly SkillRecord[];
}

/** Where a cycle's state is kept between commands (files in the CLI; a test's memory; a database later). */
export interface CycleStore {
  /** The last saved state, or undefined when there is none. */
  load(): Promise<CycleState | undefined>;
  /** Replaces the saved state (atomically, where the store can). */
  save(state: CycleState): Promise<void>;
}

/** The inputs of `runCycle` from outside memory. */
export interface CyclePorts {
  /** The training nature run: B is fitted on its train period and everything tuned on its alignment period. */
  readonly training: DaSource;
  /** Keeps the state after every cycle; without one a run cannot be resumed. */
  readonly store?: CycleStore;
  /** Trained latent models, for the latent methods and the emulator forecast. */
  readonly models?: LatentModels;
  /** The backgrounds the latent prior was trained on ('model' or 'emulator', its model set's manifest), for the card. */
  readonly priorBackground?: string;
}

/** One method's summary over the last cycles. */
export interface CycleMethodSummary {
  /** Cycles in the window. */
  readonly cycles: number;
  readonly meanAnalysisRmse: number;
  readonly meanBackgroundRmse: number;
  /** Per channel, physical units. */
  readonly meanAnalysisRmseByVar: readonly number[];
  readonly meanBackgroundRmseByVar: readonly number[];
  readonly meanAnalysisSpread?: number;
  readonly meanOmbRms: number;
  readonly meanOmaRms: number;
  /**
   * Desroziers' estimates pooled over the window (the square roots of the mean products; NaN when negative), the
   * assumed observation-error std, and the mean normalised innovation chi-square of the ensemble methods.
   */
  readonly innovation?: {
    readonly obsErrorStd: number;
    readonly backgroundErrorStd: number;
    readonly assumedObsErrorStd: number;
    readonly chi2?: number;
  };
  /** Cycles of the window flagged diverged, and the first flagged cycle of the whole run (null: never). */
  readonly divergedCycles: number;
  readonly firstDiverged: number | null;
  readonly stopped: boolean;
  /** Mean lead time and lead time lost over the skill records (uncensored ones), hours; null when none. */
  readonly meanLeadHours: number | null;
  readonly meanLeadLostHours: number | null;
  readonly censored: number;
}

/** The best latent method against the best classical one, over the window's cycles. */
export interface CycleComparison {
  readonly latent: string;
  readonly classical: string;
  /** Ratio of mean analysis RMSEs, with an i.i.d. paired bootstrap interval and permutation p (optimistic). */
  readonly iid: PairedComparison;
  /** 95 % moving-block bootstrap interval of the ratio (blocks of `blockLength` cycles). */
  readonly blockLo: number;
  readonly blockHi: number;
  readonly blockLength: number;
  readonly note: string;
}

/**
 * The options of a cycle with every default filled in, checked once at entry: a bad value is an AppError
 * `INVALID_ARGUMENT` naming it, before anything is computed or written.
 */
import { AppError } from '@alignda/errors';

import {
  CYCLE_FORECASTS,
  CYCLE_LATENT_PRIORS,
  CYCLE_METHODS,
  DEFAULT_CYCLE_METHODS,
  LATENT_CYCLE_METHODS,
} from './cycle-types.js';
import type { CycleForecast, CycleLatentPrior, CycleMethod, CycleOptions } from './cycle-types.js';
import { DEFAULT_OBS_FRACTION } from './observe.js';
import type { ObserveOptions } from './observe.js';

/** {@link CycleOptions} resolved: the defaults applied and every value checked. */
export interface ResolvedCycleOptions {
  readonly methods: readonly CycleMethod[];
  readonly cycles: number;
  readonly intervalHours: number;
  readonly forecast: CycleForecast;
  readonly members: number;
  readonly latentMembers: number;
  readonly latentPrior: CycleLatentPrior | undefined;
  readonly steps: number;
  readonly corrections: number;
  readonly zeta: number;
  readonly observe: ObserveOptions;
  readonly seed: number;
  readonly start: number;
  readonly initialError: number;
  readonly summaryCycles: number;
  readonly skillEvery: number;
  readonly skillFraction: number;
  readonly maxLeadHours: number;
  readonly pairs48: number;
  readonly offlineCycles: number;
  readonly offlineBurnIn: number;
  readonly tuneCycles: number;
  readonly lengthScalesKm: readonly number[];
  readonly multipliers: readonly number[];
  readonly inflations: readonly number[];
  readonly rtps: readonly number[];
  readonly halfWidthsKm: readonly number[];
  readonly hybridWeights: readonly number[];
  readonly hybridHalfWidthsKm: readonly number[];
  readonly cgTol: number;
  readonly blockLength: number;
  readonly resume: boolean;
}

const bad = (what: string): never => {
  throw new AppError('INVALID_ARGUMENT', `cycle: ${what}`);
};

function int(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) bad(`${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

function positive(name: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) bad(`${name} must be a finite number > 0, got ${v}`);
  return v;
}

function positives(name: string, vs: readonly number[], min = 0): readonly number[] {
  if (vs.length === 0) bad(`${name}: no candidate given`);
  vs.forEach((v, k) => {
    if (!(v > min) || !Number.isFinite(v)) bad(`${name}[${k}] = ${v} must be finite and > ${min}`);
  });
  return vs;
}

function atLeastOne(name: string, vs: readonly number[]): readonly number[] {
  positives(name, vs).forEach((v, k) => {
    if (v < 1) bad(`${name}[${k}] = ${v}: a multiplicative inflation is >= 1`);
  });
  return vs;
}

function unitInterval(name: string, vs: readonly number[]): readonly number[] {
  if (vs.length === 0) bad(`${name}: no candidate given`);
  vs.forEach((v, k) => {
    if (!(v >= 0 && v <= 1)) bad(`${name}[${k}] = ${v} is not in [0, 1]`);
  });
  return vs;
}

/**
 * Resolves and checks the options.
 * @throws AppError `INVALID_ARGUMENT` naming the first bad option: an unknown or repeated method, zero cycles, an
 *   interval that is not a positive multiple of 6 h, a localisation half-width or length scale <= 0, a hybrid weight
 *   outside [0, 1], an observation error std <= 0, a latent method without `latentPrior`
 */
export function resolveCycleOptions(o: CycleOptions): ResolvedCycleOptions {
  const methods = o.methods ?? DEFAULT_CYCLE_METHODS;
  if (methods.length === 0) bad('no method given');
  for (const m of methods)
    if (!(CYCLE_METHODS as readonly string[]).includes(m))
      bad(`unknown method '${m}' (known: ${CYCLE_METHODS.join(', ')})`);
  if (new Set(methods).size !== methods.length) bad(`a method is named twice in ${methods.join(', ')}`);
  const cycles = int('cycles', o.cycles ?? 120, 1);
  const intervalHours = o.intervalHours ?? 6;
  // A multiple of the source's step (6 h for the QG world): checked against the source by runCycle.
  if (!Number.isInteger(intervalHours) || intervalHours <= 0)
    bad(`intervalHours must be a positive whole number of hours, got ${intervalHours}`);
  const forecast = o.forecast ?? 'model';
  if (!(CYCLE_FORECASTS as readonly string[]).includes(forecast))
    bad(`unknown forecast '${String(forecast)}' (known: ${CYCLE_FORECASTS.join(', ')})`);
  const latent = methods.filter((m) => (LATENT_CYCLE_METHODS as readonly string[]).includes(m));
  if (o.latentPrior !== undefined && !(CYCLE_LATENT_PRIORS as readonly string[]).includes(o.latentPrior))
    bad(`unknown latent prior '${String(o.latentPrior)}' (known: ${CYCLE_LATENT_PRIORS.join(', ')})`);
  if (latent.length > 0 && o.latentPrior === undefined)
    bad(
      `${latent.join(', ')} ${latent.length === 1 ? 'needs' : 'need'} a prior for ${intervalHours} h backgrounds and none trained on them exists: ` +
        `ask explicitly for the 48 h prior with latentPrior 'reuse-48h' (--latent-prior reuse-48h); it is written in the protocol card`,
    );
  const noiseStd = o.noiseStd ?? 0.02;
  if (!(noiseStd >= 0) || !Number.isFinite(noiseStd))
    bad(`noiseStd must be finite and >= 0, got ${noiseStd}`);
  const obsErrorStd = o.obsErrorStd ?? noiseStd;
  if (!(obsErrorStd > 0) || !Number.isFinite(obsErrorStd))
    bad(`the observation error std must be > 0 (R is inverted), got ${obsErrorStd}`);
  const fraction = o.obsFraction ?? DEFAULT_OBS_FRACTION;
  if (!(fraction > 0 && fraction <= 1)) bad(`obsFraction ${fraction} is not in (0, 1]`);
  const obsLayout = o.obsLayout ?? 'values';
  if (obsLayout !== 'values' && obsLayout !== 'columns')
    bad(`obsLayout '${String(obsLayout)}': cycling takes gridded observations ('values' or 'columns')`);
  const initialError = o.initialError ?? 0.1;
  if (!(initialError >= 0) || !Number.isFinite(initialError))
    bad(`initialError must be finite and >= 0, got ${initialError}`);
  const skillFraction = o.skillFraction ?? 0.5;
  if (!(skillFraction > 0 && skillFraction <= 2)) bad(`skillFraction ${skillFraction} is not in (0, 2]`);
  const maxLeadHours = positive('maxLeadHours', o.maxLeadHours ?? 600);
  if (!Number.isInteger(maxLeadHours / intervalHours))
    bad(`maxLeadHours ${maxLeadHours} is not a multiple of the interval ${intervalHours} h`);
  const offlineCycles = int('offlineCycles', o.offlineCycles ?? 96, 3);
  const offlineBurnIn = int('offlineBurnIn', o.offlineBurnIn ?? 8, 0);
  if (offlineCycles - offlineBurnIn < 2)
    bad(`offlineCycles ${offlineCycles} leaves fewer than 2 pairs after a burn-in of ${offlineBurnIn}`);
  return {
    methods: methods as readonly CycleMethod[],
    cycles,
    intervalHours,
    forecast,
    members: int('members', o.members ?? 16, 2),
    latentMembers: int('latentMembers', o.latentMembers ?? 4, 1),
    latentPrior: o.latentPrior,
    steps: int('steps', o.steps ?? 64, 1),
    corrections: int('corrections', o.corrections ?? 1, 0),
    zeta: positive('zeta', o.zeta ?? 1),
    observe: { layout: obsLayout, fraction, noiseStd, errorStd: obsErrorStd },
    seed: int('seed', o.seed ?? 7, 0),
    start: int('start', o.start ?? 0, 0),
    initialError,
    summaryCycles: Math.min(cycles, int('summaryCycles', o.summaryCycles ?? 100, 1)),
    skillEvery: int('skillEvery', o.skillEvery ?? 12, 0),
    skillFraction,
    maxLeadHours,
    pairs48: int('pairs48', o.pairs48 ?? 32, 2),
    offlineCycles,
    offlineBurnIn,
    tuneCycles: int('tuneCycles', o.tuneCycles ?? 12, 2),
    lengthScalesKm: positives('lengthScalesKm', o.lengthScalesKm ?? [500, 1000, 2000, 3000]),
    multipliers: positives('multipliers', o.multipliers ?? [0.5, 1, 2]),
    inflations: atLeastOne('inflations', o.inflations ?? [1, 1.1]),
    rtps: unitInterval('rtps', o.rtps ?? [0.5, 0.9]),
    halfWidthsKm: positives('localisation half-width (halfWidthsKm)', o.halfWidthsKm ?? [1000, 2000, 4000]),
    hybridWeights: unitInterval('hybridWeights', o.hybridWeights ?? [0.25, 0.5, 0.75]),
    hybridHalfWidthsKm: positives(
      'hybrid localisation half-width (hybridHalfWidthsKm)',
      o.hybridHalfWidthsKm ?? [1000, 2000],
    ),
    cgTol: positive('cgTol', o.cgTol ?? 1e-6),
    blockLength: int('blockLength', o.blockLength ?? 8, 1),
    resume: o.resume ?? false,
  };
}

/**
 * The options that decide a cycle's numbers, as a string: a resume under other ones is refused. `cycles` is left
 * out (a run may be extended), as are the summary's window and block length (they only read the series).
 */
export function cycleFingerprint(o: ResolvedCycleOptions, source: string, training: string): string {
  const {
    cycles: _c,
    summaryCycles: _s,
    blockLength: _b,
    resume: _r,
    hybridWeights,
    hybridHalfWidthsKm,
    ...rest
  } = o;
  // Hybrid EnVar's candidates count only when it runs, so that a cycle stored before it existed still resumes.
  const hybrid = o.methods.includes('hybrid') ? { hybridWeights, hybridHalfWidthsKm } : {};
  return JSON.stringify({ source, training, ...rest, ...hybrid });
}

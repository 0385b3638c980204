/**
 * The promotion gate of an aligned score network (METHOD.md section 7, issue 14 item 3): the aligned prior and the
 * reference, in each latent mode, on held-out conditions of the ALIGNMENT period (never the test period, never a
 * condition the DPO trained on), with the same backgrounds, observations and sampler seeds. The gate holds when, in
 * every mode, the upper end of the paired bootstrap 95 % interval of the relative analysis-MSE change is at most 0
 * and the Geo-Score shows no loss (its relative change's interval does not lie below 0) where the source has one.
 */
import { AppError } from '@alignda/errors';
import { createLatentSessions } from '@alignda/nn';
import type { LatentModels, LatentSessions, ScoreConfig, TrainedModel } from '@alignda/nn';
import { normalise } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';

import { assimilate } from '../assimilate.js';
import type { LatentMode } from '../assimilate.js';
import { checkAligned } from '../evaluate-aligned.js';
import { GEO_SCORE_SCALE } from '../evaluate-latent-options.js';
import type { BackgroundKind } from '../evaluate-latent-options.js';
import { LEAD_STEPS } from '../evaluate-tuning.js';
import { evaluate } from '../evaluate.js';
import type { EvalCase, EvalMethod } from '../evaluate.js';
import { leadForecaster } from '../job/background.js';
import { encodeState, latentPrior } from '../latent-models.js';
import { DEFAULT_OBS_FRACTION } from '../observe.js';
import { pairedGain } from '../stats.js';

/** Options of {@link gateAlignment}. */
export interface GateOptions {
  /** The backgrounds the reference was trained on (its manifest's); the cases' backgrounds are of this kind. */
  readonly background: BackgroundKind;
  /** Alignment-period states the DPO trained on (the preference set's pair conditions): never a gate case. */
  readonly exclude: readonly number[];
  /** Gate cases. @defaultValue 8 (evaluateLatent's case count) */
  readonly cases?: number;
  /** Latent modes judged; the gate must hold in each. @defaultValue ['obsfree', 'dps'] (weakest and strongest guidance) */
  readonly modes?: readonly LatentMode[];
  /** Sampler steps. @defaultValue 64 (the evaluation's) */
  readonly steps?: number;
  /** Seed of observations and sampler noise (case k: memberSeed(seed, k)). @defaultValue 7 (the evaluation's) */
  readonly seed?: number;
  /** Share of values observed. @defaultValue DEFAULT_OBS_FRACTION (1 %) */
  readonly obsFraction?: number;
  /** Observation noise std, normalised units. @defaultValue 0.02 (the evaluation's) */
  readonly noiseStd?: number;
  /** Bootstrap resamples of the intervals. @defaultValue 4000 (pairedGain's) */
  readonly resamples?: number;
  readonly onProgress?: (stage: string, fraction: number) => void;
  readonly signal?: AbortSignal;
}

/** A relative change (aligned - reference) / reference with its paired bootstrap 95 % interval. */
export interface GateChange {
  readonly change: number;
  readonly ci95: readonly [number, number];
  /** Wilcoxon signed-rank p-value of the per-case differences. */
  readonly p: number;
  readonly n: number;
}

/** The gate's verdict and its evidence. */
export interface GateVerdict {
  readonly passed: boolean;
  /** The rule, in words, as recorded with the verdict. */
  readonly rule: string;
  readonly period: 'alignment';
  /** State indices of the gate cases. */
  readonly cases: readonly number[];
  /** Per latent mode: analysis MSE and (where the source has one) Geo-Score changes. */
  readonly modes: Readonly<Record<string, { readonly mse: GateChange; readonly geoScore?: GateChange }>>;
  /** Why the gate does not hold, one line per failed condition (empty when it holds). */
  readonly reasons: readonly string[];
}

/** The gate's rule, recorded with every verdict. */
export const GATE_RULE =
  'in every latent mode, on held-out alignment-period cases: the upper end of the 95 % interval of the relative analysis-MSE change <= 0, and no Geo-Score loss (the upper end of its relative change >= 0)';

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)} %`;
/** An interval as `[-3.10 %, +0.52 %]`. */
export const intervalText = (ci: readonly [number, number]): string => `[${pct(ci[0])}, ${pct(ci[1])}]`;

/** `n` states of [lo, hi) not in `exclude`, evenly spaced. */
function gateCases(lo: number, hi: number, n: number, exclude: readonly number[]): number[] {
  const skip = new Set(exclude);
  const free: number[] = [];
  for (let i = lo; i < hi; i++) if (!skip.has(i)) free.push(i);
  if (free.length < n)
    throw new AppError(
      'INVALID_ARGUMENT',
      `the gate needs ${n} held-out alignment-period cases; the period has ${free.length} states the DPO did not train on`,
    );
  const step = free.length / n;
  return Array.from({ length: n }, (_, k) => free[Math.floor(step / 2 + k * step)] as number);
}

/** The relative change of `model` over `ref` (lower-is-better sign kept: positive = larger). */
function changeOf(ref: number[], model: number[], resamples: number | undefined): GateChange {
  // pairedGain with higherIsBetter gives (model - ref) / ref and its interval, the change itself.
  const g = pairedGain(ref, model, {
    higherIsBetter: true,
    ...(resamples === undefined ? {} : { resamples }),
  });
  return { change: g.gain, ci95: [g.ci95[0], g.ci95[1]], p: g.p, n: g.n };
}

/**
 * Why the gate does not hold on these changes, one line per failed condition; empty when it holds. The one judge of
 * the rule: the gate's verdict and the gateway's promotion both read it.
 */
export function gateReasons(
  modes: Readonly<Record<string, { readonly mse: GateChange; readonly geoScore?: GateChange }>>,
): string[] {
  const reasons: string[] = [];
  const entries = Object.entries(modes);
  if (entries.length === 0) reasons.push('no latent mode was judged');
  for (const [m, { mse, geoScore }] of entries) {
    if (!(mse.ci95[1] <= 0))
      reasons.push(
        `${m}: the 95 % interval of the relative analysis-MSE change is ${intervalText(mse.ci95)}: its upper end is above 0`,
      );
    if (geoScore !== undefined && !(geoScore.ci95[1] >= 0))
      reasons.push(
        `${m}: Geo-Score loss, the 95 % interval of its relative change is ${intervalText(geoScore.ci95)}`,
      );
  }
  return reasons;
}

/**
 * Judges the aligned score network `aligned` against the reference prior of `models` on held-out alignment-period
 * cases.
 * @throws AppError FAILED_PRECONDITION for a source without an alignment period or an aligned network of another
 *   architecture; INVALID_ARGUMENT when the period has too few held-out states
 */
export async function gateAlignment(
  source: DaSource,
  models: LatentModels,
  aligned: TrainedModel<ScoreConfig>,
  options: GateOptions,
): Promise<GateVerdict> {
  checkAligned(models.score, [{ name: 'aligned', score: aligned }]);
  const alignment = source.periods.alignment;
  if (alignment === undefined)
    throw new AppError(
      'FAILED_PRECONDITION',
      `${source.name} declares no alignment period: the gate is never judged on the test period`,
    );
  const [lo, hi] = alignment;
  const cases = gateCases(lo + LEAD_STEPS, hi - LEAD_STEPS, options.cases ?? 8, options.exclude);
  const modes = options.modes ?? ['obsfree', 'dps'];
  const steps = options.steps ?? 64;
  const noiseStd = options.noiseStd ?? 0.02;
  const norm = models.vae.norm;
  const shape = source.shape;
  const zShape = models.score.config.latentShape;
  const one = await createLatentSessions(models, 1, { leadSteps: LEAD_STEPS });
  const alignedOne = await createLatentSessions({ ...models, score: aligned }, 1, { leadSteps: LEAD_STEPS });
  const normState = (i: number): Float32Array => normalise({ data: source.state(i).data, shape }, norm).data;
  const forecast48 = leadForecaster(source, norm, one, options.background);

  // The background latent of a case, encoded once and shared by every row: the rows differ by the prior alone.
  let encoded: { caseIndex: number; z: Float32Array } | undefined;
  const zbOf = async (caseIndex: number, bg: Float32Array): Promise<Float32Array> => {
    if (encoded?.caseIndex !== caseIndex) encoded = { caseIndex, z: await encodeState(one, bg) };
    return encoded.z;
  };
  const row = (mode: LatentMode, sessions: LatentSessions, id: string): EvalMethod => ({
    id,
    stochastic: true,
    analyse: async (c) => {
      if (options.signal?.aborted === true) throw new AppError('CANCELLED', 'gate: cancelled');
      const a = await assimilate({
        method: mode,
        prior: latentPrior(sessions, await zbOf(c.caseIndex, c.background), zShape),
        obs: c.obs,
        members: 1,
        seed: c.seed,
        steps,
        onProgress: c.onProgress,
      });
      return { analysis: a.mean };
    },
  });
  const res = await evaluate(
    {
      source,
      norm,
      background: (i) => forecast48(normState(i - LEAD_STEPS), i - LEAD_STEPS),
      forecast: forecast48,
    },
    modes.flatMap((m) => [row(m, one, m), row(m, alignedOne, `${m}@aligned`)]),
    {
      cases,
      seed: options.seed ?? 7,
      observe: {
        layout: 'values',
        fraction: options.obsFraction ?? DEFAULT_OBS_FRACTION,
        noiseStd,
        errorStd: Math.max(noiseStd, 0.02),
        ...(source.validMask === undefined ? {} : { validMask: source.validMask }),
      },
      leadSteps: LEAD_STEPS,
      geoScoreScale: GEO_SCORE_SCALE,
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    },
  );

  const of = (id: string, metric: 'mse' | 'geoScore'): number[] =>
    res.cases.map((c: EvalCase) => c.scores[id]?.[metric] ?? Number.NaN);
  const out: Record<string, { mse: GateChange; geoScore?: GateChange }> = {};
  for (const m of modes) {
    const mse = changeOf(of(m, 'mse'), of(`${m}@aligned`, 'mse'), options.resamples);
    const [geoRef, geoAligned] = [of(m, 'geoScore'), of(`${m}@aligned`, 'geoScore')];
    const geo = [...geoRef, ...geoAligned].every(Number.isFinite);
    out[m] = { mse, ...(geo ? { geoScore: changeOf(geoRef, geoAligned, options.resamples) } : {}) };
  }
  const reasons = gateReasons(out);
  return { passed: reasons.length === 0, rule: GATE_RULE, period: 'alignment', cases, modes: out, reasons };
}

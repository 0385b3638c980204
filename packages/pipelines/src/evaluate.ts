/**
 * The evaluate use case: cases x methods -> scores, the value `eval.json` serialises. For each case the background,
 * the observations (made once, from the case seed alone) and the sampler seed are the same for every method.
 * Cases are made first (backgrounds, observations, background ensembles, the copies of the truth the scores need,
 * and the rows that see the truth by design), then analysed: from `onCasesMade` on, nothing reads the source's
 * truth, so the analyses come from the case inputs alone (a test hides the truth there and gets the same analyses).
 * Methods are plain values with one `analyse` call, so the latent modes, 3D-Var and any later method (or a test's
 * oracle) are evaluated the same way.
 */
import { memberSeed } from '@alignda/da';
import type { Observations } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { createRng, denormalise, latWeightedRmse, mae, mse, normalise } from '@alignda/tensor';
import type { Field, NormStats } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';

import { geoLevels, levelDeviations, meanGeoScore, meanOrNaN } from './geo.js';
import { observe } from './observe.js';
import type { ObserveOptions } from './observe.js';
import { averageScores, membersMse } from './evaluate-scores.js';
import type { MethodScores } from './evaluate-scores.js';
import { ensembleCrps, rankHistogram } from './stats.js';

export type { MethodScores } from './evaluate-scores.js';

/** What a method sees of one case: never the truth. */
export interface EvalCaseInput {
  /** Position of the case in the evaluation (0-based). */
  readonly caseIndex: number;
  /** State index of the valid time. */
  readonly stateIndex: number;
  /**
   * The sampler seed of this run of the method: the case seed for the first (or only) sampler seed, a seed derived
   * from it for the others. The observations come from the case seed alone, whatever the sampler seed.
   */
  readonly seed: number;
  /** Which sampler seed of the case this run is, 0-based. */
  readonly seedIndex: number;
  /** The normalised background, [C, H, W] flattened. */
  readonly background: Float32Array;
  readonly obs: Observations;
  /**
   * The background ensemble of this case and sampler seed, [N, C, H, W] flattened (normalised), made with the
   * background by {@link EvaluatePorts.backgroundEnsemble}; absent when the ports make none.
   */
  readonly ensemble?: Float32Array;
  /** Progress of this method on this case, in [0, 1]. */
  readonly onProgress: (fraction: number) => void;
}

/** A method's analysis of one case (normalised units). */
export interface MethodAnalysis {
  readonly analysis: Float32Array;
  /** Ensemble spread (RMS member std, normalised) for ensemble methods. */
  readonly spread?: number;
  /** The ensemble members, [M, C, H, W] flattened (normalised), for single-member scores. */
  readonly members?: Float32Array;
  /** Wall seconds to report, when the method counts shared work itself. @defaultValue the measured call */
  readonly seconds?: number;
}

/** An analysis method under evaluation. */
export interface EvalMethod {
  /** Key of its scores, e.g. `dps`. `background` is reserved for the background row. */
  readonly id: string;
  /** Its analysis depends on the sampler seed: run once per sampler seed, scores averaged within the case. */
  readonly stochastic?: boolean;
  /**
   * It reads the truth by design (a floor or an oracle, e.g. the VAE's reconstruction of the truth, never a
   * competitor): it runs while the cases are made, before `onCasesMade`. @defaultValue false
   */
  readonly seesTruth?: boolean;
  analyse(c: EvalCaseInput): Promise<MethodAnalysis>;
}

/** What the evaluation reads: the source, its normalisation, and the forecast model of backgrounds and skill. */
export interface EvaluatePorts {
  readonly source: DaSource;
  /** The normalisation DA is solved in (the models' own). */
  readonly norm: NormStats;
  /** The normalised background valid at state `i`. */
  background(i: number): Promise<Float32Array>;
  /** The normalised forecast, `leadSteps` on, from the normalised state `x` valid at state `i`. */
  forecast(x: Float32Array, i: number): Promise<Float32Array>;
  /**
   * The background ensemble of the case at state `i` for sampler seed `seed` (e.g. forecasts from perturbed earlier
   * truths, recentred on `background`), [N, C, H, W] flattened: made with the background, handed to every method.
   * @defaultValue none (methods get no ensemble)
   */
  backgroundEnsemble?(i: number, background: Float32Array, seed: number): Promise<Float32Array>;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** State indices of the cases (valid times); state `i + leadSteps` must exist. */
  readonly cases: readonly number[];
  /** Seed of the evaluation: case k's seed is memberSeed(seed, k). */
  readonly seed: number;
  /** How cases are observed (normalised units); the valid mask defaults to the source's. */
  readonly observe: ObserveOptions;
  /** Forecast lead in steps of the source, for the forecast-skill row. */
  readonly leadSteps: number;
  /** Scale s of the Geo-Score 2 sigmoid(-|D - D_truth| / s). */
  readonly geoScoreScale: number;
  /** Sampler seeds per case for stochastic methods (their scores are averaged within the case). @defaultValue 1 */
  readonly samplerSeeds?: number;
  readonly onProgress?: (stage: string, fraction: number) => void;
  /**
   * Called once every case is made (backgrounds, observations, background ensembles, the truth-seeing rows) and
   * before any other analysis: from then on nothing reads the source's truth (a test hides it here).
   */
  readonly onCasesMade?: () => void | Promise<void>;
  /** Called with every analysis (physical units) for extra verification (stations). */
  readonly onAnalysis?: (caseIndex: number, stateIndex: number, method: string, field: Field) => void;
}

/** One evaluated case. */
export interface EvalCase {
  readonly stateIndex: number;
  readonly time: string;
  readonly observations: number;
  /** The truth's mean geostrophic deviation D (NaN when no level has z, u, v). */
  readonly truthGeoDeviation: number;
  /** Scores by method id, `background` first. */
  readonly scores: Readonly<Record<string, MethodScores>>;
}

/** Result of {@link evaluate}. */
export interface EvaluateResult {
  readonly cases: readonly EvalCase[];
  /** Fields of the first case for maps (physical units), analyses by method id. */
  readonly example: { readonly truth: Field; readonly analyses: Readonly<Record<string, Field>> };
}

/**
 * Evaluates `methods` (and the background) on `opts.cases`.
 * @throws AppError `INVALID_ARGUMENT` for no cases or a method named `background`
 */
export async function evaluate(
  ports: EvaluatePorts,
  methods: readonly EvalMethod[],
  opts: EvaluateOptions,
): Promise<EvaluateResult> {
  if (opts.cases.length === 0) throw new AppError('INVALID_ARGUMENT', 'evaluate: no cases');
  if (methods.some((m) => m.id === 'background'))
    throw new AppError('INVALID_ARGUMENT', "evaluate: 'background' is the background's row, not a method id");
  const { source, norm } = ports;
  const shape = source.shape;
  const mask = source.validMask;
  const levels = geoLevels(source.channels);
  const metricOpts = mask === undefined ? {} : { mask };
  // The [H, W] valid mask repeated over channels, for the ensemble scores of single values.
  const cells = shape[1] * shape[2];
  const valueMask =
    mask === undefined
      ? undefined
      : Uint8Array.from({ length: shape[0] * cells }, (_, j) => mask[j % cells] as number);
  // Observations only where the source holds data, unless the caller says otherwise.
  const observeOpts: ObserveOptions =
    opts.observe.validMask === undefined && mask !== undefined
      ? { ...opts.observe, validMask: mask }
      : opts.observe;
  const progress = opts.onProgress ?? (() => undefined);
  const normState = (i: number): Float32Array => normalise({ data: source.state(i).data, shape }, norm).data;
  const physical = (x: Float32Array): Float32Array =>
    denormalise({ data: Float32Array.from(x), shape }, norm).data;

  const S = opts.samplerSeeds ?? 1;
  if (!Number.isInteger(S) || S < 1)
    throw new AppError('INVALID_ARGUMENT', `evaluate: samplerSeeds must be an integer >= 1, got ${S}`);
  const runsOf = (m: EvalMethod): number => (m.stochastic === true ? S : 1);
  const samplerSeed = (caseSeed: number, s: number): number =>
    s === 0 ? caseSeed : memberSeed(caseSeed ^ 0x5eed5, s);
  const makeEnsemble = ports.backgroundEnsemble?.bind(ports);
  const ensembleRuns = makeEnsemble === undefined ? 0 : S;
  /** What a method sees of made case `c` (index `k`) for sampler seed index `s`: never the truth. */
  const caseInput = (c: MadeCase, k: number, s: number, onProgress: (f: number) => void): EvalCaseInput => {
    const ensemble = c.ensembles[s];
    return {
      caseIndex: k,
      stateIndex: c.stateIndex,
      seed: samplerSeed(c.seed, s),
      seedIndex: s,
      background: c.background,
      obs: c.obs,
      ...(ensemble === undefined ? {} : { ensemble }),
      onProgress,
    };
  };

  // 1. Cases: all that is made from the truth, before any analysis (the scores keep copies of what they need).
  const made: MadeCase[] = [];
  const truthSeeing = methods.filter((m) => m.seesTruth === true);
  const makeSteps = opts.cases.length * (1 + ensembleRuns + truthSeeing.reduce((n, m) => n + runsOf(m), 0));
  let madeSteps = 0;
  const makeProgress = (): void =>
    progress('test cases: backgrounds and observations', ++madeSteps / makeSteps);
  for (const [k, i] of opts.cases.entries()) {
    const stored = source.field(i);
    const truth: Field = { ...stored, data: Float32Array.from(stored.data) };
    const seed = memberSeed(opts.seed, k);
    const obs = observe(
      { ...truth, data: normalise({ data: truth.data, shape }, norm).data },
      observeOpts,
      createRng(seed),
    );
    const t0 = performance.now();
    const background = await ports.background(i);
    const backgroundSeconds = (performance.now() - t0) / 1000;
    makeProgress();
    const ensembles: Float32Array[] = [];
    for (let s = 0; makeEnsemble !== undefined && s < S; s++) {
      ensembles.push(await makeEnsemble(i, background, samplerSeed(seed, s)));
      makeProgress();
    }
    const c: MadeCase = {
      stateIndex: i,
      seed,
      truth,
      truthN: normState(i),
      laterN: normState(i + opts.leadSteps),
      dTruth: levelDeviations(truth.data, levels, source.grid, shape, mask),
      obs,
      background,
      backgroundSeconds,
      ensembles,
      truthRows: new Map(),
    };
    for (const method of truthSeeing) {
      const runs: { analysis: MethodAnalysis; seconds: number }[] = [];
      for (let s = 0; s < runsOf(method); s++) {
        const t1 = performance.now();
        const a = await method.analyse(caseInput(c, k, s, () => undefined));
        runs.push({ analysis: a, seconds: a.seconds ?? (performance.now() - t1) / 1000 });
        makeProgress();
      }
      c.truthRows.set(method.id, runs);
    }
    made.push(c);
  }
  await opts.onCasesMade?.();

  // 2. Analyses from the case inputs alone, and their scores against the copies of the truth.
  const cases: EvalCase[] = [];
  let example: EvaluateResult['example'] | undefined;
  const total = opts.cases.length * methods.reduce((n, m) => n + runsOf(m), 0);
  let done = 0;
  for (const [k, c] of made.entries()) {
    const { stateIndex: i, truth } = c;
    const fields: Record<string, Field> = {};
    const scoreOf = async (
      id: string,
      a: MethodAnalysis,
      seconds: number,
      first: boolean,
    ): Promise<MethodScores> => {
      const x = a.analysis;
      const phys = physical(x);
      if (first) {
        fields[id] = { ...truth, data: phys };
        opts.onAnalysis?.(k, i, id, fields[id]);
      }
      const fc = await ports.forecast(x, i);
      const dev = levelDeviations(phys, levels, source.grid, shape, mask);
      const memberMse =
        a.members === undefined ? undefined : membersMse(a.members, c.truthN, shape, metricOpts);
      const ensembleScores =
        a.members === undefined || a.members.length === x.length
          ? {}
          : {
              crps: ensembleCrps(a.members, c.truthN, valueMask),
              rankCounts: rankHistogram(a.members, c.truthN, valueMask, c.seed),
            };
      return {
        mse: mse({ data: x, shape }, { data: c.truthN, shape }, metricOpts).overall,
        mae: mae({ data: x, shape }, { data: c.truthN, shape }, metricOpts).overall,
        wrmse: Array.from(
          latWeightedRmse({ data: phys, shape }, { data: truth.data, shape }, source.grid.latDeg, metricOpts)
            .perChannel,
        ),
        forecastMse: mse({ data: fc, shape }, { data: c.laterN, shape }, metricOpts).overall,
        geoScore: meanGeoScore(dev, c.dTruth, opts.geoScoreScale),
        geoDeviation: meanOrNaN(dev),
        seconds,
        ...(a.spread === undefined ? {} : { spread: a.spread }),
        ...(memberMse === undefined ? {} : { memberMse }),
        ...ensembleScores,
      };
    };
    const scores: Record<string, MethodScores> = {};
    scores.background = await scoreOf('background', { analysis: c.background }, c.backgroundSeconds, true);
    for (const method of methods) {
      const perSeed: MethodScores[] = [];
      for (let s = 0; s < runsOf(method); s++) {
        const made = c.truthRows.get(method.id)?.[s];
        let a: MethodAnalysis;
        let seconds: number;
        if (made !== undefined) ({ analysis: a, seconds } = made);
        else {
          const t0 = performance.now();
          a = await method.analyse(
            caseInput(c, k, s, (f) => progress('assimilate (test cases)', (done + f) / total)),
          );
          seconds = a.seconds ?? (performance.now() - t0) / 1000;
        }
        perSeed.push(await scoreOf(method.id, a, seconds, s === 0));
        progress('assimilate (test cases)', ++done / total);
      }
      scores[method.id] = averageScores(perSeed);
    }
    example ??= { truth, analyses: fields };
    cases.push({
      stateIndex: i,
      time: source.timeOf(i),
      observations: c.obs.values.length,
      truthGeoDeviation: meanOrNaN(c.dTruth),
      scores,
    });
  }
  return { cases, example: example as EvaluateResult['example'] };
}

/** One case as made before any analysis: its inputs, and the copies of the truth its scores read. */
interface MadeCase {
  readonly stateIndex: number;
  /** The case seed (observations, and the first sampler seed). */
  readonly seed: number;
  /** The truth (physical units), a copy. */
  readonly truth: Field;
  /** The normalised truth, and the normalised truth `leadSteps` on (forecast skill). */
  readonly truthN: Float32Array;
  readonly laterN: Float32Array;
  /** The truth's geostrophic deviation per level. */
  readonly dTruth: readonly number[];
  readonly obs: Observations;
  readonly background: Float32Array;
  readonly backgroundSeconds: number;
  /** The background ensemble per sampler seed index (empty without {@link EvaluatePorts.backgroundEnsemble}). */
  readonly ensembles: readonly Float32Array[];
  /** The analyses (and seconds) per sampler seed index of the methods that see the truth, by id. */
  readonly truthRows: Map<string, { analysis: MethodAnalysis; seconds: number }[]>;
}

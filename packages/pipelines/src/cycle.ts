/**
 * The cycle use case (issue 11, item 7): each method carries its own state (an analysis, or the LETKF's analysis
 * ensemble) through `cycles` analyses `intervalHours` apart on a nature run never trained on. Each cycle: the
 * background is the forecast of the method's previous analysis (physical model by default, emulator by option), the
 * observations are drawn afresh from the truth at the valid time (seeded by the cycle alone, the same for every
 * method), then the analysis. B and every tuning come from the training run (cycle-setup.ts). The state is saved
 * through a {@link CycleStore} after every cycle, and every random draw is seeded from (seed, cycle, stream), so a
 * resumed run gives the same series as an uninterrupted one.
 */
import type { Observations } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { fitNormStats } from '@alignda/tensor';
import type { NormStats } from '@alignda/tensor';
import { forecastModel, sourceStepHours } from '@alignda/world';
import type { DaSource } from '@alignda/world';
import { denormalise, normalise } from '@alignda/tensor';

import { cycleCard } from './cycle-card.js';
import { emulatorForecast, intervalSessions, latentAnalysers } from './cycle-latent.js';
import { cycleFingerprint, resolveCycleOptions } from './cycle-options.js';
import { climatology, cycleRecord, leadTime } from './cycle-score.js';
import type { SkillSpec } from './cycle-score.js';
import { classicalAnalysers, fitCycleSetup } from './cycle-setup.js';
import { climatePerturbation, cycleWorld, drawSeed, initialState, observeState } from './cycle-step.js';
import type { CycleAnalyser } from './cycle-step.js';
import { compareLatentClassical, summariseMethod } from './cycle-summary.js';
import { LATENT_CYCLE_METHODS } from './cycle-types.js';
import type {
  CarriedState,
  CycleComparison,
  CycleMethod,
  CycleMethodSummary,
  CycleOptions,
  CyclePorts,
  CycleRecord,
  CycleSetup,
  CycleState,
  SkillRecord,
} from './cycle-types.js';
import type { ProtocolCard } from './protocol.js';

/** The result of {@link runCycle}: the value cycle.json serialises. */
export interface CycleResult {
  readonly methods: readonly CycleMethod[];
  readonly protocol: ProtocolCard;
  readonly cycles: number;
  readonly intervalHours: number;
  readonly channels: readonly string[];
  readonly units: readonly string[];
  /** What the methods were fitted and tuned to (B statistics as numbers, tuning tables). */
  readonly setup: CycleSetup;
  /** The forecast skill: variable, threshold and the records every `every` cycles. */
  readonly skill: {
    readonly channel: string;
    readonly fraction: number;
    /** The threshold, physical units. */
    readonly threshold: number;
    readonly maxLeadHours: number;
    readonly every: number;
    readonly records: readonly SkillRecord[];
  };
  readonly series: Readonly<Record<string, readonly CycleRecord[]>>;
  /** Summaries over the last `summaryCycles` cycles. */
  readonly summaryCycles: number;
  readonly summary: Readonly<Record<string, CycleMethodSummary>>;
  /** The best latent method against the best classical one, when both ran. */
  readonly comparison?: CycleComparison;
  /** The cycle this run resumed at, when it resumed. */
  readonly resumedFrom?: number;
}

/** Normalisation of the training run's train period, every 4th state (daily), as the 3D-Var OSSE fits it. */
function trainingNorm(training: DaSource): NormStats {
  const [lo, hi] = training.periods.train;
  const n = training.shape[0] * training.shape[1] * training.shape[2];
  const idx: number[] = [];
  for (let i = lo; i < hi; i += 4) idx.push(i);
  const stack = new Float32Array(idx.length * n);
  idx.forEach((i, k) => stack.set(training.state(i).data, k * n));
  return fitNormStats(
    { data: stack, shape: [idx.length, ...training.shape] },
    { channels: training.channels },
  );
}

/** The physical model's forecast of one interval over a source's normalised states. */
function modelForecast(
  source: DaSource,
  norm: NormStats,
  hours: number,
): (x: Float32Array, i: number) => Promise<Float32Array> {
  const model = forecastModel();
  const shape = source.shape;
  return (x, i) => {
    const start = { ...source.field(i), data: denormalise({ data: x, shape }, norm).data };
    const end = model.forecast(start, hours, hours).at(-1) ?? start;
    return Promise.resolve(normalise({ data: end.data, shape }, norm).data);
  };
}

function check(ok: boolean, code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION', what: string): void {
  if (!ok) throw new AppError(code, `cycle: ${what}`);
}

/**
 * The states a scored run needs for these options: the initial state, the cycles and the last skill forecast.
 * @throws AppError `INVALID_ARGUMENT` for bad options (as {@link runCycle})
 */
export function cycleStatesNeeded(options: CycleOptions, stepHours = 6): number {
  const o = resolveCycleOptions(options);
  const skillSteps = o.skillEvery > 0 ? o.maxLeadHours / o.intervalHours : 0;
  return o.start + (o.cycles + skillSteps) * (o.intervalHours / stepHours) + 1;
}

/**
 * Where a cycle on a dataset starts: its test period (B and every tuning come from its train and alignment periods,
 * so nothing is chosen on the states it is scored on). Undefined for a nature run (its own start, state 0).
 */
function datasetCycleStart(source: DaSource): number | undefined {
  return source.kind === 'dataset' ? source.periods.test[0] : undefined;
}

/**
 * Runs (or resumes) the cycle; see the module comment.
 * @throws AppError `INVALID_ARGUMENT` for bad options (resolveCycleOptions) or a scored run too short for the
 *   cycles and the skill forecasts; `FAILED_PRECONDITION` when the scored run is the training run, a latent method or
 *   the emulator has no models, or a stored state was made with other options. Nothing is saved before these checks.
 */
export async function runCycle(
  source: DaSource,
  options: CycleOptions,
  ports: CyclePorts,
): Promise<CycleResult> {
  const datasetStart = datasetCycleStart(source);
  const o = resolveCycleOptions(
    datasetStart === undefined || options.start !== undefined ? options : { ...options, start: datasetStart },
  );
  const progress = options.onProgress ?? (() => undefined);
  const { training, models, store } = ports;
  const latent = o.methods.some((m) => (LATENT_CYCLE_METHODS as readonly string[]).includes(m));
  if (source.kind === 'dataset') {
    // One dataset is both runs: trained and tuned on its train and alignment periods, scored on its test period.
    check(
      training === source || training.title === source.title,
      'INVALID_ARGUMENT',
      `a cycle on the dataset ${source.name} takes its B and tuning from the same dataset's train and alignment periods`,
    );
    check(
      o.start >= source.periods.test[0],
      'INVALID_ARGUMENT',
      `a cycle on ${source.name} must start in its test period (state ${source.periods.test[0]} on), not at state ${o.start}`,
    );
  } else
    check(
      source.title !== training.title &&
        (source.nature === undefined || source.nature.seed !== training.nature?.seed),
      'FAILED_PRECONDITION',
      `the scored run is the training run (${source.title}): cycle on a nature run never trained on (another seed)`,
    );
  check(
    models !== undefined || (!latent && o.forecast === 'model'),
    'FAILED_PRECONDITION',
    'the latent methods and the emulator forecast need trained models (--model-dir)',
  );
  check(
    o.forecast !== 'model' || (source.kind === 'world' && training.kind === 'world'),
    'INVALID_ARGUMENT',
    `${source.name} has no physical model: cycle with the emulator forecast`,
  );
  check(
    source.shape.join() === training.shape.join(),
    'INVALID_ARGUMENT',
    `the scored run's states [${source.shape.join(', ')}] differ from the training run's [${training.shape.join(', ')}]`,
  );
  const stepHours = sourceStepHours(source);
  check(
    Number.isInteger(o.intervalHours / stepHours),
    'INVALID_ARGUMENT',
    `intervalHours ${o.intervalHours} is not a multiple of ${source.name}'s ${stepHours} h step`,
  );
  const steps = o.intervalHours / stepHours;
  const skillSteps = o.skillEvery > 0 ? o.maxLeadHours / o.intervalHours : 0;
  const need = cycleStatesNeeded({ ...options, start: o.start }, stepHours);
  check(
    need <= source.count,
    'INVALID_ARGUMENT',
    `${o.cycles} cycles of ${o.intervalHours} h from state ${o.start}${skillSteps > 0 ? ` and ${o.maxLeadHours} h skill forecasts` : ''} need ${need} states; ` +
      `${source.title} has ${source.count}` +
      (source.kind === 'world'
        ? `: use a longer nature run (about ${Math.ceil((need / 1460) * 100) / 100} years)`
        : ': fewer cycles, or a longer test period'),
  );
  const fingerprint = cycleFingerprint(o, source.title, training.title);
  const state = o.resume ? await store?.load() : undefined;
  check(
    state === undefined || state.fingerprint === fingerprint,
    'FAILED_PRECONDITION',
    'the stored cycle was made with other options or sources; resume with the same ones or start afresh',
  );

  const norm = state?.setup.norm ?? models?.vae.norm ?? trainingNorm(training);
  const one = models === undefined ? undefined : await intervalSessions(models, steps);
  const forecastOf = (src: DaSource): ((x: Float32Array, i: number) => Promise<Float32Array>) =>
    o.forecast === 'model' || one === undefined
      ? modelForecast(src, norm, o.intervalHours)
      : emulatorForecast(one, src.hourOf === undefined ? undefined : (i) => src.hourOf?.(i) ?? Number.NaN);
  const world = cycleWorld(source, norm, steps, forecastOf(source));
  const trainingWorld = cycleWorld(training, norm, steps, forecastOf(training));
  const clim = state?.setup ?? climatology(training, norm);
  const perturb = climatePerturbation(trainingWorld);
  const setup =
    state?.setup ??
    (await fitCycleSetup(
      trainingWorld,
      o,
      { norm, climStd: clim.climStd, threshold: clim.threshold },
      perturb,
      progress,
    ));
  const built = [
    ...classicalAnalysers(world, setup, o, perturb),
    ...(models === undefined || one === undefined ? [] : await latentAnalysers(models, one, world, o)),
  ];
  const analysers = o.methods.map((m) => built.find((a) => a.id === m) as CycleAnalyser);

  let carried: Record<string, CarriedState>;
  if (state !== undefined) carried = { ...state.carried };
  else {
    const x0 = initialState(world, o.start, drawSeed(o.seed, 0, 'init'), perturb, o.initialError);
    carried = Object.fromEntries(analysers.map((a) => [a.id, a.init(x0, drawSeed(o.seed, 0, a.id))]));
  }
  const series: Record<string, CycleRecord[]> = Object.fromEntries(
    o.methods.map((m) => [m, [...(state?.series[m] ?? [])]]),
  );
  const skill: SkillRecord[] = [...(state?.skill ?? [])];
  const first = state?.nextCycle ?? 0;
  const snapshot = (next: number): CycleState => ({
    version: 1,
    fingerprint,
    nextCycle: next,
    seed: o.seed,
    setup,
    carried: { ...carried },
    series: Object.fromEntries(Object.entries(series).map(([m, s]) => [m, [...s]])),
    skill: [...skill],
  });
  if (state === undefined) await store?.save(snapshot(0));

  const zChannel = Math.max(0, source.channels.indexOf('z_upper'));
  const spec: SkillSpec = {
    channel: zChannel,
    threshold: o.skillFraction * (setup.climStd[zChannel] as number),
    maxSteps: skillSteps,
    intervalHours: o.intervalHours,
  };
  for (let k = first; k < o.cycles; k++) {
    const from = o.start + k * steps;
    const valid = from + steps;
    const obs: Observations = observeState(world, valid, o.observe, drawSeed(o.seed, k, 'obs'));
    const analyses: Record<string, Float32Array> = {};
    for (const a of analysers) {
      const c = carried[a.id];
      if (c === undefined || c.stopped === true) continue;
      const t0 = performance.now();
      const out = await a.step(c, obs, from, k);
      const finite = out.analysis.every((v) => Number.isFinite(v));
      carried[a.id] = finite ? out.carried : { stopped: true };
      analyses[a.id] = out.analysis;
      (series[a.id] as CycleRecord[]).push(
        cycleRecord(world, out, obs, {
          cycle: k,
          stateIndex: valid,
          threshold: setup.threshold,
          seconds: (performance.now() - t0) / 1000,
        }),
      );
    }
    if (o.skillEvery > 0 && (k + 1) % o.skillEvery === 0) {
      const truthHours = await leadTime(world, world.truth(valid), valid, spec);
      const methods: SkillRecord['methods'] = {};
      for (const [id, x] of Object.entries(analyses)) {
        const hours = await leadTime(world, x, valid, spec);
        (methods as Record<string, SkillRecord['methods'][string]>)[id] = {
          hours,
          lost: hours === null || truthHours === null ? null : truthHours - hours,
        };
      }
      skill.push({ cycle: k, stateIndex: valid, truthHours, methods });
    }
    await store?.save(snapshot(k + 1));
    progress('cycle', (k + 1 - first) / (o.cycles - first));
  }

  const summary = Object.fromEntries(
    o.methods.map((m) => [
      m,
      summariseMethod(m, series[m] ?? [], skill, o.summaryCycles, carried[m]?.stopped === true),
    ]),
  );
  const comparison = compareLatentClassical(series, summary, o.summaryCycles, o.blockLength);
  return {
    methods: o.methods,
    protocol: cycleCard(o, {
      source,
      training,
      setup,
      ...(ports.priorBackground === undefined ? {} : { priorBackground: ports.priorBackground }),
    }),
    cycles: o.cycles,
    intervalHours: o.intervalHours,
    channels: source.channels,
    units: source.units,
    setup,
    skill: {
      channel: source.channels[zChannel] ?? '',
      fraction: o.skillFraction,
      threshold: spec.threshold,
      maxLeadHours: o.maxLeadHours,
      every: o.skillEvery,
      records: skill,
    },
    series,
    summaryCycles: o.summaryCycles,
    summary,
    ...(comparison === undefined ? {} : { comparison }),
    ...(state === undefined ? {} : { resumedFrom: first }),
  };
}

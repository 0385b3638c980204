/**
 * `alignda cycle` as a CLI run: checks the options, opens the training run (B and tuning) and the scored run (another
 * seed, long enough for every cycle and skill forecast), loads models when a latent method or the emulator needs
 * them, runs the cycle with a progress bar and a file state store, prints a table per method, and writes cycle.json
 * (protocol card, setup, series) and cycle-rmse.png.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { loadConfig } from '@alignda/config';
import { AppError } from '@alignda/errors';
import { fileModelStore } from '@alignda/nn';
import type { LatentModels } from '@alignda/nn';
import {
  LATENT_CYCLE_METHODS,
  TRAIN_PRESETS,
  cycleOptionsOf,
  cycleRequestSchema,
  cycleSourceYears,
  mean,
  runCycle,
} from '@alignda/pipelines';
import type {
  CycleForecast,
  CycleLatentPrior,
  CycleMethod,
  CycleOptions,
  CycleRequest,
  CycleResult,
  Preset,
} from '@alignda/pipelines';
import { openSource, sourceStepHours } from '@alignda/world';

import { fileCycleStore } from '../adapters/cycle-store.js';
import { formatTable } from '../format.js';
import { createProgress } from '../progress.js';
import { protocolLines } from './eval-report.js';
import { modelDir } from './train-run.js';

/** Options of `alignda cycle`. */
export interface CycleRunOptions {
  world: string;
  /** A registered dataset instead of the world: one run for B, tuning (train, alignment periods) and scoring (test). */
  dataset?: string;
  seed: number;
  years?: number;
  trainSeed: number;
  preset: Preset;
  /** Comma-separated method names. */
  methods: string;
  cycles: number;
  /** Hours between analyses. @defaultValue 6 on the world, the dataset's step on a dataset */
  interval?: number;
  /** @defaultValue 'model' on the world, 'emulator' on a dataset */
  forecast?: CycleForecast;
  members: number;
  latentMembers: number;
  latentPrior?: CycleLatentPrior;
  modelDir?: string;
  obsFraction: number;
  noise: number;
  skillEvery: number;
  sampleSeed: number;
  /** Tuning grids and setup sizes, JSON (the `tuning` of POST /v1/cycles). */
  tuning?: string;
  resume: boolean;
  out?: string;
}

/** What {@link runCycleCommand} wrote. */
export interface CycleOutcome {
  readonly json: string;
  readonly png: string | null;
  readonly result: CycleResult;
  readonly seconds: number;
}

const hours = (h: number | null): string => (h === null ? '-' : h.toFixed(0));

/** The table: one row per method, over the summary's window. */
export function cycleTable(res: CycleResult): string {
  const z = res.channels.indexOf('z_upper');
  const u = res.channels.indexOf('u_upper');
  const unit = (c: number): string => res.units[c] ?? '';
  return formatTable(
    [
      'method',
      'analysis RMSE',
      'background RMSE',
      ...(z >= 0 ? [`z_upper an. (${unit(z)})`] : []),
      ...(u >= 0 ? [`u_upper an. (${unit(u)})`] : []),
      'spread',
      'O-B rms',
      'O-A rms',
      'sigma_o Desroziers/R',
      'chi2',
      'diverged',
      'lead (h)',
      'lead lost (h)',
    ],
    res.methods.map((m) => {
      const s = res.summary[m];
      if (s === undefined) return [m];
      return [
        m,
        s.meanAnalysisRmse.toFixed(4),
        s.meanBackgroundRmse.toFixed(4),
        ...(z >= 0 ? [(s.meanAnalysisRmseByVar[z] ?? Number.NaN).toFixed(1)] : []),
        ...(u >= 0 ? [(s.meanAnalysisRmseByVar[u] ?? Number.NaN).toFixed(3)] : []),
        s.meanAnalysisSpread === undefined ? '-' : s.meanAnalysisSpread.toFixed(4),
        s.meanOmbRms.toFixed(4),
        s.meanOmaRms.toFixed(4),
        s.innovation === undefined
          ? '-'
          : (s.innovation.obsErrorStd / s.innovation.assumedObsErrorStd).toFixed(2),
        s.innovation?.chi2 === undefined ? '-' : s.innovation.chi2.toFixed(2),
        s.stopped
          ? `stopped (cycle ${s.firstDiverged ?? '?'})`
          : s.firstDiverged === null
            ? 'no'
            : `${s.divergedCycles} of ${s.cycles} (first ${s.firstDiverged})`,
        `${hours(s.meanLeadHours)}${s.censored > 0 ? ` (${s.censored} censored)` : ''}`,
        hours(s.meanLeadLostHours),
      ];
    }),
    '  ',
  );
}

/**
 * `--tuning` read with the schema POST /v1/cycles reads it with.
 * @throws AppError INVALID_ARGUMENT naming the bad field
 */
function parseTuning(json: string): CycleRequest['tuning'] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new AppError('INVALID_ARGUMENT', `--tuning is not JSON: ${(err as Error).message}`);
  }
  const parsed = cycleRequestSchema.shape.tuning.safeParse(value);
  if (!parsed.success) {
    const iss = parsed.error.issues[0];
    throw new AppError(
      'INVALID_ARGUMENT',
      `--tuning: ${iss?.path.join('.') ?? ''} ${iss?.message ?? 'is invalid'}`,
    );
  }
  return parsed.data;
}

/** Runs `alignda cycle`. */
export async function runCycleCommand(opts: CycleRunOptions): Promise<CycleOutcome> {
  const config = loadConfig();
  const onDataset = opts.dataset !== undefined;
  if (!onDataset && opts.seed === opts.trainSeed)
    throw new AppError(
      'INVALID_ARGUMENT',
      `--seed ${opts.seed} is the training run's seed: cycle on a nature run never trained on (e.g. --seed 2)`,
    );
  const forecast: CycleForecast = opts.forecast ?? (onDataset ? 'emulator' : 'model');
  // A dataset is opened first (a registry read): its step is the default interval.
  const dataset =
    opts.dataset === undefined ? undefined : await openSource(config, { dataset: opts.dataset, seed: opts.seed, years: 1 });
  const methods = opts.methods
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m.length > 0);
  // The same options POST /v1/cycles builds (packages/pipelines' cycle-request.ts), so both give the same series.
  const options: CycleOptions = cycleOptionsOf({
    methods: methods as CycleMethod[],
    cycles: opts.cycles,
    intervalHours: opts.interval ?? (dataset === undefined ? 6 : sourceStepHours(dataset)),
    forecast,
    members: opts.members,
    latentMembers: opts.latentMembers,
    ...(opts.latentPrior === undefined ? {} : { latentPrior: opts.latentPrior }),
    obsFraction: opts.obsFraction,
    noise: opts.noise,
    skillEvery: opts.skillEvery,
    sampleSeed: opts.sampleSeed,
    seed: opts.seed,
    trainSeed: opts.trainSeed,
    ...(opts.tuning === undefined ? {} : { tuning: parseTuning(opts.tuning) }),
  });
  // Checks every option (AppError INVALID_ARGUMENT) before anything is generated or written.
  const shortest = cycleSourceYears(options);
  const years = opts.years ?? shortest;
  const sourceName = opts.dataset ?? opts.world;
  const out = path.resolve(
    opts.out ?? path.join(config.homeDir, 'cycle', onDataset ? sourceName : `qg-s${opts.seed}`),
  );
  const store = fileCycleStore(out);
  if (!opts.resume && store.exists())
    throw new AppError(
      'ALREADY_EXISTS',
      `a cycle state is kept in ${store.location}: pass --resume to continue it, or give another --out`,
    );
  const latent = methods.some((m) => (LATENT_CYCLE_METHODS as readonly string[]).includes(m));
  let models: LatentModels | undefined;
  let priorBackground: string | undefined;
  if (latent || forecast === 'emulator') {
    const dir = path.resolve(opts.modelDir ?? modelDir(config.homeDir, sourceName, opts.preset, forecast));
    const modelStore = fileModelStore(dir);
    models = await modelStore.loadAll();
    priorBackground = (await modelStore.readManifest())?.background ?? 'emulator';
  }
  const progress = createProgress();
  const onProgress = (s: string, f: number): void => progress.update(s, f);
  // On a dataset one run is both: B and tuning from its train and alignment periods, the scores from its test period.
  const training =
    dataset ??
    (await openSource(config, {
      world: opts.world,
      seed: opts.trainSeed,
      years: TRAIN_PRESETS[opts.preset].years,
      onProgress,
    }));
  const source =
    dataset ?? (await openSource(config, { world: opts.world, seed: opts.seed, years, onProgress }));
  progress.stop();
  console.log(
    onDataset
      ? `scored: ${source.title}, test period (${source.periods.test[1] - source.periods.test[0]} states); B and tuning: its train and alignment periods`
      : `scored: ${source.title} (${source.count} states); B and tuning: ${training.title}`,
  );
  console.log(
    `${opts.cycles} cycles of ${options.intervalHours ?? 6} h, methods ${methods.join(', ')}, forecast ${forecast}${opts.resume ? ', resuming' : ''}`,
  );
  const t0 = performance.now();
  const res = await runCycle(
    source,
    { ...options, resume: opts.resume, onProgress },
    {
      training,
      store,
      ...(models === undefined ? {} : { models }),
      ...(priorBackground === undefined ? {} : { priorBackground }),
    },
  );
  progress.stop();
  const seconds = (performance.now() - t0) / 1000;
  const s = res.setup;
  if (s.var3d !== undefined) console.log(`3D-Var length scale ${s.var3d.lengthScaleKm} km`);
  if (s.balanced !== undefined)
    console.log(`balanced 3D-Var length-scale multiplier ${s.balanced.multiplier}`);
  if (s.letkf !== undefined)
    console.log(
      `LETKF inflation ${s.letkf.inflation}, RTPS ${s.letkf.rtps}, half-width ${s.letkf.halfWidthKm} km`,
    );
  if (s.hybrid !== undefined)
    console.log(`hybrid EnVar weight ${s.hybrid.weight}, half-width ${s.hybrid.halfWidthKm} km`);
  console.log(
    `means over the last ${res.summaryCycles} of ${res.cycles} cycles (RMSE normalised unless a unit is given; diverged: analysis RMSE > ${s.threshold.toFixed(4)}):`,
  );
  console.log(cycleTable(res));
  const truth = res.skill.records.flatMap((r) => (r.truthHours === null ? [] : [r.truthHours]));
  if (res.skill.every > 0)
    console.log(
      `lead time: hours until the ${res.skill.channel} RMSE of the forecast reaches ${res.skill.fraction} x its climatological std ` +
        `(${res.skill.threshold.toFixed(1)}), every ${res.skill.every} cycles (${res.skill.records.length} starts); ` +
        `from the truth itself (the model error alone): ${truth.length === 0 ? '-' : mean(truth).toFixed(0)} h; lead lost = truth's - analysis's`,
    );
  const c = res.comparison;
  if (c !== undefined)
    console.log(
      `best latent ${c.latent} / best classical ${c.classical}, mean analysis RMSE: ${c.iid.ratio.toFixed(3)} ` +
        `[block bootstrap ${c.blockLo.toFixed(3)}, ${c.blockHi.toFixed(3)}; i.i.d. ${c.iid.lo.toFixed(3)}, ${c.iid.hi.toFixed(3)}, p ${c.iid.p.toFixed(3)}] (${c.note})`,
    );
  for (const l of protocolLines(res.protocol)) console.log(l);
  mkdirSync(out, { recursive: true });
  const json = path.join(out, 'cycle.json');
  writeFileSync(
    json,
    JSON.stringify(
      {
        source: source.title,
        training: training.title,
        options: { ...opts, years },
        seconds,
        ...res,
      },
      (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
      1,
    ),
  );
  let png: string | null = path.join(out, 'cycle-rmse.png');
  try {
    // Loaded here, not at start-up: echarts and resvg are only needed once a cycle has run.
    const { writeCycleRmsePng } = await import('../adapters/cycle-plot.js');
    writeCycleRmsePng(res, png);
  } catch (err) {
    // The numbers are on disk already; a plot that cannot be drawn must not lose them.
    console.error(`alignda: warning: no plot: ${(err as Error).message}`);
    png = null;
  }
  console.log(
    `results: ${json}${png === null ? '' : `, ${png}`}; state: ${store.location}; ${seconds.toFixed(1)} s`,
  );
  return { json, png, result: res, seconds };
}

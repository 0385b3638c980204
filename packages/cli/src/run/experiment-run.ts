/**
 * `alignda experiment align` as a CLI run: the alignment experiment of issue 12 (train the reference, align P, M and
 * 4, evaluate them beside it) as a chain of stages that each call an existing run (runTrain, runAlign, runEval).
 *
 * A stage's key is the sha256 of its inputs (the options that change its outputs) and of the keys of the stages it
 * needs. A finished stage writes `<home>/experiments/<name>/<stage>.done.json` (key, finishedAt, seconds, outputs);
 * on a rerun a stage whose done-file has the same key, whose outputs are still there and whose dependencies are
 * the very runs it was made from is skipped ("cached"); any other stage runs, and its own resumability (training
 * checkpoints, a reused preference set, the DPO checkpoint) does the rest. A stage that started under its current
 * key and did not finish shows as "resume". Nothing is marked done unless its run returned.
 *
 * The planning is pure (experiment-plan.ts: stageKeys, planExperiment, estimateMinutes); runExperiment drives
 * injected stage runners.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { loadConfig } from '@alignda/config';
import { AppError, toAppError } from '@alignda/errors';
import { MODEL_FILES, MODEL_MANIFEST_FILE } from '@alignda/nn';
import { TRAIN_PRESETS, defaultBackground } from '@alignda/pipelines';
import type { PreferenceSetName, Preset } from '@alignda/pipelines';

import {
  EXPERIMENT_FORMAT,
  STAGE_LIMIT_MINUTES,
  planExperiment,
  planTable,
  stageKeys,
} from './experiment-plan.js';
import type { DoneRecord, Plan, StageSpec, StageState, StartedRecord } from './experiment-plan.js';
import type { SourceFlags } from '../source-options.js';
import type { AlignRunOptions } from './align-run.js';
import type { EvalOutcome, EvalRunOptions } from './eval-run.js';
import type { TrainRunOptions } from './train-run.js';
import { modelDir } from './train-run.js';

export const doneFile = (dir: string, stage: string): string => path.join(dir, `${stage}.done.json`);
const startedFile = (dir: string, stage: string): string => path.join(dir, `${stage}.started.json`);

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined; // missing or unreadable: as if the stage had never run
  }
}

/** Writes through a temporary file and a rename, so a done-file is whole or absent. */
function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

/** The records of each stage in `dir`. */
export function readStageStates(dir: string, stages: readonly StageSpec[]): Map<string, StageState> {
  const states = new Map<string, StageState>();
  for (const s of stages) {
    const done = readJson<DoneRecord>(doneFile(dir, s.name));
    const started = readJson<StartedRecord>(startedFile(dir, s.name));
    states.set(s.name, {
      ...(done?.format === EXPERIMENT_FORMAT ? { done } : {}),
      ...(started === undefined ? {} : { started }),
    });
  }
  return states;
}

/** Options of {@link runExperiment}. */
export interface ExperimentDriverOptions {
  /** The experiment folder (done-files, summary). */
  readonly dir: string;
  /** Run only this stage. */
  readonly only?: string;
  /** Print the plan only. */
  readonly dryRun?: boolean;
  readonly log?: (line: string) => void;
  readonly now?: () => Date;
}

const hhmm = (d: Date): string =>
  `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;

/**
 * Prints the plan, then runs the stages it selects in order, each after an ETA line, and writes each one's
 * done-file when its run returns.
 * @returns the plan and the stage records after the run
 * @throws AppError `FAILED_PRECONDITION` when `only` is refused; a failed stage's error with the stage named (its
 *   code kept, so the exit status is the stage's)
 */
export async function runExperiment(
  stages: readonly StageSpec[],
  opts: ExperimentDriverOptions,
): Promise<{ plan: Plan; states: Map<string, StageState> }> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const now = opts.now ?? (() => new Date());
  const states = readStageStates(opts.dir, stages);
  const plan = planExperiment(stages, states, existsSync, opts.only);
  log(`experiment ${opts.dir}:`);
  log(planTable(plan));
  const hint = (name: string): string => {
    const how = stages.find((s) => s.name === name)?.shorten;
    return how === undefined ? '' : `: ${how}`;
  };
  for (const r of plan.rows)
    if (r.runNow && r.minutes > STAGE_LIMIT_MINUTES)
      log(
        `warning: ${r.stage} is estimated at ${r.minutes.toFixed(0)} min (${r.estimatedFrom}), over ${STAGE_LIMIT_MINUTES} min${hint(r.stage)}`,
      );
  if (plan.refused !== undefined) throw new AppError('FAILED_PRECONDITION', plan.refused);
  if (opts.dryRun === true) return { plan, states };
  mkdirSync(opts.dir, { recursive: true });
  const todo = plan.rows.filter((r) => r.runNow);
  if (todo.length === 0)
    log(`nothing to run: ${opts.only === undefined ? 'every stage is' : `${opts.only} is`} cached`);
  const keys = stageKeys(stages);
  for (const [i, row] of todo.entries()) {
    const spec = stages.find((s) => s.name === row.stage) as StageSpec;
    const key = keys.get(spec.name) as string;
    const start = now();
    const remaining = todo.slice(i).reduce((sum, r) => sum + r.minutes, 0);
    log(
      `[${i + 1}/${todo.length}] ${spec.name} (${row.status}, key ${key.slice(0, 12)}): about ${row.minutes.toFixed(0)} min (${row.estimatedFrom}); ETA ${hhmm(new Date(start.getTime() + row.minutes * 60_000))}, all stages of this run ${hhmm(new Date(start.getTime() + remaining * 60_000))}`,
    );
    writeJsonAtomic(startedFile(opts.dir, spec.name), {
      key,
      startedAt: start.toISOString(),
    } satisfies StartedRecord);
    let outputs: readonly string[];
    try {
      outputs = await spec.run();
    } catch (err) {
      const e = toAppError(err);
      const minutes = ((now().getTime() - start.getTime()) / 60_000).toFixed(1);
      throw new AppError(
        e.code,
        `experiment stage ${spec.name} failed after ${minutes} min: ${e.message} (not marked done; rerun the same command to resume)`,
        { cause: err },
      );
    }
    const missing = outputs.filter((f) => !existsSync(f));
    if (missing.length > 0)
      throw new AppError(
        'INTERNAL',
        `experiment stage ${spec.name} returned but ${missing.join(', ')} is missing (not marked done)`,
      );
    const end = now();
    const done: DoneRecord = {
      format: EXPERIMENT_FORMAT,
      stage: spec.name,
      key,
      finishedAt: end.toISOString(),
      seconds: (end.getTime() - start.getTime()) / 1000,
      work: spec.work,
      deps: Object.fromEntries(spec.deps.map((d) => [d, states.get(d)?.done?.finishedAt ?? ''])),
      outputs: [...outputs],
    };
    writeJsonAtomic(doneFile(opts.dir, spec.name), done);
    rmSync(startedFile(opts.dir, spec.name), { force: true });
    states.set(spec.name, { done });
    log(`${spec.name}: done in ${(done.seconds / 60).toFixed(1)} min; ${doneFile(opts.dir, spec.name)}`);
  }
  return { plan, states };
}

/** Options of `alignda experiment align`. */
export interface AlignExperimentOptions extends SourceFlags {
  preset: Preset;
  /** The preference sets to align (`--sets P,M,4`). */
  sets: PreferenceSetName[];
  cases: number;
  seeds: number;
  members: number;
  stage?: string;
  dryRun?: boolean;
}

/** The options a plain `alignda train`, `align` and `eval` would get (commander's defaults of those commands). */
export interface StageDefaults {
  readonly train: Pick<TrainRunOptions, 'jobs'>;
  readonly align: Omit<AlignRunOptions, keyof SourceFlags | 'preset' | 'set'>;
  readonly eval: Omit<
    EvalRunOptions,
    keyof SourceFlags | 'preset' | 'models' | 'cases' | 'seeds' | 'members'
  >;
}

/** The runs the stages call: runTrain, runAlign, runEval in the CLI; fakes in tests. */
export interface StageRunners {
  train(opts: TrainRunOptions): Promise<void>;
  align(opts: AlignRunOptions): Promise<void>;
  eval(opts: EvalRunOptions): Promise<Pick<EvalOutcome, 'json'>>;
}

/**
 * Per-preset guesses, in minutes on 2 cores, used until a stage has run once (then its own seconds, scaled by the
 * work, replace them). They are guesses, not measurements: ci's come from docs/results/align-qg-ci.md on a loaded
 * machine (train ~3 min, align M 149 s, eval 16 cases x 2 seeds x 2 models: 425 s with 1 member, 2279 s with 8);
 * small's scale ci's by its longer training (README: under an hour on 2 cores) and its wider nets (~6x per sampler
 * call, a guess); full's are for a GPU worker and are rougher still.
 */
export const STAGE_GUESSES: Record<
  Preset,
  { train: number; align: number; evalBase: number; evalPerCaseSeedModel: number }
> = {
  ci: { train: 3, align: 3, evalBase: 1, evalPerCaseSeedModel: 0.1 },
  small: { train: 55, align: 25, evalBase: 5, evalPerCaseSeedModel: 0.6 },
  full: { train: 600, align: 240, evalBase: 30, evalPerCaseSeedModel: 3 },
};

/** An ensemble of `members` costs about 1 + 0.6 (members - 1) single analyses (2279 s / 425 s at 8 members on ci). */
const memberFactor = (members: number): number => 1 + 0.6 * (members - 1);

/** The experiment's folder name: `align-<source>-<preset>`. */
export function alignExperimentName(
  opts: Pick<AlignExperimentOptions, 'world' | 'dataset' | 'preset'>,
): string {
  return `align-${opts.dataset ?? opts.world ?? 'qg'}-${opts.preset}`;
}

/** What a stage writes to the key: the options without those that only say where or how fast. */
const keyInputs = (o: object, drop: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !drop.includes(k)));

/**
 * The stages of the alignment experiment: train (the reference), align-<set> for each set, eval of ref and the
 * sets. Pure: the runners are called only by `run`.
 * @param home - ALIGNDA_HOME
 */
export function alignExperimentStages(
  opts: AlignExperimentOptions,
  defaults: StageDefaults,
  runners: StageRunners,
  home: string,
): StageSpec[] {
  const sourceName = opts.dataset ?? opts.world ?? 'qg';
  const source: SourceFlags =
    opts.dataset !== undefined
      ? { dataset: opts.dataset, seed: opts.seed, years: opts.years ?? TRAIN_PRESETS[opts.preset].years }
      : { world: sourceName, seed: opts.seed, years: opts.years ?? TRAIN_PRESETS[opts.preset].years };
  const background = defaultBackground({ kind: opts.dataset !== undefined ? 'dataset' : 'world' });
  const models = modelDir(home, sourceName, opts.preset, background);
  const dir = path.join(home, 'experiments', alignExperimentName(opts));
  const guess = STAGE_GUESSES[opts.preset];
  const preset = TRAIN_PRESETS[opts.preset];

  const train: TrainRunOptions = {
    ...defaults.train,
    ...source,
    preset: opts.preset,
    background,
    model: 'all',
  };
  const stages: StageSpec[] = [
    {
      name: 'train',
      deps: [],
      inputs: keyInputs(train, ['jobs', 'out']),
      work: preset.vae.steps + preset.emulator.steps + preset.score.steps,
      guessMinutes: guess.train,
      run: async () => {
        await runners.train(train);
        if (process.exitCode === 130) throw new AppError('CANCELLED', 'training was interrupted');
        return [...Object.values(MODEL_FILES), MODEL_MANIFEST_FILE].map((f) => path.join(models, f));
      },
    },
  ];
  for (const set of opts.sets) {
    const align: AlignRunOptions = { ...defaults.align, ...source, preset: opts.preset, set, background };
    stages.push({
      name: `align-${set}`,
      deps: ['train'],
      inputs: keyInputs(align, ['modelDir']),
      work: align.conditions * align.candidates * align.steps,
      guessMinutes: guess.align,
      run: async () => {
        await runners.align(align);
        return [`score-aligned-${set}.safetensors`, `preferences-${set}.safetensors`].map((f) =>
          path.join(models, f),
        );
      },
    });
  }
  const evalOpts: EvalRunOptions = {
    ...defaults.eval,
    ...source,
    preset: opts.preset,
    background,
    models: ['ref', ...opts.sets],
    cases: opts.cases,
    seeds: opts.seeds,
    members: opts.members,
    out: path.join(dir, 'eval'),
  };
  const units = opts.cases * opts.seeds * (1 + opts.sets.length) * memberFactor(opts.members);
  stages.push({
    name: 'eval',
    deps: ['train', ...opts.sets.map((s) => `align-${s}`)],
    inputs: keyInputs(evalOpts, ['out', 'modelDir']),
    work: units,
    guessMinutes: guess.evalBase + guess.evalPerCaseSeedModel * units,
    shorten: 'fewer --cases, --seeds or --members shorten it (its cost grows with their product)',
    run: async () => {
      const { json } = await runners.eval(evalOpts);
      const out = path.dirname(json);
      const figures = readdirSync(out)
        .filter((f) => f.endsWith('.png'))
        .map((f) => path.join(out, f));
      return [json, ...figures];
    },
  });
  return stages;
}

/** `<experiment>/summary.json`: eval.json's gains, calibration and trends, and where the figures are. */
export function writeExperimentSummary(dir: string, evalDone: DoneRecord): string {
  const json = evalDone.outputs.find((f) => f.endsWith('.json')) as string;
  const res = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
  const file = path.join(dir, 'summary.json');
  writeJsonAtomic(file, {
    experiment: path.basename(dir),
    evalKey: evalDone.key,
    finishedAt: evalDone.finishedAt,
    eval: json,
    figures: evalDone.outputs.filter((f) => f.endsWith('.png')),
    gains: res.gains ?? null,
    calibration: res.calibration ?? null,
    trends: res.trends ?? null,
  });
  return file;
}

/** Runs `alignda experiment align` with the given runners (runTrain, runAlign, runEval from the command). */
export async function runAlignExperiment(
  opts: AlignExperimentOptions,
  defaults: StageDefaults,
  runners: StageRunners,
  log: (line: string) => void = (l) => console.log(l),
): Promise<void> {
  if (opts.world !== undefined && opts.dataset !== undefined)
    throw new AppError('INVALID_ARGUMENT', 'give either --world or --dataset, not both');
  const home = loadConfig().homeDir;
  const dir = path.join(home, 'experiments', alignExperimentName(opts));
  const stages = alignExperimentStages(opts, defaults, runners, home);
  const trainDone = readStageStates(dir, stages.slice(0, 1)).get('train')?.done;
  if (trainDone !== undefined && trainDone.key !== stageKeys(stages).get('train'))
    log(
      'note: train ran before with other options; it resumes the checkpoints in the model folder as they are (remove the folder to train afresh)',
    );
  const { plan, states } = await runExperiment(stages, {
    dir,
    log,
    ...(opts.stage === undefined ? {} : { only: opts.stage }),
    ...(opts.dryRun === true ? { dryRun: true } : {}),
  });
  if (opts.dryRun === true) return;
  const evalDone = states.get('eval')?.done;
  const evalKey = plan.rows.find((r) => r.stage === 'eval')?.key;
  if (evalDone !== undefined && evalDone.key === evalKey && (opts.stage ?? 'eval') === 'eval') {
    const summary = writeExperimentSummary(dir, evalDone);
    const figures = evalDone.outputs.filter((f) => f.endsWith('.png'));
    log(`summary (gains, calibration, trends): ${summary}`);
    log(
      `figures: ${figures.length > 0 ? `${figures.length} maps in ${path.dirname(figures[0] as string)}` : 'none'}; eval.json: ${evalDone.outputs[0] ?? ''}`,
    );
  } else if (opts.stage !== undefined) {
    const next = plan.rows.find((r) => r.stage !== opts.stage && r.status !== 'cached');
    if (next !== undefined) log(`next: --stage ${next.stage}`);
  }
}

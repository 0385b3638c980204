/**
 * The pure planning of `alignda experiment`: stage keys (the sha256 of a stage's inputs and of the keys of the stages
 * it needs), the plan (cached / resume / to run, from the done- and started-files' records) with estimated minutes,
 * and its table. experiment-run.ts reads the records and drives the stages.
 */
import { createHash } from 'node:crypto';

import { AppError } from '@alignda/errors';

import { formatTable } from '../format.js';

/** The format tag of the done-files. */
export const EXPERIMENT_FORMAT = 'alignda-experiment/1';

/** The longest a stage should take (issue 12: each stage at most an hour on 2 cores); longer ones are flagged. */
export const STAGE_LIMIT_MINUTES = 60;

/** One stage of an experiment. */
export interface StageSpec {
  /** `train`, `align-P`, ..., `eval`. */
  readonly name: string;
  /** The stages whose outputs it reads (earlier in the list). */
  readonly deps: readonly string[];
  /** What changes its outputs (JSON values; `undefined` fields are left out of the key). */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** A size of the work in arbitrary units: an estimate from a previous run is scaled by the ratio of the two. */
  readonly work: number;
  /** The estimate when no previous run of the stage is on record. */
  readonly guessMinutes: number;
  /** How to make it shorter, for the warning of a stage estimated over {@link STAGE_LIMIT_MINUTES}. */
  readonly shorten?: string;
  /** Runs the stage; resolves to the files it made. */
  readonly run: () => Promise<readonly string[]>;
}

/** `<stage>.done.json`. */
export interface DoneRecord {
  readonly format: typeof EXPERIMENT_FORMAT;
  readonly stage: string;
  readonly key: string;
  readonly finishedAt: string;
  readonly seconds: number;
  readonly work: number;
  /** The finishedAt of each dependency's done-file when this stage ran: a dependency rerun since makes it stale. */
  readonly deps: Readonly<Record<string, string>>;
  readonly outputs: readonly string[];
}

/** `<stage>.started.json`: written when a stage starts, removed when it is done. */
export interface StartedRecord {
  readonly key: string;
  readonly startedAt: string;
}

/** What is on record of a stage. */
export interface StageState {
  readonly done?: DoneRecord;
  readonly started?: StartedRecord;
}

export type StageStatus = 'cached' | 'resume' | 'to run';

/** A row of the plan. */
export interface PlanRow {
  readonly stage: string;
  readonly status: StageStatus;
  /** Whether this invocation runs it (`--stage` picks one; a cached stage is never run). */
  readonly runNow: boolean;
  readonly minutes: number;
  readonly estimatedFrom: 'last run' | 'guess';
  readonly key: string;
}

/** The plan of an invocation; `refused` says why it may not run (a dependency of `--stage` is not done). */
export interface Plan {
  readonly rows: readonly PlanRow[];
  readonly refused?: string;
}

/** JSON with sorted object keys and `undefined` fields left out, so equal inputs always hash alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A stage's key: sha256 (hex) of its name, its inputs and its dependencies' keys. */
export function stageKey(
  name: string,
  inputs: Readonly<Record<string, unknown>>,
  depKeys: Readonly<Record<string, string>>,
): string {
  return createHash('sha256')
    .update(canonicalJson({ format: EXPERIMENT_FORMAT, stage: name, inputs, deps: depKeys }))
    .digest('hex');
}

/**
 * The key of every stage, in order.
 * @throws AppError `INTERNAL` when a stage needs one that is not before it
 */
export function stageKeys(stages: readonly StageSpec[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const s of stages) {
    const depKeys: Record<string, string> = {};
    for (const d of s.deps) {
      const k = keys.get(d);
      if (k === undefined)
        throw new AppError('INTERNAL', `stage ${s.name} needs ${d}, which is not before it`);
      depKeys[d] = k;
    }
    keys.set(s.name, stageKey(s.name, s.inputs, depKeys));
  }
  return keys;
}

/**
 * Minutes a stage should take: the last run's seconds scaled by the work ratio when a done-file (of any key) is
 * on record, else the stage's guess.
 */
export function estimateMinutes(
  stage: Pick<StageSpec, 'work' | 'guessMinutes'>,
  done: DoneRecord | undefined,
): { minutes: number; from: 'last run' | 'guess' } {
  if (done !== undefined && done.seconds > 0 && done.work > 0 && stage.work > 0)
    return { minutes: (done.seconds / 60) * (stage.work / done.work), from: 'last run' };
  return { minutes: stage.guessMinutes, from: 'guess' };
}

/**
 * The plan: each stage cached (its done-file has its key, its outputs exist, and each dependency is cached and is
 * the run it was made from), resume (started under its key, not finished) or to run; with `only`, just that stage
 * runs, refused while a dependency is not cached.
 * @throws AppError `INVALID_ARGUMENT` when `only` names no stage
 */
export function planExperiment(
  stages: readonly StageSpec[],
  states: ReadonlyMap<string, StageState>,
  exists: (file: string) => boolean,
  only?: string,
): Plan {
  if (only !== undefined && !stages.some((s) => s.name === only))
    throw new AppError(
      'INVALID_ARGUMENT',
      `--stage: no stage '${only}'; choose from ${stages.map((s) => s.name).join(', ')}`,
    );
  const keys = stageKeys(stages);
  const status = new Map<string, StageStatus>();
  const rows: PlanRow[] = [];
  let refused: string | undefined;
  for (const s of stages) {
    const key = keys.get(s.name) as string;
    const { done, started } = states.get(s.name) ?? {};
    const depsCurrent = s.deps.every(
      (d) =>
        status.get(d) === 'cached' &&
        done?.deps[d] !== undefined &&
        done.deps[d] === states.get(d)?.done?.finishedAt,
    );
    const st: StageStatus =
      done?.key === key && depsCurrent && done.outputs.every(exists)
        ? 'cached'
        : started?.key === key
          ? 'resume'
          : 'to run';
    status.set(s.name, st);
    if (s.name === only) {
      const missing = s.deps.filter((d) => status.get(d) !== 'cached');
      if (missing.length > 0)
        refused = `stage ${s.name} needs ${missing.join(', ')}, not done with these options; run --stage ${missing[0]} first (or leave --stage out)`;
    }
    const est = estimateMinutes(s, done);
    rows.push({
      stage: s.name,
      status: st,
      runNow: st !== 'cached' && (only === undefined || only === s.name),
      minutes: est.minutes,
      estimatedFrom: est.from,
      key,
    });
  }
  return refused === undefined ? { rows } : { rows, refused };
}

/** The plan as a table: stage, status, whether it runs now, estimated minutes and their source, key prefix. */
export function planTable(plan: Plan): string {
  return formatTable(
    ['stage', 'status', 'now', 'est. min', 'estimate', 'key'],
    plan.rows.map((r) => [
      r.stage,
      r.status,
      r.runNow ? 'run' : 'skip',
      r.status === 'cached' ? '-' : r.minutes.toFixed(0),
      r.status === 'cached' ? '-' : r.estimatedFrom,
      r.key.slice(0, 12),
    ]),
    '  ',
  );
}

/** `<dir>/<stage>.done.json`. */

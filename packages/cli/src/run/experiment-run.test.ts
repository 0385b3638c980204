import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { AlignRunOptions } from './align-run.js';
import type { EvalRunOptions } from './eval-run.js';
import { canonicalJson, estimateMinutes, planExperiment, stageKey, stageKeys } from './experiment-plan.js';
import type { DoneRecord, StageSpec, StageState } from './experiment-plan.js';
import { alignExperimentStages, doneFile, runExperiment, writeExperimentSummary } from './experiment-run.js';
import type { AlignExperimentOptions, StageDefaults, StageRunners } from './experiment-run.js';
import type { TrainRunOptions } from './train-run.js';

const root = mkdtempSync(path.join(tmpdir(), 'alignda-experiment-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const DEFAULTS: StageDefaults = {
  train: { jobs: 2 },
  align: { candidates: 32, conditions: 24, steps: 64, pairSeed: 11 },
  eval: {
    obsLayout: 'values',
    obsFraction: 0.01,
    noise: 0.02,
    ensembleMembers: 16,
    steps: 64,
    corrections: 1,
    sampleSeed: 7,
  },
};

const OPTS: AlignExperimentOptions = {
  world: 'qg',
  seed: 1,
  preset: 'ci',
  sets: ['P', 'M', '4'],
  cases: 64,
  seeds: 3,
  members: 8,
};

/** Runners that write the files the real runs write, and count their calls. */
function fakeRunners(home: string, fail?: string): StageRunners & { calls: string[] } {
  const calls: string[] = [];
  const touch = (file: string): void => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'x');
  };
  const models = path.join(home, 'models', 'qg-ci-model');
  return {
    calls,
    train: (o: TrainRunOptions) => {
      calls.push('train');
      if (fail === 'train') return Promise.reject(new Error('out of memory'));
      for (const f of ['vae.safetensors', 'emulator.safetensors', 'score.safetensors', 'models.json'])
        touch(path.join(models, f));
      expect(o).toMatchObject({ model: 'all', preset: 'ci', background: 'model', years: 0.5 });
      return Promise.resolve();
    },
    align: (o: AlignRunOptions) => {
      calls.push(`align-${o.set}`);
      if (fail === `align-${o.set}`) return Promise.reject(new Error('DPO diverged'));
      touch(path.join(models, `score-aligned-${o.set}.safetensors`));
      touch(path.join(models, `preferences-${o.set}.safetensors`));
      return Promise.resolve();
    },
    eval: (o: EvalRunOptions) => {
      calls.push('eval');
      const out = o.out as string;
      mkdirSync(out, { recursive: true });
      const json = path.join(out, 'eval.json');
      writeFileSync(
        json,
        JSON.stringify({ gains: { M: 1 }, calibration: { obsfree: 2 }, trends: [3], cases: [] }),
      );
      touch(path.join(out, 'case0-dps.png'));
      return Promise.resolve({ json });
    },
  };
}

/** A chain a -> b -> c of stages that do nothing. */
function chain(inputs: Record<string, unknown> = {}): StageSpec[] {
  const run = (): Promise<string[]> => Promise.resolve([]);
  return [
    { name: 'a', deps: [], inputs: { x: 1, ...inputs }, work: 1, guessMinutes: 10, run },
    { name: 'b', deps: ['a'], inputs: { y: 2 }, work: 1, guessMinutes: 20, run },
    { name: 'c', deps: ['a', 'b'], inputs: { z: 3 }, work: 1, guessMinutes: 30, run },
  ];
}

const done = (
  stage: string,
  key: string,
  deps: Record<string, string> = {},
  outputs: string[] = [],
): DoneRecord => ({
  format: 'alignda-experiment/1',
  stage,
  key,
  finishedAt: `finished-${stage}`,
  seconds: 120,
  work: 1,
  deps,
  outputs,
});

/** States in which every stage of `stages` finished under its current key. */
function allDone(stages: StageSpec[]): Map<string, StageState> {
  const keys = stageKeys(stages);
  const states = new Map<string, StageState>();
  for (const s of stages) {
    const deps = Object.fromEntries(s.deps.map((d) => [d, states.get(d)?.done?.finishedAt ?? '']));
    states.set(s.name, { done: done(s.name, keys.get(s.name) as string, deps) });
  }
  return states;
}

const statuses = (rows: readonly { stage: string; status: string }[]): Record<string, string> =>
  Object.fromEntries(rows.map((r) => [r.stage, r.status]));

describe('stage keys', () => {
  it('hash the inputs canonically: key order and undefined fields do not matter', () => {
    expect(canonicalJson({ b: 1, a: [2, { d: undefined, c: 3 }] })).toBe('{"a":[2,{"c":3}],"b":1}');
    expect(stageKey('s', { a: 1, b: 2 }, {})).toBe(stageKey('s', { b: 2, a: 1, c: undefined }, {}));
    expect(stageKey('s', { a: 1 }, {})).toMatch(/^[0-9a-f]{64}$/);
    expect(stageKey('s', { a: 1 }, {})).not.toBe(stageKey('s', { a: 2 }, {}));
    expect(stageKey('s', { a: 1 }, {})).not.toBe(stageKey('t', { a: 1 }, {}));
    expect(stageKey('s', { a: 1 }, { d: 'k1' })).not.toBe(stageKey('s', { a: 1 }, { d: 'k2' }));
  });

  it("carry a dependency's change downstream, and only downstream", () => {
    const k0 = stageKeys(chain());
    const k1 = stageKeys(chain({ x: 2 }));
    for (const s of ['a', 'b', 'c']) expect(k1.get(s)).not.toBe(k0.get(s));
    const later = chain();
    later[2] = { ...(later[2] as StageSpec), inputs: { z: 4 } };
    const k2 = stageKeys(later);
    expect([k2.get('a'), k2.get('b')]).toEqual([k0.get('a'), k0.get('b')]);
    expect(k2.get('c')).not.toBe(k0.get('c'));
  });

  it('of the alignment experiment: eval options change only eval; where and how fast change nothing', () => {
    const home = path.join(root, 'keys');
    const keys = (o: Partial<AlignExperimentOptions>, d: Partial<StageDefaults> = {}): Map<string, string> =>
      stageKeys(alignExperimentStages({ ...OPTS, ...o }, { ...DEFAULTS, ...d }, fakeRunners(home), home));
    const base = keys({});
    expect([...base.keys()]).toEqual(['train', 'align-P', 'align-M', 'align-4', 'eval']);
    expect(keys({ years: 0.5 })).toEqual(base); // the ci preset's own years
    expect(keys({}, { train: { jobs: 1 } })).toEqual(base);
    const more = keys({ cases: 16 });
    expect(more.get('eval')).not.toBe(base.get('eval'));
    for (const s of ['train', 'align-P', 'align-M', 'align-4']) expect(more.get(s)).toBe(base.get(s));
    const seed = keys({ seed: 2 });
    for (const s of base.keys()) expect(seed.get(s)).not.toBe(base.get(s));
    const sets = keys({ sets: ['M'] });
    expect([...sets.keys()]).toEqual(['train', 'align-M', 'eval']);
    expect(sets.get('align-M')).toBe(base.get('align-M'));
    expect(sets.get('eval')).not.toBe(base.get('eval'));
  });
});

describe('the plan', () => {
  const stages = chain();
  const keys = stageKeys(stages);
  const yes = (): boolean => true;

  it('runs everything on a fresh machine, and nothing once every stage is done', () => {
    const fresh = planExperiment(stages, new Map(), yes);
    expect(statuses(fresh.rows)).toEqual({ a: 'to run', b: 'to run', c: 'to run' });
    expect(fresh.rows.every((r) => r.runNow && r.estimatedFrom === 'guess')).toBe(true);
    expect(fresh.rows.map((r) => r.minutes)).toEqual([10, 20, 30]);
    const cached = planExperiment(stages, allDone(stages), yes);
    expect(statuses(cached.rows)).toEqual({ a: 'cached', b: 'cached', c: 'cached' });
    expect(cached.rows.some((r) => r.runNow)).toBe(false);
  });

  it('reruns a stage whose key changed and everything after it; resumes one that started under its key', () => {
    const states = allDone(stages);
    states.set('b', { done: done('b', 'an-older-key', { a: states.get('a')?.done?.finishedAt ?? '' }) });
    expect(statuses(planExperiment(stages, states, yes).rows)).toEqual({
      a: 'cached',
      b: 'to run',
      c: 'to run',
    });
    states.set('b', { started: { key: keys.get('b') as string, startedAt: '2025-01-01T00:00:00Z' } });
    expect(statuses(planExperiment(stages, states, yes).rows)).toEqual({
      a: 'cached',
      b: 'resume',
      c: 'to run',
    });
  });

  it('reruns a stage whose outputs are gone, or whose dependency ran again since', () => {
    const states = allDone(stages);
    const a = states.get('a')?.done as DoneRecord;
    states.set('a', { done: { ...a, outputs: ['/nowhere/vae.safetensors'] } });
    const gone = planExperiment(stages, states, (f) => !f.startsWith('/nowhere'));
    expect(statuses(gone.rows)).toEqual({ a: 'to run', b: 'to run', c: 'to run' });
    states.set('a', { done: { ...a, finishedAt: '2025-02-01T00:00:00Z' } }); // same key, a newer run
    expect(statuses(planExperiment(stages, states, yes).rows)).toEqual({
      a: 'cached',
      b: 'to run',
      c: 'to run',
    });
  });

  it('--stage runs that stage alone, and is refused while a dependency is not done', () => {
    const states = allDone(stages);
    states.delete('b');
    states.delete('c');
    const b = planExperiment(stages, states, yes, 'b');
    expect(b.refused).toBeUndefined();
    expect(b.rows.filter((r) => r.runNow).map((r) => r.stage)).toEqual(['b']);
    const c = planExperiment(stages, states, yes, 'c');
    expect(c.refused).toMatch(/^stage c needs b, not done with these options; run --stage b first/);
    expect(() => planExperiment(stages, states, yes, 'd')).toThrow(
      /--stage: no stage 'd'; choose from a, b, c/,
    );
  });

  it("estimates from the last run's seconds, scaled by the work, else from the guess", () => {
    expect(estimateMinutes({ work: 4, guessMinutes: 99 }, undefined)).toEqual({ minutes: 99, from: 'guess' });
    expect(
      estimateMinutes({ work: 4, guessMinutes: 99 }, { ...done('a', 'k'), seconds: 600, work: 2 }),
    ).toEqual({
      minutes: 20,
      from: 'last run',
    });
  });
});

describe('runExperiment with the alignment stages (fake runners)', () => {
  const home = path.join(root, 'home');
  const dir = path.join(home, 'experiments', 'align-qg-ci');
  const lines: string[] = [];
  const run = async (
    runners: StageRunners,
    o: Partial<AlignExperimentOptions> = {},
    only?: string,
  ): Promise<Awaited<ReturnType<typeof runExperiment>>> => {
    return runExperiment(alignExperimentStages({ ...OPTS, ...o }, DEFAULTS, runners, home), {
      dir,
      log: (l) => lines.push(l),
      ...(only === undefined ? {} : { only }),
    });
  };

  it('runs the stages in order, marks each done, then skips them all; a changed option reruns only eval', async () => {
    const first = fakeRunners(home);
    await run(first);
    expect(first.calls).toEqual(['train', 'align-P', 'align-M', 'align-4', 'eval']);
    const rec = JSON.parse(readFileSync(doneFile(dir, 'eval'), 'utf8')) as DoneRecord;
    expect(rec.outputs.map((f) => path.basename(f))).toEqual(['eval.json', 'case0-dps.png']);
    expect(Object.keys(rec.deps)).toEqual(['train', 'align-P', 'align-M', 'align-4']);
    expect(
      lines.some((l) =>
        /^\[2\/5\] align-P \(to run, key [0-9a-f]{12}\): about 3 min \(guess\); ETA \d\d:\d\d/.test(l),
      ),
    ).toBe(true);

    const again = fakeRunners(home);
    lines.length = 0;
    const { plan } = await run(again);
    expect(again.calls).toEqual([]);
    expect(plan.rows.every((r) => r.status === 'cached')).toBe(true);
    expect(lines).toContain('nothing to run: every stage is cached');

    const fewer = fakeRunners(home);
    await run(fewer, { cases: 16 });
    expect(fewer.calls).toEqual(['eval']);

    const summary = writeExperimentSummary(
      dir,
      JSON.parse(readFileSync(doneFile(dir, 'eval'), 'utf8')) as DoneRecord,
    );
    expect(JSON.parse(readFileSync(summary, 'utf8'))).toMatchObject({
      experiment: 'align-qg-ci',
      gains: { M: 1 },
      calibration: { obsfree: 2 },
      trends: [3],
      figures: [path.join(dir, 'eval', 'case0-dps.png')],
    });
  });

  it('a failing stage stops the run with its name, is not marked done, and resumes on the next run', async () => {
    rmSync(home, { recursive: true, force: true });
    await expect(run(fakeRunners(home, 'align-M'))).rejects.toThrow(
      /^experiment stage align-M failed after [\d.]+ min: DPO diverged \(not marked done; rerun the same command to resume\)$/,
    );
    expect(existsSync(doneFile(dir, 'align-P'))).toBe(true);
    expect(existsSync(doneFile(dir, 'align-M'))).toBe(false);
    const next = fakeRunners(home);
    const { plan } = await run(next, {}, 'align-M');
    expect(plan.rows.find((r) => r.stage === 'align-M')?.status).toBe('resume');
    expect(next.calls).toEqual(['align-M']);
    await expect(run(fakeRunners(home), {}, 'eval')).rejects.toThrow(/^stage eval needs align-4, not done/);
  });
});

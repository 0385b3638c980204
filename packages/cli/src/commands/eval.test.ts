import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { EVAL_METHODS } from '@alignda/pipelines';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const main = path.join(repoRoot, 'packages/cli/src/main.ts');
const root = mkdtempSync(path.join(tmpdir(), 'alignda-eval-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// The smallest QG run whose periods serve both commands: 0.065 y = 95 states, train 67 (eval draws 32 train
// cases from 8..67), alignment 9 (the score network's held-out pairs need more than the 8-step lead; 0.06 y gives
// 8 and train fails), test 19 (2 cases from 84..87). Its 150-day spin-up dominates the generation (~5 s).
const YEARS = '0.065';

/** Runs `alignda <args>` as a user would (a fresh node process through main.ts) with `home` as ALIGNDA_HOME. */
function alignda(home: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ALIGNDA_HOME: home,
    ALIGNDA_DATA_DIR: path.join(root, 'no-data'),
  };
  delete env.ALIGNDA_DEBUG; // a stack trace would break the one-line error
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: 170_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** stderr without the progress lines (`  <stage>: <n>%`). */
const messages = (stderr: string): string[] =>
  stderr.split('\n').filter((l) => l.trim() !== '' && !/^\s+.+: \d+%$/.test(l));

const isPng = (file: string): boolean =>
  [...readFileSync(file).subarray(0, 8)].join() === [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].join();

interface Scores {
  mse: number;
  mae: number;
  wrmse: number[];
  forecastMse: number;
}
interface EvalJson {
  source: string;
  channels: string[];
  options: { cases: number; zeta: number | null; blend: number | null; obsFraction: number };
  methods: string[];
  protocol?: Record<string, unknown>;
  latentTuning: { repaint: unknown[]; dps: unknown[] };
  cases: { time: string; observations: number; scores: Record<string, Scores> }[];
}

describe('alignda eval (end to end)', () => {
  it('trains ci models, evaluates every method on held-out cases and writes JSON and PNG maps', () => {
    const home = path.join(root, 'home');
    const train = alignda(home, 'train', '--preset', 'ci', '--years', YEARS, '--steps', '30');
    expect(train.status, train.stderr).toBe(0);
    expect(train.stdout).toMatch(/^score network: \d+ \(truth, 48 h background\) latent pairs/m);

    // zeta, blend and the length scale given: no tuning. A small observed share keeps the 3D-Var solves (at most
    // 7 x columns + 1 CG iterations each) to a fraction of a second; the default 0.01 with tuning takes ~85 s here.
    const ev = alignda(
      home,
      'eval',
      '--preset',
      'ci',
      '--years',
      YEARS,
      '--cases',
      '2',
      '--steps',
      '8',
      '--zeta',
      '1',
      '--blend',
      '0.5',
      '--length-scale-km',
      '500',
      '--obs-fraction',
      '0.001',
      '--ensemble-members',
      '4',
    );
    expect(ev.status, ev.stderr).toBe(0);
    expect(messages(ev.stderr)).toEqual([]);
    expect(ev.stdout).toMatch(
      /^\s+background\s+bias-corrected bg\s+VAE\(truth\) floor\s+ObsFree\s+Repaint\s+DPS\s+3D-Var\s+balanced 3D-Var\s+LETKF\s+hybrid EnVar$/m,
    );
    // The paired comparisons with intervals and the protocol card are printed under the table.
    expect(ev.stdout).toMatch(/^\s+DPS \/ 3D-Var\s+\d+\.\d{3}\s+\d+\.\d{3} \.\. \d+\.\d{3}\s/m);
    expect(ev.stdout).toContain('background: 48 h forecasts of the imperfect physical model');
    expect(ev.stdout).toContain('observations: 0.10 % single values');
    expect(ev.stdout).toContain('DPS zeta 1 (given); Repaint blend 0.5 (given)');
    expect(ev.stdout).toContain('3D-Var length scale 500 km (given)');
    // The evaluation is recorded in the (embedded SQLite) registry of the run's home.
    expect(ev.stdout).toMatch(/^registry: evaluation [0-9a-f-]{36}$/m);
    for (const row of ['MSE (normalised)', '48 h forecast MSE', 'Geo-Score'])
      expect(ev.stdout).toMatch(new RegExp(`^\\s+${row.replace(/[()]/g, '\\$&')}\\s`, 'm'));

    const out = path.join(home, 'eval', 'qg-ci');
    const json = JSON.parse(readFileSync(path.join(out, 'eval.json'), 'utf8')) as EvalJson;
    expect(json.source).toBe('qg');
    expect(json.options).toMatchObject({
      cases: 2,
      zeta: 1,
      blend: 0.5,
      obsFraction: 0.001,
      noise: 0.02,
      background: 'model',
      obsLayout: 'values',
    });
    expect(json.methods).toEqual([...EVAL_METHODS]); // every row: gridded observations, QG balance, an LETKF
    expect(Object.keys(json.protocol ?? {})).toEqual([
      'observations',
      'truth',
      'background',
      'cycled',
      'sample',
      'tuning',
    ]);
    expect(json.latentTuning).toEqual({ repaint: [], dps: [] });
    expect(json.cases).toHaveLength(2);
    for (const c of json.cases) {
      expect(c.observations).toBeGreaterThan(0);
      expect(Object.keys(c.scores).sort()).toEqual([...json.methods].sort());
      for (const [method, s] of Object.entries(c.scores)) {
        const values = [s.mse, s.mae, s.forecastMse, ...s.wrmse];
        expect(s.wrmse, method).toHaveLength(json.channels.length);
        expect(
          values.every((v) => typeof v === 'number' && Number.isFinite(v)),
          `${method}: ${values.join()}`,
        ).toBe(true);
      }
    }
    for (const m of ['obsfree', 'repaint', 'dps', '3dvar', '3dvar-bal', 'letkf']) {
      const png = path.join(out, `case0-${m}.png`);
      expect(existsSync(png), png).toBe(true);
      expect(isPng(png), png).toBe(true);
    }
  });

  it('without trained models exits 66 (EX_NOINPUT) with one line that says to run alignda train', () => {
    const r = alignda(
      path.join(root, 'empty-home'),
      'eval',
      '--preset',
      'ci',
      '--years',
      YEARS,
      '--cases',
      '2',
    );
    expect(r.status).toBe(66);
    const lines = messages(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^alignda: error NOT_FOUND: no trained models in .*alignda train --world qg --preset ci/,
    );
  });

  it('alignda align without a trained reference exits 66 with one line naming the train command, writing nothing', () => {
    const home = path.join(root, 'empty-align-home');
    const r = alignda(home, 'align', '--preset', 'ci', '--years', YEARS, '--set', 'M');
    expect(r.status).toBe(66);
    const lines = messages(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^alignda: error NOT_FOUND: no trained reference in .*alignda train --world qg --preset ci --background model/,
    );
    expect(existsSync(path.join(home, 'models', 'qg-ci-model', 'preferences-M.safetensors'))).toBe(false);
  });

  it('rejects bad options with a message naming the option and its range', () => {
    const home = path.join(root, 'unused-home');
    const fraction = alignda(home, 'eval', '--obs-fraction', '2');
    expect(fraction.status).toBe(64);
    expect(fraction.stderr).toContain("option '--obs-fraction <f>' argument '2' is invalid");
    expect(fraction.stderr).toContain('--obs-fraction must be a number in (0, 1]');
    const members = alignda(home, 'eval', '--members', '0');
    expect(members.status).toBe(64);
    expect(members.stderr).toContain('--members must be an integer in [1, 64]');
    expect(existsSync(home)).toBe(false); // rejected before anything was generated
  });
});

describe('alignda align, then eval --models ref,M (end to end)', () => {
  // Alignment needs alignment-period conditions with a 48 h lead on both sides (METHOD.md section 6): 0.2 y = 292
  // states, alignment 29 (conditions from 13 of them), test 59. Tiny settings: the commands' paths, not skill.
  const years = '0.2';
  const home = path.join(root, 'align-home');

  it('aligns a reference on set M, evaluates it beside the reference with gains, calibration and trends', () => {
    const train = alignda(home, 'train', '--preset', 'ci', '--years', years, '--steps', '30');
    expect(train.status, train.stderr).toBe(0);
    const align = alignda(
      home,
      'align',
      '--preset',
      'ci',
      '--years',
      years,
      '--set',
      'M',
      '--candidates',
      '4',
      '--conditions',
      '4',
      '--steps',
      '4',
      '--dpo-steps',
      '4',
      '--pairs-per-step',
      '2',
    );
    expect(align.status, align.stderr).toBe(0);
    expect(align.stdout).toMatch(/^aligned: .*score-aligned-M\.safetensors/m);
    expect(align.stdout).toMatch(
      /^registry: model version [0-9a-f-]{36} \(parent [0-9a-f-]{36}\), preference set/m,
    );

    const ev = alignda(
      home,
      'eval',
      '--preset',
      'ci',
      '--years',
      years,
      '--models',
      'ref,M',
      '--cases',
      '3',
      '--members',
      '2',
      '--steps',
      '4',
      '--zeta',
      '1',
      '--blend',
      '0.5',
      '--length-scale-km',
      '500',
      '--obs-fraction',
      '0.001',
      '--ensemble-members',
      '0',
    );
    expect(ev.status, ev.stderr).toBe(0);
    expect(messages(ev.stderr)).toEqual([]);
    expect(ev.stdout).toMatch(
      /^\s+background\s.*\sObsFree\s+ObsFree@M\s+Repaint\s+Repaint@M\s+DPS\s+DPS@M\s/m,
    );
    expect(ev.stdout).toMatch(
      /^\s+DPS@M vs DPS\s+analysis MSE\s+[+-]\d+\.\d % \[[+-]\d+\.\d, [+-]\d+\.\d %\]\s/m,
    );
    expect(ev.stdout).toMatch(/^\s+DPS@M\s+\d+\.\d\d\s+\d+\.\d{4}\s+\d\.\d\d \d\.\d\d \d\.\d\d$/m);
    expect(ev.stdout).toMatch(/^ {2}(held|not held): -M improves every metric in every mode/m);
    expect(ev.stdout).toContain("tuning @M: the reference's DPS zeta' and Repaint blend (not re-tuned)");

    const json = JSON.parse(
      readFileSync(path.join(home, 'eval', 'qg-ci', 'eval.json'), 'utf8'),
    ) as EvalJson & {
      options: { models: string[] };
      gains: Record<
        string,
        Record<string, Record<string, { gain: number; ci95: number[]; p: number; pHolm: number }>>
      >;
      calibration: Record<string, { spreadSkill: number; rankHistogram: number[] }>;
      trends: { verdict: string }[];
    };
    expect(json.options.models).toEqual(['ref', 'M']);
    expect(json.methods).toContain('dps@M');
    expect(Object.keys(json.gains)).toEqual(['M']);
    expect(Object.keys(json.gains.M ?? {})).toEqual(['obsfree', 'repaint', 'dps']);
    const g = json.gains.M?.dps?.mse;
    expect(g?.ci95[0]).toBeLessThanOrEqual(g?.gain ?? Number.NaN);
    expect(g?.ci95[1]).toBeGreaterThanOrEqual(g?.gain ?? Number.NaN);
    expect(g?.pHolm).toBeGreaterThanOrEqual(g?.p ?? Number.NaN);
    expect(json.calibration['dps@M']?.rankHistogram).toHaveLength(3);
    expect(json.trends).toHaveLength(5);
    // Three cases cannot make a gain significant (the smallest two-sided Wilcoxon p of 3 differences is 0.25).
    expect(json.trends[0]?.verdict).toBe('not held');
  }, 480_000);

  it('eval --models naming an aligned model that was never made exits 66 naming the align command', () => {
    const r = alignda(home, 'eval', '--preset', 'ci', '--years', years, '--models', 'ref,P', '--cases', '2');
    expect(r.status).toBe(66);
    const lines = messages(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^alignda: error NOT_FOUND: no aligned model P in .*; align it first: alignda align --world qg --preset ci --set P$/,
    );
  });

  it('rejects an unknown model name before anything is generated', () => {
    const empty = path.join(root, 'models-typo-home');
    const r = alignda(empty, 'eval', '--models', 'ref,X');
    expect(r.status).toBe(64);
    expect(r.stderr).toContain("--models: unknown 'X'; choose from ref, P, M, 4, comma-separated");
    expect(existsSync(empty)).toBe(false);
  });
});

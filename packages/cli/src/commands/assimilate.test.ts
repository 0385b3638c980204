import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { openDatabase } from '@alignda/db';
import { modelsProvenance } from '@alignda/nn';
import { readNetcdfClassic } from '@alignda/world';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const main = path.join(repoRoot, 'packages/cli/src/main.ts');
const root = mkdtempSync(path.join(tmpdir(), 'alignda-assimilate-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// The smallest QG run train takes (eval.test.ts): 0.065 y = 95 six-hourly states from 2001-01-01T00.
const YEARS = '0.065';
/** State 88, in the test period; the background starts from state 80. */
const TIME = '2001-01-23T00:00Z';

/** Runs `alignda <args>` as a user would (a fresh node process through main.ts) with `home` as ALIGNDA_HOME. */
function alignda(home: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ALIGNDA_HOME: home,
    ALIGNDA_DATA_DIR: path.join(root, 'no-data'),
    DATABASE_URL: `file:${path.join(home, 'alignda.db')}`,
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

/** Writes `content` (JSON-encoded unless a string) to a file under the test's folder. */
function file(name: string, content: unknown): string {
  const p = path.join(root, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

const cells = [
  { channel: 't', row: 10, col: 10, value: 250, sigma: 0.5 },
  { channel: 't', row: 20, col: 40, value: 245, sigma: 0.5 },
  { channel: 'u_upper', row: 5, col: 3, value: 12, sigma: 2 },
];

const home = path.join(root, 'home');
const assimilate = (obs: string, out: string, ...extra: string[]): ReturnType<typeof alignda> =>
  alignda(
    home,
    'assimilate',
    '--preset',
    'ci',
    '--years',
    YEARS,
    '--time',
    TIME,
    '--obs',
    obs,
    '--out',
    out,
    ...extra,
  );

describe('alignda assimilate (end to end)', () => {
  beforeAll(() => {
    const train = alignda(home, 'train', '--preset', 'ci', '--years', YEARS, '--steps', '30');
    expect(train.status, train.stderr).toBe(0);
  }, 180_000);

  it('writes the analysis as netCDF (mean, spread, members, background) and prints O-B, O-A and seconds', () => {
    const out = path.join(root, 'out', 'analysis.nc');
    const args = ['--method', 'dps', '--members', '2', '--steps', '8', '--seed', '3'];
    const r = assimilate(file('obs.json', { cells }), out, ...args);
    expect(r.status, r.stderr).toBe(0);
    expect(messages(r.stderr)).toEqual([]);
    expect(r.stdout).toMatch(/; dps, 2 member\(s\) x 8 steps, seed 3$/m);
    expect(r.stdout).toContain(
      'valid 2001-01-23T00:00:00.000Z; background: physical model 48 h forecast from 2001-01-21T00:00:00.000Z',
    );
    expect(r.stdout).toMatch(/^observations: 3; O-B rms \S+, O-A rms \S+ \(normalised/m);
    expect(r.stdout).toMatch(/^ {2}t: 2 obs, O-B mean \S+ rms \S+, O-A mean \S+ rms \S+ K$/m);
    expect(r.stdout).toMatch(
      /^seconds: sessions \d+\.\d, background \d+\.\d, encode \d+\.\d, analysis \d+\.\d/m,
    );
    expect(r.stdout).toContain(`wrote ${out}`);

    const bytes = readFileSync(out);
    const f = readNetcdfClassic(bytes);
    expect(f.version).toBe(2);
    expect(f.dimensions.map((d) => `${d.name}=${d.size}`)).toEqual(['time=1', 'member=2', 'y=32', 'x=64']);
    const byName = new Map(f.variables.map((v) => [v.name, v]));
    for (const name of [
      'time',
      'member',
      'y',
      'x',
      'lat',
      'lon',
      't',
      't_spread',
      't_members',
      't_background',
    ])
      expect(byName.has(name), name).toBe(true);
    expect(byName.get('t')?.attributes).toMatchObject({ units: 'K', standard_name: 'air_temperature' });
    expect(byName.get('t_members')?.dimensions).toEqual(['time', 'member', 'y', 'x']);
    expect(byName.get('time')?.data[0]).toBe(Date.parse(TIME) / 3_600_000);
    const t = byName.get('t')?.data ?? new Float64Array();
    expect(t).toHaveLength(32 * 64);
    expect(t.every((v) => v > 150 && v < 350)).toBe(true); // kelvin, every cell (the QG grid has no padding)
    expect(f.attributes).toMatchObject({
      method: 'dps',
      members: [2],
      steps: [8],
      seed: [3],
      observations: [3],
    });

    // The same request and seed again: the same bytes.
    const again = path.join(root, 'out', 'again.nc');
    expect(assimilate(file('obs.json', { cells }), again, ...args).status).toBe(0);
    expect(readFileSync(again).equals(bytes)).toBe(true);
  }, 120_000);

  it('takes a whole request body, the flags typed on the command line overriding its fields', () => {
    const out = path.join(root, 'out', 'body.nc');
    const body = {
      source: { world: 'qg' },
      validTime: '2001-01-20T00Z',
      observations: { cells },
      method: 'obsfree',
    };
    // --time overrides validTime; the body's method (obsfree) and its default single member are kept.
    const r = assimilate(file('body.json', body), out, '--steps', '4');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('; obsfree, 1 member(s) x 4 steps, seed 0');
    expect(r.stdout).toContain('valid 2001-01-23T00:00:00.000Z');
    const f = readNetcdfClassic(readFileSync(out));
    expect(f.dimensions.map((d) => d.name)).toEqual(['time', 'y', 'x']); // one member: no member dimension
  }, 120_000);

  it.each([
    [
      'a file that is not JSON',
      '{ "cells": [',
      /^alignda: error INVALID_ARGUMENT: .*bad-a-file-that-is-not-JSON\.json is not valid JSON: /,
      64,
    ],
    [
      'an observation with sigma 0',
      { cells: [{ ...cells[0], sigma: 0 }] },
      /^alignda: error INVALID_ARGUMENT: .*\.json: invalid assimilation request: observations\.cells\[0\]\.sigma: Too small: expected number to be >0$/,
      64,
    ],
    [
      'both cells and points',
      { cells, points: [] },
      /^alignda: error INVALID_ARGUMENT: .*\.json: invalid assimilation request: observations: must be \{ "points": \[\.\.\.\] \} or \{ "cells": \[\.\.\.\] \}/,
      64,
    ],
    [
      'an unknown channel',
      { cells: [{ ...cells[0], channel: 'q' }] },
      /^alignda: error INVALID_ARGUMENT: observation 0: unknown channel 'q' \(known: z_upper, z_lower, u_upper, u_lower, v_upper, v_lower, t\)$/,
      64,
    ],
    [
      'a time outside the nature run',
      { cells },
      /^alignda: error NOT_FOUND: qg has no state at 2003-01-01T00:00Z: its states are 2001-01-01T00 \.\. 2001-01-24T12 \(every 6 h\)$/,
      66,
    ],
  ])(
    'refuses %s with one line and writes nothing',
    (title, content, line, status) => {
      const slug = title.replace(/\W+/g, '-');
      const obs = file(`bad-${slug}.json`, content);
      const out = path.join(root, 'bad', `${slug}.nc`);
      mkdirSync(path.dirname(out), { recursive: true });
      const time = title.startsWith('a time') ? ['--time', '2003-01-01T00:00Z'] : [];
      const r = assimilate(obs, out, '--steps', '2', ...time);
      expect(r.status, r.stderr).toBe(status);
      const lines = messages(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(line);
      expect(r.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
      expect(existsSync(`${out}.partial`)).toBe(false);
    },
    60_000,
  );

  it('re-runs a platform job with --from-job: the same models, and the stored analysis reproduced bit for bit', async () => {
    // The platform's record of a job, as the orchestrator leaves it: the Job row with its request, the netCDF in the
    // blob store (here the reference's file, which tests/e2e shows the platform's equals) and the provenance naming
    // the model folder's hashes.
    const request = {
      source: { world: 'qg' },
      validTime: TIME,
      observations: { cells },
      method: 'dps',
      members: 2,
      steps: 8,
      seed: 3,
    };
    const reference = path.join(root, 'out', 'job-reference.nc');
    expect(assimilate(file('job-request.json', request), reference).status).toBe(0);
    const id = randomUUID();
    const stored = path.join(home, 'results', id, 'analysis.nc');
    mkdirSync(path.dirname(stored), { recursive: true });
    writeFileSync(stored, readFileSync(reference));
    const version = readdirSync(path.join(home, 'models'))[0] ?? '';
    const db = await openDatabase({
      databaseUrl: `file:${path.join(home, 'alignda.db')}`,
      startupProbeTimeoutMs: 2000,
    });
    try {
      await db.job.create({
        data: {
          id,
          kind: 'assimilate',
          status: 'succeeded',
          request: { ...request, modelVersion: version },
          finishedAt: new Date(),
        },
      });
      const dataset = await db.dataset.create({ data: { name: 'qg', kind: 'qg', descriptor: {} } });
      await db.analysis.create({
        data: {
          id,
          jobId: id,
          datasetId: dataset.id,
          validTime: new Date(TIME),
          members: 2,
          artifactPaths: { analysis: path.join('results', id, 'analysis.nc') },
          // As a JSON column holds it (the interfaces carry no index signature Prisma's JSON type wants).
          provenance: JSON.parse(
            JSON.stringify({ models: await modelsProvenance(path.join(home, 'models', version)) }),
          ) as object,
        },
      });
    } finally {
      await db.$disconnect();
    }

    const r = alignda(home, 'assimilate', '--from-job', id, '--years', YEARS);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^job ${id}: succeeded \\S+, model version ${version}; re-running`, 'm'),
    );
    expect(r.stdout).toContain(`wrote ${path.join(home, 'assimilate', `job-${id}.nc`)}`);
    expect(r.stdout).toMatch(
      /^models: the job's \(vae\.safetensors, emulator\.safetensors, score\.safetensors, models\.json: SHA-256 equal\)$/m,
    );
    expect(r.stdout).toMatch(
      /^reproduced: the analysis equals the stored one bit for bit \(mean, spread, members, background; 71680 values\)$/m,
    );

    // A stored analysis these models do not make (one value of t changed): not reproduced, exit status 1.
    const bytes = readFileSync(reference);
    const t = readNetcdfClassic(bytes).variables.find((v) => v.name === 't');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    view.setFloat32(t?.begin ?? 0, view.getFloat32(t?.begin ?? 0) + 1);
    const tampered = path.join(root, 'tampered.nc');
    writeFileSync(tampered, bytes);
    const d = alignda(home, 'assimilate', '--from-job', id, '--years', YEARS, '--stored', tampered);
    expect(d.status, d.stderr).toBe(1);
    expect(d.stdout).toMatch(
      /^not reproduced: values differ from the stored analysis in t 1 of 2048 \(max \|diff\| 1\.0000\)$/m,
    );

    // The job's request is the request: flags that would change it are refused; an unknown job is not found.
    const flags = alignda(home, 'assimilate', '--from-job', id, '--seed', '4', '--time', TIME);
    expect(flags.status).toBe(64);
    expect(messages(flags.stderr)).toEqual([
      "alignda: error INVALID_ARGUMENT: --from-job re-runs the job's own request: drop --time, --seed",
    ]);
    const unknown = alignda(home, 'assimilate', '--from-job', randomUUID());
    expect(unknown.status).toBe(66);
    expect(messages(unknown.stderr)[0]).toMatch(
      /^alignda: error NOT_FOUND: no assimilation job \S+ in the registry at file:/,
    );
  }, 240_000);
});

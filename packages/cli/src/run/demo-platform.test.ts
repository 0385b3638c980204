import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { Db } from '@alignda/db';
import { parseAssimilationRequest } from '@alignda/pipelines';

import { demoRequest, resultLines, runPlatformStep } from './demo-platform.js';
import type { DemoRun, JobView } from './demo-platform.js';

/** A nature run of 2 channels on 4 x 8, 40 states 6 h apart, the last 20 the test period. */
const RUN: DemoRun = {
  channels: ['t', 'u_upper'],
  periods: { test: [20, 40] },
  hours: Float64Array.from({ length: 40 }, (_, i) => 6 * i),
  state: (i) => ({
    data: Float32Array.from({ length: 2 * 4 * 8 }, (_, k) => (k < 32 ? 250 + k + i : 10 + (k % 5))),
    shape: [2, 4, 8],
  }),
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('demoRequest', () => {
  it('asks for a DPS analysis at a test-period time from noisy values of the truth that the gateway accepts', () => {
    const body = demoRequest(RUN, { members: 2, steps: 16, count: 20, seed: 7 });
    const request = parseAssimilationRequest(body);
    expect(request).toMatchObject({ method: 'dps', members: 2, steps: 16, seed: 7, source: { world: 'qg' } });
    // State 30 (the middle of [20, 40)) is 180 h after the epoch, 2001-01-01.
    expect(request.validTime).toBe('2001-01-08T12:00Z');
    const cells = 'cells' in request.observations ? request.observations.cells : [];
    expect(cells).toHaveLength(20);
    expect(new Set(cells.map((c) => `${c.channel}:${c.row}:${c.col}`)).size).toBe(20);
    const truth = RUN.state(30).data;
    for (const c of cells) {
      const k = RUN.channels.indexOf(c.channel);
      expect(k).toBeGreaterThanOrEqual(0);
      expect(c.row).toBeLessThan(4);
      expect(c.col).toBeLessThan(8);
      expect(c.sigma).toBeGreaterThan(0);
      expect(Math.abs(c.value - (truth[k * 32 + c.row * 8 + c.col] ?? Number.NaN))).toBeLessThan(6 * c.sigma);
    }
  });

  it('is the same request for the same seed', () => {
    const a = demoRequest(RUN, { members: 2, steps: 16, count: 20, seed: 7 });
    expect(demoRequest(RUN, { members: 2, steps: 16, count: 20, seed: 7 })).toEqual(a);
    expect(demoRequest(RUN, { members: 2, steps: 16, count: 20, seed: 8 })).not.toEqual(a);
  });
});

describe('resultLines', () => {
  const view = (result: unknown): JobView => ({
    id: 'j1',
    state: 'succeeded',
    progress: 1,
    stage: 'done',
    error: null,
    result,
  });

  it("prints the job's method, QC, departures, skill and files (made absolute)", () => {
    const lines = resultLines(
      view({
        method: 'dps',
        members: 2,
        steps: 16,
        validTime: '2001-11-25T12:00:00.000Z',
        qc: { total: 64, passed: 64, grossErrors: 1 },
        diagnostics: { omb: { rms: 0.5 }, oma: { rms: 0.25 } },
        verification: { analysis: { mseNormalised: 0.125 }, forecast48h: { mseNormalised: 0.75 } },
        artifacts: { analysis: 'results/j1/analysis.nc', map: 'results/j1/map.png' },
        timings: { totalS: 3.21 },
      }),
      4,
      '/home/a',
    );
    expect(lines).toEqual([
      'job j1 succeeded 4.0 s after it was posted (3.2 s in the orchestrator): dps, 2 members, 16 steps, valid 2001-11-25T12:00:00.000Z',
      'observations 64, 64 through QC, 1 gross errors flagged',
      'O-B rms 0.5000, O-A rms 0.2500 (normalised)',
      "analysis MSE against the truth 0.1250, its 48 h forecast's 0.7500 (normalised)",
      'analysis (netCDF): /home/a/results/j1/analysis.nc',
      'map: /home/a/results/j1/map.png',
    ]);
  });

  it('leaves out what the result does not hold', () => {
    expect(resultLines(view(null), 1, '/h')).toEqual([
      'job j1 succeeded 1.0 s after it was posted: ?, ? members, ? steps, valid ?',
    ]);
  });
});

describe('runPlatformStep', () => {
  it('is skipped with the install hint when no Redis answers and no redis-server can be started', async () => {
    // A port nothing listens on, and a PATH without redis-server.
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const empty = mkdtempSync(path.join(tmpdir(), 'alignda-no-redis-'));
    dirs.push(empty);
    const untouched = new Proxy({} as Db, {
      get: () => {
        throw new Error('the registry is not used when the step is skipped');
      },
    });
    const printed: string[] = [];
    const savedPath = process.env.PATH;
    process.env.PATH = empty;
    try {
      const summary = await runPlatformStep({
        db: untouched,
        redisUrl: `redis://127.0.0.1:${port}`,
        modelDir: empty,
        run: { ...RUN, seed: 1, years: 1 },
        homeDir: empty,
        logsDir: empty,
        print: (line) => printed.push(line),
      });
      expect('skipped' in summary ? summary.skipped : '').toMatch(
        /install Redis \(apt-get install redis-server/,
      );
      expect(printed).toEqual([expect.stringMatching(/^skipped: .*set REDIS_URL$/)]);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});

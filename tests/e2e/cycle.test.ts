/**
 * The continuous cycle end to end: `alignda up` runs every service as its own process (the cycle service among
 * them) over real Redis and the SQLite registry; a cycle started over HTTP runs step by step through the `cycle`
 * queue, and its series (analysis and background RMSE against the truth, O-B and O-A, per step and method) equals
 * that of `alignda cycle` with the same settings and seeds. A second cycle, whose service is killed with SIGKILL in
 * the middle of its first step, is finished by the restarted service: every step recorded once, the same series.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openDatabase } from '@alignda/db';
import type { Db } from '@alignda/db';
import { probeRedis } from '@alignda/queue';

import { alignda, startUp, stopUp, waitForLine } from './platform.js';

const REDIS_URL = process.env.ALIGNDA_TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisProblem = await probeRedis(REDIS_URL, 1500).then(
  () => null,
  (err: unknown) => (err instanceof Error ? err.message : String(err)),
);

/** CI-sized: one tuning candidate each, a short offline cycle, a small ensemble; the one-year training run. */
const TUNING = {
  pairs48: 8,
  offlineCycles: 6,
  offlineBurnIn: 2,
  tuneCycles: 4,
  lengthScalesKm: [1000],
  inflations: [1],
  rtps: [0.5],
  halfWidthsKm: [4000],
  maxLeadHours: 24,
  cgTol: 1e-4,
};
const SETTINGS = {
  preset: 'small',
  methods: ['3dvar', 'letkf'],
  cycles: 4,
  members: 8,
  skillEvery: 2,
  tuning: TUNING,
};

/** What both doors are compared on, per step and method. */
interface Numbers {
  analysisRmse: number | null;
  backgroundRmse: number | null;
  ombRms: number | null;
  omaRms: number | null;
  observations: number;
}

describe.skipIf(redisProblem !== null)(
  `a cycle end to end${redisProblem === null ? '' : ` (SKIPPED: no Redis at ${REDIS_URL}: ${redisProblem}; start one or set REDIS_URL)`}`,
  () => {
    const root = mkdtempSync(path.join(tmpdir(), 'alignda-e2e-cycle-'));
    const home = path.join(root, 'home');
    const redisDb = 1 + (randomBytes(1).readUInt8(0) % 15);
    const redisUrl = Object.assign(new URL(REDIS_URL), { pathname: `/${redisDb}` }).href;
    let env: NodeJS.ProcessEnv = {};
    let up: ChildProcess | undefined;
    let upOutput = '';
    let gateway = '';
    let token = '';
    /** `alignda cycle`'s series: method -> one entry per step. */
    let reference: Record<string, Numbers[]> = {};

    const headers = (): Record<string, string> => ({
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    });

    const startCycle = async (name: string): Promise<string> => {
      const res = await fetch(`${gateway}/v1/cycles`, {
        method: 'POST',
        headers: headers(),
        body: JSON.stringify({ ...SETTINGS, name }),
      });
      expect(res.status, await res.clone().text()).toBe(202);
      return ((await res.json()) as { id: string }).id;
    };

    const view = async (id: string): Promise<Record<string, unknown>> => {
      const res = await fetch(`${gateway}/v1/cycles/${id}`, { headers: headers() });
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };

    const finished = async (id: string, timeoutMs: number): Promise<Record<string, unknown>> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await view(id);
        if (['succeeded', 'failed', 'cancelled'].includes(String(v.state)) || Date.now() > deadline) return v;
        await new Promise((r) => setTimeout(r, 500));
      }
    };

    /** The series of a cycle's view, as method -> numbers per step. */
    const seriesOf = (v: Record<string, unknown>): Record<string, Numbers[]> => {
      const out: Record<string, Numbers[]> = {};
      for (const step of v.series as { methods: Record<string, Numbers & Record<string, unknown>> }[])
        for (const [m, r] of Object.entries(step.methods))
          (out[m] ??= []).push({
            analysisRmse: r.analysisRmse,
            backgroundRmse: r.backgroundRmse,
            ombRms: r.ombRms,
            omaRms: r.omaRms,
            observations: r.observations,
          });
      return out;
    };

    const withDb = async <T>(f: (db: Db) => Promise<T>): Promise<T> => {
      const db = await openDatabase({ databaseUrl: env.DATABASE_URL ?? '', startupProbeTimeoutMs: 5000 });
      try {
        return await f(db);
      } finally {
        await db.$disconnect();
      }
    };

    beforeAll(async () => {
      env = {
        ...process.env,
        ALIGNDA_HOME: home,
        ALIGNDA_DATA_DIR: path.join(root, 'no-data'),
        DATABASE_URL: `file:${path.join(home, 'alignda.db')}`,
        REDIS_URL: redisUrl,
        ALIGNDA_EXECUTION_PROVIDER: 'cpu',
        LOG_LEVEL: 'info',
        // A killed cycle service's step goes back to the queue within a lock time.
        ALIGNDA_CYCLER_LOCK_MS: '5000',
      };
      for (const k of ['ALIGNDA_DEBUG', 'HTTP_PORT', 'GRPC_PORT', 'ALIGNDA_MODEL_DIR', 'ALIGNDA_WORLD_YEARS'])
        delete env[k];
      // `alignda up` needs a model set (a few steps); the cycle's methods are the classical ones and need none.
      const train = await alignda(env, ['train', '--preset', 'ci', '--years', '0.065', '--steps', '20']);
      expect(train.status, train.stderr).toBe(0);
      // The reference, in one process: it also generates the nature runs the cycle service then reads.
      const ref = await alignda(
        env,
        [
          'cycle',
          '--preset',
          'small',
          '--methods',
          SETTINGS.methods.join(','),
          '--cycles',
          String(SETTINGS.cycles),
          '--members',
          String(SETTINGS.members),
          '--skill-every',
          String(SETTINGS.skillEvery),
          '--tuning',
          JSON.stringify(TUNING),
          '--out',
          path.join(root, 'reference'),
        ],
        300_000,
      );
      expect(ref.status, ref.stderr).toBe(0);
      const json = JSON.parse(readFileSync(path.join(root, 'reference', 'cycle.json'), 'utf8')) as {
        series: Record<string, (Numbers & { omb: { rms: number | null }; oma: { rms: number | null } })[]>;
      };
      reference = Object.fromEntries(
        Object.entries(json.series).map(([m, rs]) => [
          m,
          rs.map((r) => ({
            analysisRmse: r.analysisRmse,
            backgroundRmse: r.backgroundRmse,
            ombRms: r.omb.rms,
            omaRms: r.oma.rms,
            observations: r.observations,
          })),
        ]),
      );
      up = startUp(env, ['--preset', 'ci', '--http-port', '0', '--start-timeout', '170']);
      const started = await waitForLine(up, /^gateway (http:\/\/\S+)/m, 180_000);
      gateway = started.match[1] ?? '';
      upOutput = started.output;
      up.stdout?.on('data', (chunk: string) => (upOutput += chunk));
      up.stderr?.resume();
      const key = await alignda(env, [
        'keys',
        'create',
        '--name',
        'e2e',
        '--scopes',
        'submit,read',
        '--exempt',
      ]);
      expect(key.status, key.stderr).toBe(0);
      token = key.stdout.trim().split('\n').at(-1) ?? '';
    }, 600_000);

    afterAll(async () => {
      await stopUp(up);
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      for (const name of ['assimilate', 'sample', 'cycle'])
        await new Queue(name, { connection }).obliterate({ force: true }).catch(() => undefined);
      connection.disconnect();
      rmSync(root, { recursive: true, force: true });
    }, 60_000);

    it('runs a cycle started over HTTP step by step to the series alignda cycle gives', async () => {
      expect(reference['3dvar']).toHaveLength(SETTINGS.cycles);
      const id = await startCycle('e2e-a');
      const v = await finished(id, 240_000);
      expect(v.state, JSON.stringify(v.error)).toBe('succeeded');
      expect(v.stepsDone).toBe(SETTINGS.cycles);
      expect(seriesOf(v)).toEqual(reference);
    }, 300_000);

    it('finishes a cycle whose service is killed in the middle of a step: every step once, the same series', async () => {
      const id = await startCycle('e2e-killed');
      // Wait for the first step to be running, then SIGKILL the service running it.
      const deadline = Date.now() + 120_000;
      let running = false;
      while (!running && Date.now() < deadline) {
        running = await withDb(
          async (db) => (await db.cycleStep.count({ where: { cycleId: id, status: 'running' } })) > 0,
        );
        if (!running) await new Promise((r) => setTimeout(r, 100));
      }
      expect(running).toBe(true);
      const pid = Number(/^ +cycler +\S+ +pid (\d+)$/m.exec(upOutput)?.[1]);
      expect(pid).toBeGreaterThan(0);
      process.kill(pid, 'SIGKILL');
      const v = await finished(id, 240_000);
      expect(upOutput).toMatch(/cycler exited \(SIGKILL\): restarting it/);
      expect(v.state, JSON.stringify(v.error)).toBe('succeeded');
      const steps = await withDb((db) =>
        db.cycleStep.findMany({ where: { cycleId: id }, orderBy: { stepIndex: 'asc' } }),
      );
      expect(steps.map((s) => [s.stepIndex, s.status])).toEqual(
        Array.from({ length: SETTINGS.cycles }, (_, k) => [k, 'succeeded']),
      );
      expect(seriesOf(v)).toEqual(reference);
    }, 300_000);
  },
);

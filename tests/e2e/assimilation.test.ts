/**
 * The platform end to end: `alignda up --samplers 2` starts every service as its own process (ingest, encoder, two
 * sampler replicas on the sample queue, forecast, reward, orchestrator, gateway) on free ports, over real Redis, real gRPC and the registry on a throw-away
 * PostgreSQL database (SQLite when PostgreSQL does not answer); one DPS job goes in over HTTP and its analysis comes
 * out of the blob store, compared with `alignda assimilate` (the single-process reference) on the same request and
 * models on CPU.
 *
 * Bit for bit: the decoded members, their mean and spread, and the background (the job's mean is that of its
 * physical members in both, packages/pipelines' memberMean, since the encoder service hands members back in
 * physical units).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openDatabase } from '@alignda/db';
import type { Db } from '@alignda/db';
import { probeRedis } from '@alignda/queue';
import { readNetcdfClassic } from '@alignda/world';

import { alignda, startUp, stopUp, waitForLine } from './platform.js';
import type { Ran } from './platform.js';

const REDIS_URL = process.env.ALIGNDA_TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_ADMIN_URL = process.env.ALIGNDA_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Why Redis cannot be used (the suite is skipped), or null. */
const redisProblem = await probeRedis(REDIS_URL, 1500).then(
  () => null,
  (err: unknown) => (err instanceof Error ? err.message : String(err)),
);

/** Why PostgreSQL cannot be used (SQLite is then), or null. */
async function postgresReachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}
const pgProblem = redisProblem === null ? await postgresReachable() : 'not tried';

async function pgAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// The smallest QG run train takes (packages/cli eval and assimilate tests): 0.065 y = 95 six-hourly states. The
// services open the world's one-year run (ALIGNDA_WORLD_YEARS is whole years), whose first 95 states are the same.
const YEARS = '0.065';
const REQUEST = {
  source: { world: 'qg' },
  validTime: '2001-01-23T00:00Z',
  method: 'dps',
  members: 2,
  steps: 8,
  seed: 5,
  observations: {
    cells: [
      { channel: 't', row: 10, col: 10, value: 250, sigma: 0.5 },
      { channel: 't', row: 20, col: 40, value: 245, sigma: 0.5 },
      { channel: 'u_upper', row: 5, col: 3, value: 12, sigma: 2 },
    ],
  },
};

type NcFile = ReturnType<typeof readNetcdfClassic>;
const variable = (f: NcFile, name: string): ArrayLike<number> => {
  const v = f.variables.find((x) => x.name === name);
  if (v === undefined) throw new Error(`no variable ${name}`);
  return v.data;
};
/** How many values of two arrays differ in any bit (NaN fill values compare equal to themselves). */
const bitDiffs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let n = a.length === b.length ? 0 : Math.max(a.length, b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (!Object.is(a[i], b[i])) n++;
  return n;
};

describe.skipIf(redisProblem !== null)(
  `the platform end to end${
    redisProblem !== null
      ? ` (SKIPPED: no Redis at ${REDIS_URL}: ${redisProblem}; start one or set REDIS_URL)`
      : pgProblem === null
        ? ' (registry on PostgreSQL)'
        : ` (registry on SQLite: PostgreSQL at ${PG_ADMIN_URL} is unreachable: ${pgProblem})`
  }`,
  () => {
    const root = mkdtempSync(path.join(tmpdir(), 'alignda-e2e-'));
    const home = path.join(root, 'home');
    // A Redis database of its own (BullMQ keys are per database; the cancel channel is ignored for others' ids).
    const redisDb = 1 + (randomBytes(1).readUInt8(0) % 15);
    const redisUrl = Object.assign(new URL(REDIS_URL), { pathname: `/${redisDb}` }).href;
    const pgName = `alignda_test_${randomBytes(6).toString('hex')}`;
    const usePostgres = pgProblem === null;
    let env: NodeJS.ProcessEnv = {};
    let up: ChildProcess | undefined;
    let gateway = '';
    let token = '';
    let reference: Ran | undefined;
    /** What `alignda up` has printed. */
    let upOutput = '';
    /** The sampler replicas' process ids, as `alignda up` listed them. */
    let samplerPids: number[] = [];

    const headers = (): Record<string, string> => ({
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    });
    const FINISHED = ['succeeded', 'failed', 'cancelled'];

    /** GET the job every 300 ms until `done` says so (bounded); the views' state:stage seen on the way. */
    async function poll(
      id: string,
      done: (view: Record<string, unknown>) => boolean,
      timeoutMs: number,
    ): Promise<{ view: Record<string, unknown>; seen: Set<string> }> {
      const deadline = Date.now() + timeoutMs;
      const seen = new Set<string>();
      for (;;) {
        const got = await fetch(`${gateway}/v1/assimilations/${id}`, { headers: headers() });
        expect(got.status).toBe(200);
        const view = (await got.json()) as Record<string, unknown>;
        seen.add(`${String(view.state)}:${String(view.stage)}`);
        if (done(view) || Date.now() > deadline) return { view, seen };
        await new Promise((r) => setTimeout(r, 300));
      }
    }

    /** The Job row's status and the ids of the job's Analysis rows. */
    async function rows(id: string): Promise<{ status: string; analyses: unknown[][] }> {
      const db: Db = await openDatabase({ databaseUrl: env.DATABASE_URL ?? '', startupProbeTimeoutMs: 5000 });
      try {
        const job = await db.job.findUniqueOrThrow({ where: { id } });
        const analyses = await db.analysis.findMany({ where: { jobId: id } });
        return { status: job.status, analyses: analyses.map((a) => [a.id, a.members, a.artifactPaths]) };
      } finally {
        await db.$disconnect();
      }
    }

    beforeAll(async () => {
      if (usePostgres) await pgAdmin(`CREATE DATABASE "${pgName}"`);
      env = {
        ...process.env,
        ALIGNDA_HOME: home,
        ALIGNDA_DATA_DIR: path.join(root, 'no-data'),
        DATABASE_URL: usePostgres
          ? Object.assign(new URL(PG_ADMIN_URL), { pathname: `/${pgName}` }).href
          : `file:${path.join(home, 'alignda.db')}`,
        REDIS_URL: redisUrl,
        ALIGNDA_EXECUTION_PROVIDER: 'cpu',
        LOG_LEVEL: 'info',
        // Room for a killed service to come back (retries after 2, 4, 8, ... s).
        ALIGNDA_ORCHESTRATOR_ATTEMPTS: '8',
        // A killed sampler replica's job goes to another one within 2-3 lock times (30 s by default).
        ALIGNDA_SAMPLE_LOCK_MS: '3000',
      };
      for (const k of ['ALIGNDA_DEBUG', 'HTTP_PORT', 'GRPC_PORT', 'ALIGNDA_MODEL_DIR', 'ALIGNDA_WORLD_YEARS'])
        delete env[k];

      // The models (a few steps) and the year-long nature run the services open, side by side.
      const [train, world] = await Promise.all([
        alignda(env, ['train', '--preset', 'ci', '--years', YEARS, '--steps', '30']),
        alignda(env, ['world', 'generate', '--years', '1', '--out', path.join(home, 'worlds')]),
      ]);
      expect(train.status, train.stderr).toBe(0);
      expect(world.status, world.stderr).toBe(0);

      const requestFile = path.join(root, 'request.json');
      writeFileSync(requestFile, JSON.stringify(REQUEST));
      // The reference runs while the platform starts.
      const referenceRun = alignda(env, [
        'assimilate',
        '--preset',
        'ci',
        '--years',
        YEARS,
        '--obs',
        requestFile,
        '--out',
        path.join(root, 'reference.nc'),
      ]);
      // Its own process group, so that afterAll stops it and every service it started even if it hangs.
      up = startUp(env, ['--http-port', '0', '--start-timeout', '170', '--samplers', '2']);
      const [started] = await Promise.all([
        waitForLine(up, /^gateway (http:\/\/\S+)/m, 180_000),
        referenceRun.then((r) => (reference = r)),
      ]);
      gateway = started.match[1] ?? '';
      upOutput = started.output;
      up.stdout?.on('data', (chunk: string) => (upOutput += chunk)); // keep the pipe drained
      up.stderr?.resume();
      samplerPids = [...upOutput.matchAll(/^ +sampler(?:-\d+)? +\S+ +pid (\d+)$/gm)].map((m) => Number(m[1]));
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
    }, 420_000);

    afterAll(async () => {
      await stopUp(up);
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      for (const name of ['assimilate', 'sample'])
        await new Queue(name, { connection }).obliterate({ force: true }).catch(() => undefined);
      connection.disconnect();
      if (usePostgres) await pgAdmin(`DROP DATABASE IF EXISTS "${pgName}" WITH (FORCE)`);
      rmSync(root, { recursive: true, force: true });
    }, 60_000);

    it('runs one DPS job through every service: succeeded, one Analysis row, and its mean, members, spread and background bit-identical to alignda assimilate', async () => {
      expect(reference?.status, reference?.stderr).toBe(0);
      const correlationId = `e2e-${randomUUID()}`;
      const post = await fetch(`${gateway}/v1/assimilations`, {
        method: 'POST',
        headers: { ...headers(), 'x-correlation-id': correlationId },
        body: JSON.stringify(REQUEST),
      });
      expect(post.status).toBe(202);
      const { id } = (await post.json()) as { id: string };

      const { view, seen } = await poll(id, (v) => FINISHED.includes(String(v.state)), 120_000);
      expect(view, [...seen].join(' ')).toMatchObject({
        state: 'succeeded',
        progress: 1,
        error: null,
        correlationId,
      });
      const result = view.result as {
        artifacts: { analysis: string };
        members: number;
        qc: { total: number; passed: number };
        diagnostics: { count: number };
        verification: { forecast48h: { validTime: string } | null };
      };
      expect(result.artifacts.analysis).toBe(path.join('results', id, 'analysis.nc'));
      expect(result).toMatchObject({ members: 2, qc: { total: 3, passed: 3 }, diagnostics: { count: 3 } });
      expect(result.verification.forecast48h?.validTime).toBe('2001-01-25T00:00:00.000Z');

      // The registry: the Job row succeeded and exactly one Analysis row, keyed by the job.
      expect(await rows(id)).toEqual({
        status: 'succeeded',
        analyses: [[id, 2, { analysis: result.artifacts.analysis }]],
      });

      // The analysis against the reference, variable by variable.
      const file = path.join(home, result.artifacts.analysis);
      expect(existsSync(file)).toBe(true);
      const platform = readNetcdfClassic(readFileSync(file));
      const ref = readNetcdfClassic(readFileSync(path.join(root, 'reference.nc')));
      expect(platform.dimensions).toEqual(ref.dimensions);
      expect(platform.variables.map((v) => v.name)).toEqual(ref.variables.map((v) => v.name));
      const channels = ['z_upper', 'z_lower', 'u_upper', 'u_lower', 'v_upper', 'v_lower', 't'];
      for (const c of channels) {
        for (const suffix of ['', '_members', '_spread', '_background'])
          expect(bitDiffs(variable(platform, c + suffix), variable(ref, c + suffix)), c + suffix).toBe(0);
      }

      // The map, drawn by the gateway from the stored netCDF on request.
      const map = await fetch(`${gateway}/v1/assimilations/${id}/map.png`, { headers: headers() });
      expect(map.status).toBe(200);
      expect(map.headers.get('content-type')).toBe('image/png');
      expect(
        Buffer.from(await map.arrayBuffer())
          .subarray(1, 4)
          .toString('latin1'),
      ).toBe('PNG');

      // The correlation id reached the services' log lines (the sampler's: that of whichever replica sampled).
      const logOf = (name: string): string =>
        readFileSync(path.join(home, 'logs', 'up', `${name}.log`), 'utf8');
      for (const service of ['orchestrator', 'ingest', 'encoder', 'forecast', 'reward'])
        expect(logOf(service).includes(correlationId), `${service}.log names ${correlationId}`).toBe(true);
      expect(
        [logOf('sampler'), logOf('sampler-2')].some((l) => l.includes(correlationId)),
        `a sampler log names ${correlationId}`,
      ).toBe(true);
    }, 150_000);

    it('cancels a running job over HTTP: the replica sampling it stops at its next step, and the job ends cancelled with no Analysis', async () => {
      const post = await fetch(`${gateway}/v1/assimilations`, {
        method: 'POST',
        headers: headers(),
        body: JSON.stringify({ ...REQUEST, steps: 1000, seed: 6 }),
      });
      expect(post.status).toBe(202);
      const { id } = (await post.json()) as { id: string };
      const sampling = await poll(
        id,
        (v) => FINISHED.includes(String(v.state)) || (v.stage === 'sample' && Number(v.progress) > 0.135),
        60_000,
      );
      expect(sampling.view).toMatchObject({ state: 'running', stage: 'sample' });
      const cancel = await fetch(`${gateway}/v1/assimilations/${id}`, {
        method: 'DELETE',
        // No content-type: a DELETE has no body (Fastify refuses an empty application/json one).
        headers: { authorization: `Bearer ${token}` },
      });
      expect(cancel.status).toBe(200);
      expect(await cancel.json()).toMatchObject({ state: 'cancelled' });

      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const samples = new Queue('sample', { connection });
      try {
        // The replica's sample job fails as cancelled, part way through its 1000 steps.
        let reason = '';
        for (let t = 0; t < 100 && reason === ''; t++) {
          reason = (await samples.getJob(`${id}.sample`))?.failedReason ?? '';
          if (reason === '') await new Promise((r) => setTimeout(r, 200));
        }
        const done = Number(/^CANCELLED: sampling cancelled after (\d+) of 1000 steps/.exec(reason)?.[1]);
        expect(done, reason).toBeGreaterThan(0);
        expect(done, reason).toBeLessThan(1000);
      } finally {
        await samples.close();
        connection.disconnect();
      }
      await new Promise((r) => setTimeout(r, 1000));
      expect(await rows(id)).toEqual({ status: 'cancelled', analyses: [] });
    }, 120_000);

    it('finishes a job whose sampler replica is killed with SIGKILL mid-job: another replica takes the sample job, and exactly one Analysis row exists', async () => {
      expect(samplerPids, upOutput).toHaveLength(2);
      const post = await fetch(`${gateway}/v1/assimilations`, {
        method: 'POST',
        headers: headers(),
        body: JSON.stringify({ ...REQUEST, steps: 1000 }),
      });
      expect(post.status).toBe(202);
      const { id } = (await post.json()) as { id: string };
      // Sampling: a replica has reported a step (the sample stage starts at 0.13 of the job).
      const sampling = await poll(
        id,
        (v) => FINISHED.includes(String(v.state)) || (v.stage === 'sample' && Number(v.progress) > 0.135),
        60_000,
      );
      expect(sampling.view, [...sampling.seen].join(' ')).toMatchObject({
        state: 'running',
        stage: 'sample',
      });
      // The replica that holds the sample job, from BullMQ's record of it (`host:pid`).
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const samples = new Queue('sample', { connection });
      try {
        const holder = (await samples.getJob(`${id}.sample`))?.processedBy ?? '';
        const pid = Number(holder.split(':').at(-1));
        expect(samplerPids, `sample job held by ${holder}`).toContain(pid);
        process.kill(pid, 'SIGKILL');

        const { view, seen } = await poll(id, (v) => FINISHED.includes(String(v.state)), 180_000);
        expect(view, [...seen].join(' ')).toMatchObject({ state: 'succeeded', error: null });
        const done = await samples.getJob(`${id}.sample`);
        const by = String((done?.returnvalue as { sampler?: unknown } | undefined)?.sampler);
        expect(by, 'sampled by another process').not.toBe(holder);
        expect(
          done?.stalledCounter,
          'BullMQ recovered the job from the killed replica',
        ).toBeGreaterThanOrEqual(1);
      } finally {
        await samples.close();
        connection.disconnect();
      }
      expect(upOutput).toMatch(/^sampler(-2)? exited \(SIGKILL\): restarting it in 1 s/m);
      // The orchestrator never saw a failure: the sample job moved, the assimilation job did not.
      const log = readFileSync(path.join(home, 'logs', 'up', 'orchestrator.log'), 'utf8')
        .split('\n')
        .filter((l) => l.includes(id));
      expect(log.some((l) => l.includes('job will be retried'))).toBe(false);
      expect((await rows(id)).analyses.map((a) => a[0])).toEqual([id]);
    }, 240_000);
  },
);

/**
 * The orchestrator's worker over a real Redis (a fresh `test-<uuid>` queue prefix, obliterated afterwards), a
 * temporary SQLite registry, the QG world's first states, and fakes of the five services: what a job's outcome does
 * to its Job row, its Analysis row, BullMQ and the calls in flight. The data path's numbers against the reference are
 * tests/e2e/assimilation.test.ts's.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { openDatabase } from '@alignda/db';
import type { Db } from '@alignda/db';
import { AppError, GrpcStatus } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import { QueueName, assimilateJobData, probeRedis } from '@alignda/queue';
import { fieldToProto, tensorFromFloat32 } from '@alignda/rpc';
import type { ObsBatch } from '@alignda/rpc';
import { fitNormStats } from '@alignda/tensor';
import { openSource } from '@alignda/world';
import type { DaSource } from '@alignda/world';

import { callError, grpcServicePorts } from './adapters/grpc-services.js';
import { buildOrchestrator } from './app.js';
import type { Orchestrator } from './app.js';
import { markSucceeded } from './job-record.js';
import type { CallScope, ServicePorts } from './ports.js';

const REDIS_URL = process.env.ALIGNDA_TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisProblem = await probeRedis(REDIS_URL, 1000).then(
  () => null,
  (err: unknown) => (err instanceof Error ? err.message : String(err)),
);

const Z_SHAPE = [4, 8, 16];
const REQUEST = {
  source: { world: 'qg' },
  // State 80: its background starts from state 72 and its 48 h forecast verifies against state 88 (of 95).
  validTime: '2001-01-21T00:00Z',
  method: 'dps',
  members: 2,
  steps: 4,
  seed: 1,
  observations: { cells: [{ channel: 't', row: 3, col: 4, value: 250, sigma: 0.5 }] },
};

/** What a fake sampler does when called. */
type SamplerBehaviour = (scope: CallScope) => Promise<void>;

/** Fakes of the five services: answers of the right shapes; the sampler does what the test says. */
function fakeServices(
  source: DaSource,
  calls: string[],
  sampler: { behaviour: SamplerBehaviour },
): ServicePorts {
  const passed = (batch: ObsBatch | undefined): { batch: ObsBatch; n: number } => {
    if (batch === undefined) throw new AppError('INVALID_ARGUMENT', 'no batch');
    return { batch: { ...batch, qcFlags: batch.values.map(() => 0) }, n: batch.values.length };
  };
  let stored: ObsBatch | undefined;
  return {
    ingest: {
      submit: (request) => {
        calls.push('ingest.Submit');
        const { batch, n } = passed(request.source?.$case === 'batch' ? request.source.value : undefined);
        stored = batch;
        return Promise.resolve({ batchId: 'b1', batch, qc: { total: n, passed: n, flagCounts: [] } });
      },
      check: () => {
        calls.push('ingest.Check');
        const n = stored?.values.length ?? 0;
        return Promise.resolve({
          batch: stored,
          oMinusB: { departures: [], channels: [] },
          qc: { total: n, passed: n, flagCounts: [] },
        });
      },
    },
    encoder: {
      encode: () => {
        calls.push('encoder.Encode');
        return Promise.resolve({
          latents: tensorFromFloat32(new Float32Array(4 * 8 * 16), [1, ...Z_SHAPE]),
          modelVersion: 'm',
          autoencoderSha256: 'a'.repeat(64),
        });
      },
      decode: (request) => {
        calls.push('encoder.Decode');
        const M = request.latents?.shape[0] ?? 0;
        return Promise.resolve({
          fields: Array.from({ length: M }, (_, m) => fieldToProto(source.field(60 + m), request.validTime)),
          modelVersion: 'm',
        });
      },
    },
    sampler: {
      sample: async (request, scope, onProgress) => {
        // The latents go with the identity of the autoencoder that encoded them (the sampler checks its pin).
        if (request.autoencoderSha256 !== 'a'.repeat(64))
          throw new AppError('FAILED_PRECONDITION', `autoencoder ${request.autoencoderSha256}`);
        calls.push('sampler.Sample');
        onProgress({ fraction: 0.5, stage: 'sample', message: '' });
        await sampler.behaviour(scope);
        return {
          analysisLatents: tensorFromFloat32(new Float32Array(request.members * 512), [
            request.members,
            ...Z_SHAPE,
          ]),
          modelVersion: 'm',
          steps: request.steps ?? 64,
          corrections: 1,
          executionProvider: 'cpu',
          sampler: 'fake',
        };
      },
    },
    forecast: {
      rollout: (request) => {
        calls.push('forecast.Rollout');
        return Promise.resolve({ step: 8, leadHours: 48, field: request.initial, modelVersion: 'm' });
      },
    },
    reward: {
      score: (request) => {
        calls.push('reward.Score');
        return Promise.resolve({
          samples: request.samples.map((_, index) => ({
            index,
            wrmseNormalised: source.channels.map(() => 0.5),
            mseNormalised: 0.25,
            oMinusA: undefined,
          })),
          oMinusB: undefined,
        });
      },
    },
  };
}

/** grpc-js's error when nothing listens at the address. */
const unavailableStatus = (): Error =>
  Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
    code: GrpcStatus.UNAVAILABLE,
    details: 'No connection established',
  });
/** What the gRPC adapter makes of it. */
const unavailable = (): AppError =>
  callError('sampler.Sample', unavailableStatus(), {
    jobId: 'j',
    signal: new AbortController().signal,
    correlationId: 'c',
  });

describe('callError', () => {
  const scope = (aborted: boolean): CallScope => {
    const c = new AbortController();
    if (aborted) c.abort();
    return { jobId: 'j', signal: c.signal, correlationId: 'c' };
  };
  it('maps a gRPC status back to the catalog, names the rpc, and is CANCELLED when the job aborted the call', () => {
    expect(callError('sampler.Sample', unavailableStatus(), scope(false))).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'sampler.Sample: No connection established',
    });
    const invalid = { code: GrpcStatus.INVALID_ARGUMENT, details: 'grid: bad' };
    expect(callError('sampler.Sample', invalid, scope(false))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'sampler.Sample: grid: bad',
    });
    expect(callError('sampler.Sample', invalid, scope(true))).toMatchObject({ code: 'CANCELLED' });
  });

  it('meets a closed port with UNAVAILABLE naming the rpc, and an aborted job with CANCELLED', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const at = `127.0.0.1:${port}`;
    const ports = grpcServicePorts({ ingest: at, encoder: at, sampler: at, forecast: at, reward: at });
    try {
      await expect(
        ports.encoder.encode({ fields: [], modelVersion: '' }, scope(false)),
      ).rejects.toMatchObject({
        code: 'UNAVAILABLE',
        message: expect.stringMatching(/^encoder\.Encode: /) as string,
      });
      const request = {
        backgroundLatent: undefined,
        observations: undefined,
        grid: undefined,
        guidance: 0,
        members: 1,
        seed: 0,
        modelVersion: '',
        autoencoderSha256: '',
      };
      await expect(ports.sampler.sample(request, scope(true), () => undefined)).rejects.toMatchObject({
        code: 'CANCELLED',
      });
    } finally {
      ports.close();
    }
  });
});

describe.skipIf(redisProblem !== null)(
  `orchestrator worker${redisProblem === null ? '' : ` (SKIPPED: no Redis at ${REDIS_URL}: ${redisProblem})`}`,
  () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'alignda-orchestrator-'));
    const prefix = `test-${randomUUID()}`;
    let db: Db;
    let source: DaSource;
    let connection: Redis;
    let queue: Queue;
    let orchestrator: Orchestrator;
    const calls: string[] = [];
    const sampler: { behaviour: SamplerBehaviour } = { behaviour: () => Promise.resolve() };

    beforeAll(async () => {
      db = await openDatabase({
        databaseUrl: `file:${path.join(dir, 'alignda.db')}`,
        startupProbeTimeoutMs: 2000,
      });
      source = await openSource({ homeDir: dir, dataDir: dir }, { world: 'qg', seed: 1, years: 0.065 });
      const stack = new Float32Array(8 * 7 * 32 * 64);
      for (let i = 0; i < 8; i++) stack.set(source.state(i * 8).data, i * 7 * 32 * 64);
      const norm = fitNormStats({ data: stack, shape: [8, ...source.shape] }, { channels: source.channels });
      connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      queue = new Queue(QueueName.assimilate, { connection, prefix });
      orchestrator = buildOrchestrator({
        services: fakeServices(source, calls, sampler),
        db,
        source,
        norm,
        background: 'model',
        modelVersion: 'm',
        homeDir: dir,
        connection,
        prefix,
        logger: createLogger({ service: 'orchestrator', level: 'silent' }),
        settings: { attempts: 2, retryDelayMs: 50 },
      });
      await orchestrator.run();
    }, 120_000);

    afterAll(async () => {
      await orchestrator.close(1000);
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
      await db.$disconnect();
      rmSync(dir, { recursive: true, force: true });
    });

    beforeEach(() => {
      calls.length = 0;
      sampler.behaviour = () => Promise.resolve();
    });

    /** A Job row and its BullMQ job, as the gateway makes them. */
    async function submit(request: object = REQUEST): Promise<string> {
      const id = randomUUID();
      await db.job.create({ data: { id, kind: 'assimilate', request, correlationId: `corr-${id}` } });
      await queue.add('assimilate', assimilateJobData(id, `corr-${id}`, request), { jobId: id });
      return id;
    }

    /** Waits until BullMQ has finished the job (completed or failed). */
    async function settled(id: string, timeoutMs = 60_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const state = await queue.getJobState(id);
        if (state === 'completed' || state === 'failed') return state;
        if (Date.now() > deadline) throw new Error(`job ${id} still ${state}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    it('runs the data path in order and records the Job row, one Analysis row and the netCDF file', async () => {
      const id = await submit();
      expect(await settled(id)).toBe('completed');
      expect(calls).toEqual([
        'ingest.Submit',
        'ingest.Check',
        'encoder.Encode',
        'sampler.Sample',
        'encoder.Decode',
        'forecast.Rollout',
        'reward.Score',
        'reward.Score',
      ]);
      const row = await db.job.findUniqueOrThrow({ where: { id } });
      expect(row).toMatchObject({ status: 'succeeded', progress: 1, stage: 'done', errorCode: null });
      expect(row.startedAt).not.toBeNull();
      expect(row.result).toMatchObject({
        analysisId: id,
        validTime: '2001-01-21T00:00:00.000Z',
        stateIndex: 80,
        backgroundStartTime: '2001-01-19T00:00:00.000Z',
        members: 2,
        artifacts: { analysis: path.join('results', id, 'analysis.nc') },
        qc: { total: 1, passed: 1, grossErrors: 0 },
        verification: { forecast48h: { validTime: '2001-01-23T00:00:00.000Z', mseNormalised: 0.25 } },
      });
      expect(existsSync(path.join(dir, 'results', id, 'analysis.nc'))).toBe(true);
      expect((await db.analysis.findMany({ where: { jobId: id } })).map((a) => a.id)).toEqual([id]);
      expect((await queue.getJob(id))?.progress).toEqual({ fraction: 1, stage: 'store' });
    }, 60_000);

    it('retries a job whose service was UNAVAILABLE, and the retry makes no second Analysis row', async () => {
      let n = 0;
      sampler.behaviour = () => (++n === 1 ? Promise.reject(unavailable()) : Promise.resolve());
      const id = await submit();
      expect(await settled(id)).toBe('completed');
      expect(calls.filter((c) => c === 'sampler.Sample')).toHaveLength(2);
      expect((await queue.getJob(id))?.attemptsStarted).toBe(2);
      expect((await db.job.findUniqueOrThrow({ where: { id } })).status).toBe('succeeded');
      expect(await db.analysis.count({ where: { jobId: id } })).toBe(1);
    }, 60_000);

    it('fails with UNAVAILABLE once the attempts are spent', async () => {
      sampler.behaviour = () => Promise.reject(unavailable());
      const id = await submit();
      expect(await settled(id)).toBe('failed');
      expect(calls.filter((c) => c === 'sampler.Sample')).toHaveLength(2);
      expect(await db.job.findUniqueOrThrow({ where: { id } })).toMatchObject({
        status: 'failed',
        errorCode: 'UNAVAILABLE',
        errorMessage: 'sampler.Sample: No connection established',
      });
      expect(await db.analysis.count({ where: { jobId: id } })).toBe(0);
    }, 60_000);

    it('fails UNAVAILABLE on its row a job the queue gives up without running it (its workers died too often)', async () => {
      // A killed worker's job goes back to the queue up to `attempts` times, not BullMQ's default once.
      expect(orchestrator.worker.opts.maxStalledCount).toBe(2);
      const id = randomUUID();
      await db.job.create({
        data: { id, kind: 'assimilate', request: REQUEST, correlationId: `corr-${id}` },
      });
      await queue.add('assimilate', assimilateJobData(id, `corr-${id}`, REQUEST), { jobId: id, delay: 300 });
      // What BullMQ's stalled-job check (moveStalledJobsToWait) leaves on a job stalled past maxStalledCount: the
      // next worker to take it fails it without running it.
      await connection.hset(
        `${prefix}:${QueueName.assimilate}:${id}`,
        'defa',
        'job stalled more than allowable limit',
      );
      expect(await settled(id)).toBe('failed');
      expect(calls).toEqual([]);
      const deadline = Date.now() + 10_000;
      while ((await db.job.findUniqueOrThrow({ where: { id } })).status === 'queued' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(await db.job.findUniqueOrThrow({ where: { id } })).toMatchObject({
        status: 'failed',
        errorCode: 'UNAVAILABLE',
        errorMessage: 'the queue gave the job up: job stalled more than allowable limit',
      });
    }, 30_000);

    it('fails at once, with the code and message on the row, when a service refuses the job', async () => {
      sampler.behaviour = () =>
        Promise.reject(
          callError(
            'sampler.Sample',
            { code: GrpcStatus.INVALID_ARGUMENT, details: 'grid: bad' },
            {
              jobId: 'j',
              signal: new AbortController().signal,
              correlationId: 'c',
            },
          ),
        );
      const id = await submit();
      expect(await settled(id)).toBe('failed');
      expect(calls.filter((c) => c === 'sampler.Sample')).toHaveLength(1);
      expect(await db.job.findUniqueOrThrow({ where: { id } })).toMatchObject({
        status: 'failed',
        errorCode: 'INVALID_ARGUMENT',
        errorMessage: 'sampler.Sample: grid: bad',
      });
    }, 60_000);

    it.each([
      [
        '3D-Var',
        { ...REQUEST, method: '3dvar' },
        'UNIMPLEMENTED',
        /^method 3dvar: the platform's services sample the latent methods/,
      ],
      [
        'a cell outside the grid',
        { ...REQUEST, observations: { cells: [{ channel: 't', row: 99, col: 4, value: 250, sigma: 0.5 }] } },
        'INVALID_ARGUMENT',
        /^observation 0: row 99 outside the grid's 0\.\.31$/,
      ],
      [
        'another dataset',
        { ...REQUEST, source: { dataset: 'ncep-air' } },
        'INVALID_ARGUMENT',
        /^the request names dataset 'ncep-air' but this platform serves world 'qg'$/,
      ],
    ])('refuses %s before calling any service', async (_title, request, code, message) => {
      const id = await submit(request);
      expect(await settled(id)).toBe('failed');
      expect(calls).toEqual([]);
      const row = await db.job.findUniqueOrThrow({ where: { id } });
      expect(row).toMatchObject({ status: 'failed', errorCode: code });
      expect(row.errorMessage).toMatch(message);
    });

    it('cancels a running job: the call in flight is aborted and the job ends cancelled, not failed', async () => {
      let aborted: () => void = () => undefined;
      const sawAbort = new Promise<void>((resolve) => (aborted = resolve));
      let started: () => void = () => undefined;
      const inSampler = new Promise<void>((resolve) => (started = resolve));
      sampler.behaviour = (scope) =>
        new Promise<void>((_resolve, reject) => {
          started();
          scope.signal.addEventListener('abort', () => {
            aborted();
            reject(callError('sampler.Sample', { code: GrpcStatus.CANCELLED, details: 'Cancelled' }, scope));
          });
        });
      const id = await submit();
      await inSampler;
      expect(orchestrator.cancel(id)).toBe(true);
      await sawAbort;
      expect(await settled(id)).toBe('failed'); // BullMQ's word for a job that will not run again
      expect(await db.job.findUniqueOrThrow({ where: { id } })).toMatchObject({
        status: 'cancelled',
        errorCode: 'CANCELLED',
      });
      expect(calls.filter((c) => c === 'sampler.Sample')).toHaveLength(1);
      expect(calls).not.toContain('encoder.Decode');
      expect(await db.analysis.count({ where: { jobId: id } })).toBe(0);
    }, 60_000);

    it('keys the Analysis row by the job: recording its success again updates the one row', async () => {
      const id = await submit();
      expect(await settled(id)).toBe('completed');
      await db.job.update({ where: { id }, data: { status: 'running' } }); // as a second delivery finds it
      const again = {
        jobId: id,
        datasetId: (await db.dataset.findFirstOrThrow()).id,
        validTime: new Date(0),
      };
      const row = { ...again, members: 3, artifactPaths: { analysis: 'x.nc' }, diagnostics: {}, result: {} };
      expect(await markSucceeded(db, row)).toBe(true);
      const analyses = await db.analysis.findMany({ where: { jobId: id } });
      expect(analyses.map((a) => [a.id, a.members])).toEqual([[id, 3]]);
      // A job no longer running (cancelled meanwhile) records nothing.
      await db.job.update({ where: { id }, data: { status: 'cancelled' } });
      expect(await markSucceeded(db, { ...row, members: 4 })).toBe(false);
      expect((await db.analysis.findUniqueOrThrow({ where: { id } })).members).toBe(3);
    });

    it('does not run a job the client cancelled before it started', async () => {
      const id = randomUUID();
      await db.job.create({
        data: { id, kind: 'assimilate', request: REQUEST, status: 'cancelled', errorCode: 'CANCELLED' },
      });
      await queue.add('assimilate', assimilateJobData(id, 'c', REQUEST), { jobId: id });
      expect(await settled(id)).toBe('completed');
      expect(calls).toEqual([]);
      expect((await db.job.findUniqueOrThrow({ where: { id } })).status).toBe('cancelled');
    });

    it('refuses a job whose payload is of another version, failing its row and calling no service', async () => {
      const id = randomUUID();
      await db.job.create({ data: { id, kind: 'assimilate', request: REQUEST, correlationId: 'c' } });
      await queue.add('assimilate', { ...assimilateJobData(id, 'c', REQUEST), version: 2 }, { jobId: id });
      expect(await settled(id)).toBe('failed');
      expect(calls).toEqual([]);
      expect(await db.job.findUniqueOrThrow({ where: { id } })).toMatchObject({
        status: 'failed',
        errorCode: 'FAILED_PRECONDITION',
        errorMessage: expect.stringContaining(
          'payload version 2; this orchestrator reads version 1',
        ) as unknown,
      });
    });
  },
);

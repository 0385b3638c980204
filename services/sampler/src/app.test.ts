/**
 * The sampler service on 127.0.0.1:0 with ci models trained a few steps on a one-variable in-memory dataset: health,
 * Sample bit for bit as pipelines' assimilate with the same prior, observations and seed (ObsFree and DPS), Progress
 * per step, malformed requests, cancellation at the next step, and main.ts as a child process that drains on SIGTERM.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';

import { griddedObservations } from '@alignda/da';
import { GrpcStatus } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import { createLatentSessions, fileModelStore } from '@alignda/nn';
import { QueueName, probeRedis } from '@alignda/queue';
import type { LatentModels } from '@alignda/nn';
import { LEAD_STEPS, assimilate, encodeState, latentPrior, trainLatentModels } from '@alignda/pipelines';
import {
  GuidanceMode,
  QcFlag,
  SamplerServiceClient,
  checkHealth,
  createGrpcClient,
  float32FromTensor,
  gridToProto,
  parseSampleJobReturn,
  sampleJobData,
  sampleJobId,
  streamMessages,
  tensorFromFloat32,
} from '@alignda/rpc';
import type { GrpcService, ObsBatch, SampleRequest, SampleResponse } from '@alignda/rpc';
import { createRng, normalise } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { memoryDataset } from '../../../packages/pipelines/src/internal/testing.js';
import { spawnServiceMain } from '../../../packages/rpc/src/internal/testing.js';
import { buildApp } from './app.js';
import type { SamplerApp } from './app.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const [C, H, W] = [1, 32, 64];
const COUNT = 80;
const MEMBERS = 3;
const STEPS = 4;
const REDIS_URL = process.env.ALIGNDA_TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisProblem = await probeRedis(REDIS_URL, 1000).then(
  () => null,
  (err: unknown) => (err instanceof Error ? err.message : String(err)),
);

/** Travelling waves in temperature (K) plus noise, as packages/pipelines' no-truth test trains on. */
function states(): Float32Array[] {
  const rng = createRng(3);
  return Array.from({ length: COUNT }, (_, t) => {
    const [a, b] = [rng.normal(), rng.normal()];
    return Float32Array.from({ length: C * H * W }, (_, g) => {
      const [i, k] = [Math.floor(g / W), g % W];
      return (
        280 - 0.5 * i + 3 * a * Math.sin((2 * Math.PI * k) / W + t / 4) + 2 * b * Math.cos((Math.PI * i) / H)
      );
    });
  });
}

/** Every message of a Sample call. */
async function collect(client: SamplerServiceClient, request: SampleRequest): Promise<SampleResponse[]> {
  const out: SampleResponse[] = [];
  for await (const m of streamMessages(client.sample(request))) out.push(m);
  return out;
}

describe('sampler service', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'alignda-sampler-'));
  const modelDir = path.join(root, 'memory-ci');
  const logLines: Record<string, unknown>[] = [];
  let source: DaSource;
  let models: LatentModels;
  let app: SamplerApp;
  /** SHA-256 of the set's autoencoder, to which training pinned the score model. */
  let autoencoder = '';
  let service: GrpcService;
  let client: SamplerServiceClient;
  let zb: Float32Array;

  beforeAll(async () => {
    source = memoryDataset(states(), { train: [0, 40], alignment: [40, 56], test: [56, COUNT] });
    mkdirSync(modelDir);
    const store = fileModelStore(modelDir);
    await trainLatentModels(source, store, { preset: 'ci', steps: 3, seed: 1 });
    models = await store.loadAll();
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n'))
          if (l) logLines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    autoencoder = await store.autoencoderSha256();
    app = await buildApp({
      models,
      source,
      modelVersion: 'memory-ci',
      autoencoderSha256: autoencoder,
      pinnedAutoencoderSha256: (await store.readManifest())?.autoencoderSha256,
      log: createLogger({ service: 'sampler', destination }),
      executionProvider: 'cpu',
    });
    expect(app.executionProvider).toBe('cpu');
    service = await app.listen({ port: 0 });
    client = createGrpcClient(SamplerServiceClient, service.address);
    const one = await createLatentSessions(models, 1, { leadSteps: LEAD_STEPS });
    zb = await encodeState(
      one,
      normalise({ data: source.state(58).data, shape: [C, H, W] }, models.vae.norm).data,
    );
  }, 60_000);

  afterAll(async () => {
    client.close();
    await service.drain({ graceMs: 1000 });
    rmSync(root, { recursive: true, force: true });
  });

  const zShape = (): readonly number[] => models.score.config.latentShape;
  const request = (over: Partial<SampleRequest>): SampleRequest => ({
    backgroundLatent: tensorFromFloat32(zb, zShape()),
    observations: undefined,
    grid: undefined,
    guidance: GuidanceMode.OBSFREE,
    steps: STEPS,
    members: MEMBERS,
    seed: 7,
    modelVersion: '',
    autoencoderSha256: '',
    ...over,
  });
  /** Gridded observations of state 60 (K): four cells, one more flagged by QC (and NaN) that must be left out. */
  const cells = { row: [4, 10, 20, 26, 15], col: [3, 40, 22, 60, 15] };
  const obsBatch = (): ObsBatch => ({
    validTime: new Date(Date.UTC(2013, 0, 16)),
    channels: ['t'],
    channelIndex: [0, 0, 0, 0, 0],
    locations: { $case: 'gridPoints', value: cells },
    values: [
      ...cells.row
        .slice(0, 4)
        .map((r, k) => source.state(60).data[r * W + (cells.col[k] as number)] as number),
      NaN,
    ],
    errorStd: [0.5, 0.5, 0.5, 0.5, 0.5],
    qcFlags: [0, 0, 0, 0, QcFlag.GROSS_ERROR],
    ids: [],
  });

  it('reports SERVING for the server and SamplerService once the sessions are loaded', async () => {
    expect(await checkHealth(service.address)).toBe('SERVING');
    expect(await checkHealth(service.address, 'alignda.v1.SamplerService')).toBe('SERVING');
  });

  it('samples ObsFree and DPS members bit for bit as assimilate does in process with the same seed', async () => {
    const ens = await createLatentSessions(models, MEMBERS, { leadSteps: LEAD_STEPS });
    const prior = latentPrior(ens, zb, zShape());
    const settings = { prior, members: MEMBERS, seed: 7, steps: STEPS, corrections: 1 };

    const free = await collect(client, request({}));
    expect(free.map((m) => m.event?.$case)).toEqual([...Array<string>(STEPS).fill('progress'), 'result']);
    expect(
      free.slice(0, STEPS).map((m) => (m.event?.$case === 'progress' ? m.event.value : undefined)),
    ).toEqual(
      [1, 2, 3, 4].map((k) => ({ fraction: k / STEPS, stage: 'sample', message: `step ${k}/${STEPS}` })),
    );
    const freeResult = free.at(-1)?.event;
    if (freeResult?.$case !== 'result') throw new Error('no result');
    expect(freeResult.value).toMatchObject({
      modelVersion: 'memory-ci',
      steps: STEPS,
      corrections: 1,
      executionProvider: 'cpu',
      sampler: `${hostname()}:${process.pid}`,
    });
    const freeLatents = float32FromTensor(freeResult.value.analysisLatents, 'analysis_latents');
    expect(freeLatents.shape).toEqual([MEMBERS, ...zShape()]);
    expect(freeLatents.data).toEqual((await assimilate({ method: 'obsfree', ...settings })).latents);

    // The same observations in process: (y - climatology) / std_c at the four QC-passed cells.
    const norm = models.vae.norm;
    const batch = obsBatch();
    const y = batch.values.slice(0, 4);
    const at = cells.row.slice(0, 4).map((r, k) => r * W + (cells.col[k] as number));
    const mean = (g: number): number =>
      norm.meanField === undefined ? (norm.mean[0] as number) : (norm.meanField[g] as number);
    const obs = griddedObservations({
      stateShape: [C, H, W],
      channel: [0, 0, 0, 0],
      row: cells.row.slice(0, 4),
      col: cells.col.slice(0, 4),
      value: Float64Array.from(y, (v, k) => (v - mean(at[k] as number)) / (norm.std[0] as number)),
      std: Float64Array.from([0.5, 0.5, 0.5, 0.5], (s) => s / (norm.std[0] as number)),
    });
    const dps = await collect(
      client,
      request({
        guidance: GuidanceMode.DPS,
        observations: batch,
        grid: gridToProto(source.grid),
        guidanceStrength: 0.5,
      }),
    );
    const dpsResult = dps.at(-1)?.event;
    if (dpsResult?.$case !== 'result') throw new Error('no result');
    const dpsLatents = float32FromTensor(dpsResult.value.analysisLatents, 'analysis_latents').data;
    const expected = (await assimilate({ method: 'dps', obs, param: 0.5, ...settings })).latents;
    expect(dpsLatents).toEqual(expected);
    expect(dpsLatents).not.toEqual(freeLatents.data);
  });

  it('answers malformed latents, settings and observations with INVALID_ARGUMENT', async () => {
    const fails = (over: Partial<SampleRequest>): Promise<unknown> => collect(client, request(over));
    const code = { code: GrpcStatus.INVALID_ARGUMENT };
    await expect(
      fails({ backgroundLatent: tensorFromFloat32(new Float32Array(6), [1, 2, 3]) }),
    ).rejects.toMatchObject(code);
    await expect(
      fails({ backgroundLatent: { ...tensorFromFloat32(zb, zShape()), data: new Uint8Array(3) } }),
    ).rejects.toMatchObject(code);
    await expect(fails({ members: 0 })).rejects.toMatchObject(code);
    await expect(fails({ guidance: GuidanceMode.UNSPECIFIED })).rejects.toMatchObject(code);
    const grid = gridToProto(source.grid);
    await expect(fails({ guidance: GuidanceMode.DPS, grid })).rejects.toMatchObject({
      ...code,
      details: 'observations: is required',
    });
    const outside = { ...obsBatch(), channelIndex: [0, 0, 3, 0, 0] };
    await expect(fails({ guidance: GuidanceMode.DPS, grid, observations: outside })).rejects.toMatchObject(
      code,
    );
    const points: ObsBatch = {
      ...obsBatch(),
      locations: { $case: 'points', value: { latDeg: [40, 41, 42, 43, 44], lonDeg: [10, 20, 30, 40, 50] } },
    };
    await expect(fails({ guidance: GuidanceMode.REPAINT, grid, observations: points })).rejects.toMatchObject(
      {
        ...code,
        details: 'Repaint needs gridded observations: use cells, or method dps',
      },
    );
    await expect(fails({ modelVersion: 'other' })).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
    await expect(fails({ correctorTau: 0.5 })).rejects.toMatchObject(code);
    // Found by `npm run fuzz`: a NaN in the background latent ended the call INTERNAL.
    const nan = Float32Array.from(zb);
    nan[3] = Number.NaN;
    await expect(fails({ backgroundLatent: tensorFromFloat32(nan, zShape()) })).rejects.toMatchObject({
      ...code,
      details:
        'background_latent.data: 1 values are NaN or infinite (the first is element 3): send finite values',
    });
  });

  it('refuses latents of another autoencoder than the one the score model is pinned to, and a pin that does not hold', async () => {
    expect(autoencoder).toMatch(/^[0-9a-f]{64}$/);
    const other = 'f'.repeat(64);
    await expect(collect(client, request({ autoencoderSha256: other }))).rejects.toMatchObject({
      code: GrpcStatus.FAILED_PRECONDITION,
      details: expect.stringMatching(
        /^background_latent was encoded by autoencoder ffffffffffff; score model/,
      ) as unknown,
    });
    const pinned = await collect(client, request({ autoencoderSha256: autoencoder }));
    expect(pinned.at(-1)?.event?.$case).toBe('result');
    // A model set whose autoencoder is not the score model's: the service does not start.
    await expect(
      buildApp({
        models,
        source,
        modelVersion: 'memory-ci',
        autoencoderSha256: other,
        pinnedAutoencoderSha256: autoencoder,
        log: createLogger({ service: 'sampler', level: 'silent' }),
        executionProvider: 'cpu',
      }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('retrain the score model') as unknown,
    });
  });

  it('stops sampling at the next step when the client cancels', async () => {
    const call = client.sample(request({ steps: 400, members: 1 }));
    const messages = streamMessages(call);
    expect((await messages.next()).value).toMatchObject({ event: { $case: 'progress' } });
    call.cancel();
    await expect(messages.next()).rejects.toMatchObject({ code: GrpcStatus.CANCELLED });
    await expect.poll(() => logLines.find((l) => l.code === 'CANCELLED'), { timeout: 10_000 }).toBeDefined();
    const line = logLines.find((l) => l.code === 'CANCELLED');
    const done = Number(/after (\d+) of 400 steps/.exec(String(line?.details))?.[1]);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(400);
  });

  describe.skipIf(redisProblem !== null)(
    `on the sample queue${redisProblem === null ? '' : ` (SKIPPED: no Redis at ${REDIS_URL}: ${redisProblem})`}`,
    () => {
      const prefix = `test-${randomUUID()}`;
      const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: true });
      const eventsConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: true });
      let queue: Queue;
      let events: QueueEvents;
      const replicas: ReturnType<SamplerApp['sampleWorker']>[] = [];

      beforeAll(async () => {
        queue = new Queue(QueueName.sample, { connection, prefix });
        events = new QueueEvents(QueueName.sample, { connection: eventsConnection, prefix });
        await events.waitUntilReady();
        for (const name of ['replica-1', 'replica-2']) {
          const replica = app.sampleWorker({
            connection,
            prefix,
            name,
            logger: createLogger({ service: 'sampler', level: 'silent' }),
          });
          await replica.run();
          replicas.push(replica);
        }
      });

      afterAll(async () => {
        await Promise.all(replicas.map((r) => r.close(1000)));
        await events.close();
        await queue.obliterate({ force: true });
        await queue.close();
        connection.disconnect();
        eventsConnection.disconnect();
      });

      const add = (jobId: string, over: Partial<SampleRequest>) =>
        queue.add('sample', sampleJobData(jobId, `corr-${jobId}`, request(over)), {
          jobId: sampleJobId(jobId),
        });

      it('two replicas share the jobs of one queue, each sampled bit for bit as the gRPC call, with progress', async () => {
        const progress = new Map<string, number[]>();
        events.on('progress', ({ jobId, data }) => {
          const f = (data as { fraction?: unknown }).fraction;
          if (typeof f === 'number') progress.set(jobId, [...(progress.get(jobId) ?? []), f]);
        });
        const seeds = [11, 12, 13, 14];
        const jobs = await Promise.all(seeds.map((seed) => add(`two-${seed}`, { seed, steps: 6 })));
        const values = await Promise.all(jobs.map((j) => j.waitUntilFinished(events, 60_000)));
        for (const [k, seed] of seeds.entries()) {
          const { result, sampler } = parseSampleJobReturn(values[k]);
          expect(['replica-1', 'replica-2']).toContain(sampler);
          // The result names the replica and the provider it ran on (what an Analysis row's provenance records).
          expect(result).toMatchObject({ sampler, executionProvider: 'cpu' });
          const direct = (await collect(client, request({ seed, steps: 6 }))).at(-1)?.event;
          if (direct?.$case !== 'result') throw new Error('no result');
          expect(float32FromTensor(result.analysisLatents, 'analysis_latents').data).toEqual(
            float32FromTensor(direct.value.analysisLatents, 'analysis_latents').data,
          );
        }
        const done = await Promise.all(jobs.map((j) => queue.getJob(j.id ?? '')));
        // Both replicas took jobs: four jobs of several steps each, added at once to two idle replicas.
        expect(new Set(done.map((j) => j?.processedBy))).toEqual(new Set(['replica-1', 'replica-2']));
        // Progress reached the queue's events, ending at 1 (the last step is always written).
        for (const j of jobs) expect(progress.get(j.id ?? '')?.at(-1)).toBe(1);
      }, 60_000);

      it('fails a malformed job or one of another version with its reason, and goes on with the next', async () => {
        const bad = await queue.add(
          'sample',
          { ...sampleJobData('bad', 'c', request({})), request: 'not base64!' },
          { jobId: sampleJobId('bad') },
        );
        await expect(bad.waitUntilFinished(events, 30_000)).rejects.toThrow(
          'INVALID_ARGUMENT: the sample job request is not a base64 string',
        );
        const old = await queue.add(
          'sample',
          { ...sampleJobData('old', 'c', request({})), version: 0 },
          {
            jobId: sampleJobId('old'),
          },
        );
        await expect(old.waitUntilFinished(events, 30_000)).rejects.toThrow(
          /^FAILED_PRECONDITION: .*version 0/,
        );
        const members = await add('members', { members: 0 });
        await expect(members.waitUntilFinished(events, 30_000)).rejects.toThrow(/^INVALID_ARGUMENT: /);
        const good = await add('good', {});
        expect(parseSampleJobReturn(await good.waitUntilFinished(events, 30_000)).result.steps).toBe(STEPS);
      }, 60_000);

      it('stops a running sample job at its next step when its job is cancelled', async () => {
        const job = await add('cancel-me', { steps: 400, members: 1 });
        await expect
          .poll(async () => (await queue.getJob(job.id ?? ''))?.progress, { timeout: 20_000 })
          .toMatchObject({ stage: 'sample' });
        expect(replicas.map((r) => r.cancel('cancel-me')).filter(Boolean)).toHaveLength(1);
        await expect(job.waitUntilFinished(events, 30_000)).rejects.toThrow(
          /^CANCELLED: sampling cancelled after \d+ of 400 steps/,
        );
      }, 60_000);
    },
  );

  const ncep = path.resolve(REPO, '../shared/data/ncep-air');
  it.skipIf(!existsSync(ncep))(
    'runs main.ts as a process that logs its execution provider, serves, then drains on SIGTERM and exits 0',
    async () => {
      const proc = await spawnServiceMain(
        'services/sampler/src/main.ts',
        ['--model-dir', modelDir, '--dataset', 'ncep-air', '--port', '0'],
        {
          cwd: REPO,
          env: {
            ALIGNDA_HOME: root,
            ALIGNDA_EXECUTION_PROVIDER: 'auto',
            LOG_LEVEL: 'info',
            // gRPC only: the queue worker is tested in process above (and end to end in tests/e2e).
            ALIGNDA_SAMPLER_QUEUE: 'off',
          },
        },
      );
      expect(await checkHealth(proc.address)).toBe('SERVING');
      expect(proc.output()).toMatch(/"executionProvider":"(cpu|cuda)","requested":"auto"/);
      proc.child.kill('SIGTERM');
      const late = new Promise((resolve) =>
        setTimeout(() => resolve('still running after 10 s'), 10_000).unref(),
      );
      expect(await Promise.race([proc.exited, late])).toBe(0);
    },
    60_000,
  );
});

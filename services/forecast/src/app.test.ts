/**
 * The forecast service on 127.0.0.1:0 with ci models trained a few steps on a one-variable in-memory dataset: health,
 * a 48 h Rollout bit for bit as forecastState in process, emitted states chained segment by segment, malformed
 * requests, and main.ts as a child process that drains on SIGTERM.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { GrpcStatus } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import { createLatentSessions, fileModelStore } from '@alignda/nn';
import type { LatentModels } from '@alignda/nn';
import { LEAD_STEPS, forecastState, trainLatentModels } from '@alignda/pipelines';
import {
  ForecastServiceClient,
  checkHealth,
  createGrpcClient,
  fieldFromProto,
  fieldToProto,
  streamMessages,
} from '@alignda/rpc';
import type { GrpcService, RolloutRequest, RolloutResponse, RolloutState } from '@alignda/rpc';
import { createRng, denormalise, latLonGrid, normalise } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { memoryDataset } from '../../../packages/pipelines/src/internal/testing.js';
import { spawnServiceMain } from '../../../packages/rpc/src/internal/testing.js';
import { buildApp } from './app.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const [C, H, W] = [1, 32, 64];
const COUNT = 80;
const START = 50;

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

/** Every message of a Rollout call. */
async function collect(client: ForecastServiceClient, request: RolloutRequest): Promise<RolloutResponse[]> {
  const out: RolloutResponse[] = [];
  for await (const m of streamMessages(client.rollout(request))) out.push(m);
  return out;
}

function statesOf(messages: readonly RolloutResponse[]): RolloutState[] {
  return messages.flatMap((m) => (m.event?.$case === 'state' ? [m.event.value] : []));
}

describe('forecast service', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'alignda-forecast-'));
  const modelDir = path.join(root, 'memory-ci');
  let source: DaSource;
  let models: LatentModels;
  let service: GrpcService;
  let client: ForecastServiceClient;

  beforeAll(async () => {
    source = memoryDataset(states(), { train: [0, 40], alignment: [40, 56], test: [56, COUNT] });
    mkdirSync(modelDir);
    const store = fileModelStore(modelDir);
    await trainLatentModels(source, store, { preset: 'ci', steps: 3, seed: 1 });
    models = await store.loadAll();
    const app = await buildApp({
      models,
      layout: source,
      modelVersion: 'memory-ci',
      log: createLogger({ service: 'forecast', level: 'silent' }),
      executionProvider: 'cpu',
    });
    service = await app.listen({ port: 0 });
    client = createGrpcClient(ForecastServiceClient, service.address);
  }, 60_000);

  afterAll(async () => {
    client.close();
    await service.drain({ graceMs: 1000 });
    rmSync(root, { recursive: true, force: true });
  });

  const validTime = (i: number): Date => new Date(Date.UTC(2013, 0, 1, 6 * i));
  const request = (over: Partial<RolloutRequest>): RolloutRequest => ({
    initial: fieldToProto(source.field(START), validTime(START)),
    steps: LEAD_STEPS,
    emitEvery: 0,
    modelVersion: '',
    ...over,
  });
  const norm = (): LatentModels['vae']['norm'] => models.vae.norm;
  const normState = (i: number): Float32Array =>
    normalise({ data: source.state(i).data, shape: [C, H, W] }, norm()).data;

  it('reports SERVING for the server and ForecastService once the emulator is loaded', async () => {
    expect(await checkHealth(service.address)).toBe('SERVING');
    expect(await checkHealth(service.address, 'alignda.v1.ForecastService')).toBe('SERVING');
  });

  it('rolls 48 h forward bit for bit as forecastState does in process', async () => {
    const messages = await collect(client, request({}));
    expect(messages.map((m) => m.event?.$case)).toEqual(['progress', 'state']);
    const [state] = statesOf(messages);
    expect(state).toMatchObject({ step: LEAD_STEPS, leadHours: 48, modelVersion: 'memory-ci' });
    const { field, validTime: at } = fieldFromProto(state?.field);
    expect(at).toEqual(validTime(START + LEAD_STEPS));
    const one = await createLatentSessions(models, 1, { leadSteps: LEAD_STEPS });
    const x = await forecastState(one, normState(START), source.hourOf?.(START));
    expect(field.data).toEqual(denormalise({ data: x, shape: [C, H, W] }, norm()).data);
  });

  it('emits every emit_every steps, each segment one forecastState call from the last, with its valid time', async () => {
    const messages = await collect(client, request({ steps: 4, emitEvery: 2 }));
    expect(messages.map((m) => m.event?.$case)).toEqual(['progress', 'state', 'progress', 'state']);
    const emitted = statesOf(messages);
    expect(emitted.map((s) => [s.step, s.leadHours])).toEqual([
      [2, 12],
      [4, 24],
    ]);
    const two = await createLatentSessions(models, 1, { leadSteps: 2 });
    const x2 = await forecastState(two, normState(START), source.hourOf?.(START));
    const x4 = await forecastState(two, x2, source.hourOf?.(START + 2));
    for (const [k, x] of [x2, x4].entries()) {
      const { field, validTime: at } = fieldFromProto(emitted[k]?.field);
      expect(field.data).toEqual(denormalise({ data: x, shape: [C, H, W] }, norm()).data);
      expect(at).toEqual(validTime(START + 2 * (k + 1)));
    }
  });

  it('answers malformed and foreign initial states and bad step counts with INVALID_ARGUMENT', async () => {
    const code = { code: GrpcStatus.INVALID_ARGUMENT };
    await expect(collect(client, request({ initial: undefined }))).rejects.toMatchObject({
      ...code,
      details: 'initial: is required',
    });
    const good = fieldToProto(source.field(START));
    const broken = { ...good, tensor: good.tensor && { ...good.tensor, shape: [1, 32, 65] } };
    await expect(collect(client, request({ initial: broken }))).rejects.toMatchObject(code);
    const lat = Array.from({ length: H }, (_, i) => -77.5 + 5 * i);
    const lon = Array.from({ length: W }, (_, j) => 5.625 * j);
    const foreign = { ...source.field(START), grid: latLonGrid(lat, lon) };
    await expect(collect(client, request({ initial: fieldToProto(foreign) }))).rejects.toMatchObject({
      ...code,
      details: expect.stringContaining('initial.grid.kind: is latlon, expected beta-plane') as string,
    });
    await expect(collect(client, request({ steps: 0 }))).rejects.toMatchObject(code);
    await expect(collect(client, request({ steps: 2, emitEvery: 3 }))).rejects.toMatchObject(code);
    await expect(collect(client, request({ modelVersion: 'other' }))).rejects.toMatchObject({
      code: GrpcStatus.NOT_FOUND,
    });
  });

  const ncep = path.resolve(REPO, '../shared/data/ncep-air');
  it.skipIf(!existsSync(ncep))(
    'runs main.ts as a process that serves, then drains on SIGTERM and exits 0',
    async () => {
      const proc = await spawnServiceMain(
        'services/forecast/src/main.ts',
        ['--model-dir', modelDir, '--dataset', 'ncep-air', '--port', '0'],
        { cwd: REPO, env: { ALIGNDA_HOME: root, ALIGNDA_EXECUTION_PROVIDER: 'cpu', LOG_LEVEL: 'info' } },
      );
      expect(await checkHealth(proc.address)).toBe('SERVING');
      proc.child.kill('SIGTERM');
      const late = new Promise((resolve) =>
        setTimeout(() => resolve('still running after 10 s'), 10_000).unref(),
      );
      expect(await Promise.race([proc.exited, late])).toBe(0);
      expect(proc.output()).toContain('"msg":"stopped"');
    },
    60_000,
  );
});

/**
 * The reward service on 127.0.0.1:0 for a small beta-plane dataset with a geostrophic level (z, u, v): health, Score's
 * R_assim, Geo-Score and skill against packages/da's and packages/tensor's functions called in process, O-A and O-B,
 * R_forecast through a forecast port (correlation id passed on) and without one, malformed requests, and main.ts as
 * a child process that drains on SIGTERM.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  bradleyTerryWinRates,
  deviationScale,
  geoDeviations,
  geoReward,
  siblingErrors,
  winRateScales,
} from '@alignda/da';
import { GrpcStatus } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import { balanceSpec } from '@alignda/pipelines';
import type { ForecastPort } from '@alignda/pipelines';
import {
  RewardKind,
  RewardServiceClient,
  checkHealth,
  correlationMetadata,
  createGrpcClient,
  fieldToProto,
  streamMessages,
} from '@alignda/rpc';
import type { GrpcService, ScoreRequest, ScoreResponse, ScoreResult } from '@alignda/rpc';
import { betaPlaneGrid, createRng, latWeightedRmse } from '@alignda/tensor';
import type { Field } from '@alignda/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { spawnServiceMain } from '../../../packages/rpc/src/internal/testing.js';
import { buildApp } from './app.js';
import type { RewardDataset } from './handlers.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const [C, H, W] = [3, 16, 32];
const N = 4;
const grid = betaPlaneGrid({ H, W, dxM: 200e3, dyM: 200e3, latCentreDeg: 45 });
const F0 = grid.f0PerS;
const STD = [800, 8, 8];
const dataset: RewardDataset = {
  name: 'zuv',
  channels: ['z', 'u', 'v'],
  units: ['m2 s-2', 'm s-1', 'm s-1'],
  grid,
  std: STD,
  balance: balanceSpec(
    { channels: ['z', 'u', 'v'], dynamics: { coriolis: { kind: 'f0', f0PerS: F0 } } },
    STD,
  ),
};

/** A geostrophic state (u = -z_y / f0, v = z_x / f0) plus noise: `noise` m/s in the winds, 20 `noise` m2/s2 in z. */
function state(noise: number, seed: number): Field {
  const rng = createRng(seed);
  const [kx, ly] = [(2 * Math.PI * 2) / (W * 200e3), Math.PI / (H * 200e3)];
  const data = new Float32Array(C * H * W);
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++) {
      const [x, y] = [j * 200e3, i * 200e3];
      const g = i * W + j;
      data[g] = 5e4 + 900 * Math.sin(kx * x) * Math.sin(ly * y) + 20 * noise * rng.normal();
      data[H * W + g] = (-900 * ly * Math.sin(kx * x) * Math.cos(ly * y)) / F0 + noise * rng.normal();
      data[2 * H * W + g] = (900 * kx * Math.cos(kx * x) * Math.sin(ly * y)) / F0 + noise * rng.normal();
    }
  return { data, shape: [C, H, W], channels: dataset.channels, units: dataset.units, grid };
}

async function collect(
  client: RewardServiceClient,
  request: ScoreRequest,
  metadata = correlationMetadata('t-1'),
) {
  const out: ScoreResponse[] = [];
  for await (const m of streamMessages(client.score(request, metadata))) out.push(m);
  return out;
}

function resultOf(messages: readonly ScoreResponse[]): ScoreResult {
  const last = messages.at(-1)?.event;
  if (last?.$case !== 'result') throw new Error('no result');
  return last.value;
}

describe('reward service', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'alignda-reward-'));
  const truth = state(0, 1);
  const samples = [0.5, 1, 2, 4].map((noise, n) => state(noise, 10 + n));
  const forecastCalls: string[] = [];
  /** Persistence plus 1 everywhere: forecast errors then equal the samples' errors. */
  const persistence: ForecastPort = (initial, _at, _steps, call) => {
    forecastCalls.push(call.correlationId);
    return Promise.resolve(Float32Array.from(initial.data, (v) => v + 1));
  };
  let service: GrpcService;
  let withForecast: GrpcService;
  let client: RewardServiceClient;
  let forecastClient: RewardServiceClient;

  beforeAll(async () => {
    const log = createLogger({ service: 'reward', level: 'silent' });
    service = await buildApp({ dataset, log }).listen({ port: 0 });
    withForecast = await buildApp({ dataset, log, forecast: persistence }).listen({ port: 0 });
    client = createGrpcClient(RewardServiceClient, service.address);
    forecastClient = createGrpcClient(RewardServiceClient, withForecast.address);
  });

  afterAll(async () => {
    client.close();
    forecastClient.close();
    await service.drain({ graceMs: 1000 });
    await withForecast.drain({ graceMs: 1000 });
    rmSync(root, { recursive: true, force: true });
  });

  const request = (over: Partial<ScoreRequest>): ScoreRequest => ({
    datasetId: 'zuv',
    samples: samples.map((s) => fieldToProto(s)),
    truth: fieldToProto(truth),
    background: undefined,
    observations: undefined,
    rewards: [RewardKind.ASSIM, RewardKind.GEO],
    ...over,
  });
  const stacked = (): Float32Array => {
    const out = new Float32Array(N * C * H * W);
    samples.forEach((s, n) => out.set(s.data, n * C * H * W));
    return out;
  };
  const scaled = (data: Float32Array): Float32Array =>
    Float32Array.from(data, (v, k) => v / (STD[Math.floor(k / (H * W)) % C] as number));

  it('reports SERVING for the server and RewardService', async () => {
    expect(await checkHealth(service.address)).toBe('SERVING');
    expect(await checkHealth(service.address, 'alignda.v1.RewardService')).toBe('SERVING');
  });

  it('scores R_assim, the Geo-Score and skill as packages/da and tensor compute them in process', async () => {
    const messages = await collect(client, request({}));
    expect(messages.map((m) => m.event?.$case)).toEqual(['progress', 'result']);
    const result = resultOf(messages);
    const errors = siblingErrors(
      { data: scaled(stacked()), shape: [N, C, H, W] },
      { data: scaled(truth.data), shape: [C, H, W] },
      grid.latDeg,
    );
    const rAssim = bradleyTerryWinRates(errors, winRateScales([errors]));
    expect(result.samples.map((s) => s.rAssim)).toEqual(Array.from(rAssim));
    // The noisier the winds, the lower the win rate.
    expect([...rAssim].every((r, n) => n === 0 || r < (rAssim[n - 1] as number))).toBe(true);
    const spec = dataset.balance;
    if (spec === undefined) throw new Error('no balance');
    const d = geoDeviations({ data: stacked(), shape: [N, C, H, W] }, grid, spec);
    const dTruth = geoDeviations({ data: truth.data, shape: [1, C, H, W] }, grid, spec).data;
    const geo = geoReward(
      { data: stacked(), shape: [N, C, H, W] },
      truth,
      grid,
      spec,
      deviationScale([{ deviations: d, truth: dTruth }]),
    );
    expect(result.samples.map((s) => s.geoScore)).toEqual(Array.from(geo));
    expect(result.samples.map((s) => s.geostrophicDeviation)).toEqual(Array.from(d.data));
    expect(result.truthGeostrophicDeviation).toBe(dTruth[0]);
    const w = latWeightedRmse(
      { data: scaled(samples[2]?.data ?? new Float32Array()), shape: [C, H, W] },
      { data: scaled(truth.data), shape: [C, H, W] },
      grid.latDeg,
    );
    expect(result.samples[2]?.wrmseNormalised).toEqual(Array.from(w.perChannel));
    expect(result.samples.every((s) => s.rForecast === undefined && s.rHydrostatic === undefined)).toBe(true);
  });

  it('gives O-A of every sample and O-B of the background against the observations, QC-flagged ones left out', async () => {
    const cells = { row: [2, 8, 12], col: [5, 17, 30] };
    const values = [50100, 3.5, -2];
    const result = resultOf(
      await collect(
        client,
        request({
          rewards: [],
          background: fieldToProto(samples[3] as Field),
          observations: {
            validTime: new Date(0),
            channels: ['v', 'z'],
            channelIndex: [1, 0, 0],
            locations: { $case: 'gridPoints', value: cells },
            values,
            errorStd: [50, 1, 1],
            qcFlags: [0, 0, 32],
            ids: [],
          },
        }),
      ),
    );
    const at = (f: Field, c: number, k: number): number =>
      f.data[(c * H + (cells.row[k] as number)) * W + (cells.col[k] as number)] as number;
    const oa = (f: Field): number[] => [
      (values[0] as number) - at(f, 0, 0),
      (values[1] as number) - at(f, 2, 1),
      NaN,
    ];
    expect(result.samples[1]?.oMinusA?.departures).toEqual(oa(samples[1] as Field));
    expect(result.oMinusB?.departures).toEqual(oa(samples[3] as Field));
    expect(result.oMinusB?.channels.map((c) => [c.channel, c.count])).toEqual([
      ['z', 1],
      ['v', 1],
    ]);
  });

  it('computes R_forecast through the forecast port, passing the correlation id on, and refuses it without one', async () => {
    forecastCalls.length = 0;
    const result = resultOf(
      await collect(
        forecastClient,
        request({ rewards: [RewardKind.ASSIM, RewardKind.FORECAST] }),
        correlationMetadata('job-9'),
      ),
    );
    expect(forecastCalls).toEqual(Array<string>(N + 1).fill('job-9'));
    result.samples.forEach((s) => expect(s.rForecast).toBeCloseTo(s.rAssim ?? NaN, 5));
    await expect(collect(client, request({ rewards: [RewardKind.FORECAST] }))).rejects.toMatchObject({
      code: GrpcStatus.FAILED_PRECONDITION,
    });
  });

  it('answers requests it cannot score with INVALID_ARGUMENT and an unknown dataset with NOT_FOUND', async () => {
    const code = { code: GrpcStatus.INVALID_ARGUMENT };
    await expect(collect(client, request({ truth: undefined }))).rejects.toMatchObject(code);
    await expect(
      collect(client, request({ samples: [fieldToProto(truth)], rewards: [RewardKind.ASSIM] })),
    ).rejects.toMatchObject(code);
    await expect(collect(client, request({ rewards: [RewardKind.HYDROSTATIC] }))).rejects.toMatchObject(code);
    await expect(
      collect(client, request({ rewards: [RewardKind.ASSIM, RewardKind.ASSIM] })),
    ).rejects.toMatchObject(code);
    await expect(collect(client, request({ samples: [] }))).rejects.toMatchObject(code);
    const broken = fieldToProto(truth);
    const short = { ...broken, tensor: broken.tensor && { ...broken.tensor, data: new Uint8Array(4) } };
    await expect(collect(client, request({ truth: short }))).rejects.toMatchObject(code);
    const other = fieldToProto({ ...truth, channels: ['z', 'v', 'u'] });
    await expect(collect(client, request({ truth: other }))).rejects.toMatchObject(code);
    await expect(collect(client, request({ datasetId: 'ncep-air' }))).rejects.toMatchObject({
      code: GrpcStatus.NOT_FOUND,
    });
  });

  const ncep = path.resolve(REPO, '../shared/data/ncep-air');
  it.skipIf(!existsSync(ncep))(
    'runs main.ts as a process that serves, then drains on SIGTERM and exits 0',
    async () => {
      const proc = await spawnServiceMain(
        'services/reward/src/main.ts',
        ['--dataset', 'ncep-air', '--port', '0'],
        {
          cwd: REPO,
          env: { ALIGNDA_HOME: root, LOG_LEVEL: 'info' },
        },
      );
      expect(await checkHealth(proc.address)).toBe('SERVING');
      proc.child.kill('SIGTERM');
      const late = new Promise((resolve) =>
        setTimeout(() => resolve('still running after 10 s'), 10_000).unref(),
      );
      expect(await Promise.race([proc.exited, late])).toBe(0);
    },
    60_000,
  );
});

/**
 * The ingest service on 127.0.0.1:0 for a one-variable in-memory dataset with a padded band: health, Submit's
 * quality control (missing, bad error, off the grid or the valid area, implausible, duplicate) of a batch and of a
 * CSV file, idempotency, Check's O-B departures against the background computed in process (selection and bilinear
 * H), the gross-error test and per-channel statistics, malformed requests, and main.ts as a child process that
 * drains on SIGTERM.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { GrpcStatus } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import {
  IngestServiceClient,
  ObsFormat,
  QcFlag,
  checkHealth,
  createGrpcClient,
  fieldToProto,
  unaryCall,
} from '@alignda/rpc';
import type { CheckRequest, GrpcService, ObsBatch, SubmitRequest } from '@alignda/rpc';
import { latLonGrid } from '@alignda/tensor';
import { bilinearOperator } from '@alignda/world';
import type { DaSource } from '@alignda/world';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { memoryDataset } from '../../../packages/pipelines/src/internal/testing.js';
import { spawnServiceMain } from '../../../packages/rpc/src/internal/testing.js';
import { buildApp } from './app.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const [H, W] = [32, 64];
const VALID_TIME = new Date(Date.UTC(2013, 0, 16));

/** 12 states of a smooth temperature field (K), rows 0-2 and 28-31 padding, as ncep-air has. */
function source(): DaSource {
  const states = Array.from({ length: 12 }, (_, t) =>
    Float32Array.from({ length: H * W }, (_, g) => 280 - 0.5 * Math.floor(g / W) + Math.sin((g % W) / 5 + t)),
  );
  const validMask = Uint8Array.from({ length: H * W }, (_, g) =>
    Math.floor(g / W) >= 3 && Math.floor(g / W) < H - 4 ? 1 : 0,
  );
  return memoryDataset(states, { train: [0, 6], test: [6, 12] }, { validMask });
}

describe('ingest service', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'alignda-ingest-'));
  let src: DaSource;
  let service: GrpcService;
  let client: IngestServiceClient;

  beforeAll(async () => {
    src = source();
    service = await buildApp({
      dataset: src,
      log: createLogger({ service: 'ingest', level: 'silent' }),
    }).listen({
      port: 0,
    });
    client = createGrpcClient(IngestServiceClient, service.address);
  });

  afterAll(async () => {
    client.close();
    await service.drain({ graceMs: 1000 });
    rmSync(root, { recursive: true, force: true });
  });

  const submit = (request: Partial<SubmitRequest>) =>
    unaryCall(client.submit.bind(client), {
      datasetId: 'memory',
      source: undefined,
      idempotencyKey: '',
      ...request,
    });
  const check = (request: Partial<CheckRequest>) =>
    unaryCall(client.check.bind(client), {
      observations: undefined,
      background: fieldToProto(src.field(4), VALID_TIME),
      backgroundErrorStd: [],
      ...request,
    });
  const truth = (r: number, c: number): number => src.state(5).data[r * W + c] as number;
  /** Nine cells: 0-2 good, 3 missing, 4 bad error std, 5 duplicate of 0, 6 in the padding, 7 implausible, 8 off the grid. */
  const cells = { row: [5, 10, 20, 12, 14, 5, 1, 16, 40], col: [3, 40, 22, 7, 9, 3, 30, 16, 2] };
  const gridBatch = (): ObsBatch => ({
    validTime: VALID_TIME,
    channels: ['t'],
    channelIndex: Array<number>(9).fill(0),
    locations: { $case: 'gridPoints', value: cells },
    values: [truth(5, 3), truth(10, 40) + 20, truth(20, 22), NaN, 280, 281, 280, 500, 280],
    errorStd: [0.5, 0.5, 0.5, 0.5, 0, 0.5, 0.5, 0.5, 0.5],
    qcFlags: [],
    ids: [],
  });

  it('reports SERVING for the server and IngestService', async () => {
    expect(await checkHealth(service.address)).toBe('SERVING');
    expect(await checkHealth(service.address, 'alignda.v1.IngestService')).toBe('SERVING');
  });

  it('flags missing, bad-error, off-grid, padded, implausible and duplicate observations, and stores the batch once per key', async () => {
    const first = await submit({ source: { $case: 'batch', value: gridBatch() }, idempotencyKey: 'k1' });
    expect(first.batch?.qcFlags).toEqual([
      0,
      0,
      0,
      QcFlag.MISSING,
      QcFlag.BAD_ERROR,
      QcFlag.DUPLICATE,
      QcFlag.OUTSIDE_GRID,
      QcFlag.OUT_OF_RANGE,
      QcFlag.OUTSIDE_GRID,
    ]);
    expect(first.qc).toMatchObject({ total: 9, passed: 3 });
    expect(new Map(first.qc?.flagCounts.map((f) => [f.flag, f.count]))).toEqual(
      new Map([
        [QcFlag.MISSING, 1],
        [QcFlag.BAD_ERROR, 1],
        [QcFlag.DUPLICATE, 1],
        [QcFlag.OUTSIDE_GRID, 2],
        [QcFlag.OUT_OF_RANGE, 1],
      ]),
    );
    const again = await submit({
      source: { $case: 'batch', value: { ...gridBatch(), values: [] } },
      idempotencyKey: 'k1',
    });
    expect(again.batchId).toBe(first.batchId);
    const other = await submit({ source: { $case: 'batch', value: gridBatch() }, idempotencyKey: 'k2' });
    expect(other.batchId).not.toBe(first.batchId);
  });

  it('checks a stored batch against the background: O-B as computed in process, gross errors flagged, statistics of the rest', async () => {
    const { batchId } = await submit({ source: { $case: 'batch', value: gridBatch() } });
    const res = await check({ observations: { $case: 'batchId', value: batchId }, grossErrorThreshold: 5 });
    const xb = src.state(4).data;
    const values = gridBatch().values;
    const d = [0, 2].map(
      (k) => (values[k] as number) - (xb[(cells.row[k] as number) * W + (cells.col[k] as number)] as number),
    );
    // Observation 1 is 20 K off: beyond 5 x 0.5 K, a gross error; its departure is not used.
    expect(res.batch?.qcFlags.slice(0, 3)).toEqual([0, QcFlag.GROSS_ERROR, 0]);
    expect(res.oMinusB?.departures.slice(0, 3)).toEqual([d[0], NaN, d[1]]);
    expect(res.oMinusB?.departures.slice(3).every(Number.isNaN)).toBe(true);
    const [s] = res.oMinusB?.channels ?? [];
    const mean = ((d[0] as number) + (d[1] as number)) / 2;
    const rms = Math.sqrt(((d[0] as number) ** 2 + (d[1] as number) ** 2) / 2);
    expect(s).toMatchObject({ channelIndex: 0, channel: 't', count: 2 });
    expect(s?.mean).toBeCloseTo(mean, 12);
    expect(s?.rms).toBeCloseTo(rms, 12);
    expect(s?.normalisedRms).toBeCloseTo(rms / 0.5, 12);
    expect(res.qc).toMatchObject({ total: 9, passed: 2 });
    // A background error std of 10 K widens the test: observation 1 passes.
    const wide = await check({
      observations: { $case: 'batchId', value: batchId },
      backgroundErrorStd: [10],
    });
    expect(wide.batch?.qcFlags[1]).toBe(0);
  });

  it('parses a CSV file of points and checks it with the bilinear operator', async () => {
    const { operator } = bilinearOperator(src.grid, src.shape, {
      channelIndex: [0, 0],
      latDeg: [40.1, 47.3],
      lonDeg: [12.5, 300.2],
    });
    const hx = operator.apply(src.state(4).data);
    const y = [(hx[0] as number) + 0.3, (hx[1] as number) - 0.4];
    const csv = `channel,lat_deg,lon_deg,value,error_std,id\nt,40.1,12.5,${y[0]},0.8,A\nt,47.3,300.2,${y[1]},0.8,B\nt,89,10,280,0.8,C\n`;
    const submitted = await submit({
      source: {
        $case: 'raw',
        value: { format: ObsFormat.CSV, content: new TextEncoder().encode(csv), validTime: VALID_TIME },
      },
    });
    expect(submitted.batch?.ids).toEqual(['A', 'B', 'C']);
    expect(submitted.batch?.qcFlags).toEqual([0, 0, QcFlag.OUTSIDE_GRID]);
    const res = await check({ observations: { $case: 'batchId', value: submitted.batchId } });
    expect(res.oMinusB?.departures).toEqual([
      (y[0] as number) - (hx[0] as number),
      (y[1] as number) - (hx[1] as number),
      NaN,
    ]);
  });

  it('answers malformed batches, files and backgrounds with INVALID_ARGUMENT and unknown ids with NOT_FOUND', async () => {
    const code = { code: GrpcStatus.INVALID_ARGUMENT };
    await expect(
      submit({
        source: { $case: 'batch', value: { ...gridBatch(), channelIndex: [0, 0, 0, 0, 0, 0, 0, 0, 2] } },
      }),
    ).rejects.toMatchObject(code);
    await expect(
      submit({ source: { $case: 'batch', value: { ...gridBatch(), errorStd: [0.5] } } }),
    ).rejects.toMatchObject(code);
    await expect(
      submit({ source: { $case: 'batch', value: { ...gridBatch(), channels: ['u'] } } }),
    ).rejects.toMatchObject(code);
    await expect(submit({})).rejects.toMatchObject(code);
    const raw = (text: string) => ({
      $case: 'raw' as const,
      value: { format: ObsFormat.CSV, content: new TextEncoder().encode(text), validTime: VALID_TIME },
    });
    await expect(
      submit({ source: raw('channel,lat_deg,lon_deg,value,error_std\nt,40,x,280,1\n') }),
    ).rejects.toMatchObject({
      ...code,
      details: "raw.content line 2: lon_deg 'x' is not a number",
    });
    await expect(submit({ source: raw('channel,lat,lon\n') })).rejects.toMatchObject(code);
    await expect(
      submit({ datasetId: 'ncep-air', source: { $case: 'batch', value: gridBatch() } }),
    ).rejects.toMatchObject({
      code: GrpcStatus.NOT_FOUND,
    });
    await expect(check({ observations: { $case: 'batchId', value: 'nope' } })).rejects.toMatchObject({
      code: GrpcStatus.NOT_FOUND,
    });
    const lat = Array.from({ length: H }, (_, i) => -77.5 + 5 * i);
    const lon = Array.from({ length: W }, (_, j) => 5.625 * j);
    const foreign = fieldToProto({ ...src.field(4), grid: latLonGrid(lat, lon) });
    await expect(
      check({ observations: { $case: 'batch', value: gridBatch() }, background: foreign }),
    ).rejects.toMatchObject(code);
    const broken = fieldToProto(src.field(4));
    const short = { ...broken, tensor: broken.tensor && { ...broken.tensor, data: new Uint8Array(8) } };
    await expect(
      check({ observations: { $case: 'batch', value: gridBatch() }, background: short }),
    ).rejects.toMatchObject(code);
    await expect(
      check({ observations: { $case: 'batch', value: gridBatch() }, grossErrorThreshold: -1 }),
    ).rejects.toMatchObject(code);
  });

  const ncep = path.resolve(REPO, '../shared/data/ncep-air');
  it.skipIf(!existsSync(ncep))(
    'runs main.ts as a process that serves, then drains on SIGTERM and exits 0',
    async () => {
      const proc = await spawnServiceMain(
        'services/ingest/src/main.ts',
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

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { openDatabase } from '@alignda/db';
import type { Db } from '@alignda/db';
import type { PlatformProvenance } from '@alignda/nn';
import { parseAssimilationRequest } from '@alignda/pipelines';
import type { SampleResult } from '@alignda/rpc';
import { latLonGrid } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PROVENANCE_VERSION, analysisMap, analysisProvenance } from './analysis-record.js';
import { markSucceeded } from './job-record.js';

const request = parseAssimilationRequest({
  source: { world: 'qg' },
  validTime: '2001-01-23T00:00Z',
  observations: { cells: [{ channel: 't', row: 1, col: 2, value: 250, sigma: 0.5 }] },
  method: 'dps',
  members: 2,
  steps: 8,
  seed: 5,
});
const seeds = { sampler: 5, members: [11, 12] };
const sampled: SampleResult = {
  analysisLatents: undefined,
  modelVersion: 'score-v1',
  steps: 8,
  corrections: 1,
  executionProvider: 'cpu',
  sampler: 'host:42',
};
const platform: PlatformProvenance = {
  gitCommit: 'a'.repeat(40),
  lockfileSha256: 'b'.repeat(64),
  node: 'v20.19.0',
  onnxruntime: { version: '1.30.0', executionProviderRequested: 'auto' },
  models: {
    version: 'qg-ci-model',
    manifest: { source: 'qg', preset: 'ci', background: 'model', leadHours: 48 },
    files: [{ name: 'score.safetensors', bytes: 3, sha256: 'c'.repeat(64) }],
  },
};

describe('analysisProvenance', () => {
  it("records the platform's code, runtime and model files with the job's seeds, request and sampled version", async () => {
    const p = await analysisProvenance(Promise.resolve(platform), {
      request,
      seeds,
      sampled,
      modelVersion: 'qg-ci-model',
    });
    expect(p).toEqual({
      version: PROVENANCE_VERSION,
      recordedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) as unknown,
      gitCommit: platform.gitCommit,
      lockfileSha256: platform.lockfileSha256,
      node: 'v20.19.0',
      onnxruntime: { version: '1.30.0', executionProviderRequested: 'auto', executionProvider: 'cpu' },
      sampler: 'host:42',
      models: {
        version: 'qg-ci-model',
        sampled: 'score-v1',
        manifest: platform.models?.manifest,
        files: platform.models?.files,
      },
      seeds,
      request,
    });
  });

  it('takes the execution provider and replica from a sampler result that reports them', async () => {
    const reporting = { ...sampled, executionProvider: 'cuda', sampler: 'gpu-1:42' };
    const p = await analysisProvenance(platform, { request, seeds, sampled: reporting, modelVersion: 'x' });
    expect(p.onnxruntime.executionProvider).toBe('cuda');
    expect(p.sampler).toBe('gpu-1:42');
    // A sampler from before SampleResult carried them leaves them empty: recorded as unknown.
    const older = { ...sampled, executionProvider: '', sampler: '' };
    const q = await analysisProvenance(platform, { request, seeds, sampled: older, modelVersion: 'x' });
    expect([q.onnxruntime.executionProvider, q.sampler]).toEqual([null, null]);
  });

  it('reads the code and runtime itself when given no platform provenance, and hashes no model files', async () => {
    const p = await analysisProvenance(undefined, { request, seeds, sampled, modelVersion: 'served' });
    expect(p.lockfileSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(p.onnxruntime.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(p.models).toEqual({ version: 'served', sampled: 'score-v1', manifest: null, files: [] });
  });
});

describe('analysisMap', () => {
  it('draws the first channel of the fields as a PNG', () => {
    const grid = latLonGrid([40, 20, 0], [0, 90, 180, 270]);
    const source = {
      shape: [2, 3, 4],
      grid,
      channels: ['t', 'u_upper'],
      units: ['K', 'm s-1'],
    } as unknown as DaSource;
    const field = (offset: number): Float32Array => Float32Array.from({ length: 24 }, (_, k) => offset + k);
    const png = analysisMap(
      source,
      { mean: field(250), spread: field(1), background: field(249) },
      request,
      '2001-01-23T00:00:00.000Z',
    );
    expect(Array.from(png.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });
});

describe('markSucceeded', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'alignda-analysis-record-'));
  let db: Db;
  beforeAll(async () => {
    db = await openDatabase({
      databaseUrl: `file:${path.join(dir, 'alignda.db')}`,
      startupProbeTimeoutMs: 2000,
    });
  });
  afterAll(async () => {
    await db.$disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the provenance with the Analysis row, and a retry clears an expiry', async () => {
    const job = await db.job.create({ data: { kind: 'assimilate', request: {}, status: 'running' } });
    const dataset = await db.dataset.create({ data: { name: 'qg', kind: 'qg', descriptor: {} } });
    const success = {
      jobId: job.id,
      datasetId: dataset.id,
      validTime: new Date(0),
      members: 2,
      artifactPaths: { analysis: 'results/x/analysis.nc', map: 'results/x/map.png' },
      diagnostics: {},
      provenance: { gitCommit: 'abc', seeds },
      result: {},
    };
    expect(await markSucceeded(db, success)).toBe(true);
    const row = await db.analysis.findUniqueOrThrow({ where: { id: job.id } });
    expect(row.provenance).toEqual({ gitCommit: 'abc', seeds });
    expect(row.artifactPaths).toEqual(success.artifactPaths);

    await db.analysis.update({ where: { id: job.id }, data: { expiredAt: new Date(), artifactPaths: {} } });
    await db.job.update({ where: { id: job.id }, data: { status: 'running' } });
    expect(await markSucceeded(db, success)).toBe(true);
    const again = await db.analysis.findUniqueOrThrow({ where: { id: job.id } });
    expect(again.expiredAt).toBeNull();
    expect(again.artifactPaths).toEqual(success.artifactPaths);
  });
});

/**
 * The registry's batch store on a throw-away SQLite registry: a batch file keeps a batch exactly; Submit and Check
 * through a store that is then dropped and built again (a restarted service) find the batch; one key makes one row
 * even when two submissions race; Check's O-B statistics are recorded in the row; damaged or missing files are
 * refused with a clear error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureDatasetRow, openDatabase } from '@alignda/db';
import type { Db } from '@alignda/db';
import { fieldToProto } from '@alignda/rpc';
import type { ObsBatch as ObsBatchMessage } from '@alignda/rpc';
import type { DaSource, ObsBatch } from '@alignda/world';

import { memoryDataset } from '../../../../packages/pipelines/src/internal/testing.js';
import { check, qcSummary, submit } from '../handlers.js';
import { batchFileText, batchFromFileText, dbBatchStore } from './db-batch-store.js';

const [H, W] = [32, 64];
const VALID_TIME = new Date(Date.UTC(2013, 0, 16));

function source(): DaSource {
  const states = Array.from({ length: 8 }, (_, t) =>
    Float32Array.from({ length: H * W }, (_, g) => 280 - 0.5 * Math.floor(g / W) + Math.sin((g % W) / 5 + t)),
  );
  return memoryDataset(states, { train: [0, 4], test: [4, 8] });
}

describe('the registry batch store', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'alignda-ingest-db-'));
  let db: Db;
  let src: DaSource;
  const storeOf = () =>
    dbBatchStore({
      db,
      homeDir: root,
      datasetRowId: (name) => ensureDatasetRow(db, { name, kind: 'dataset', descriptor: { name } }),
      summary: (batch) => qcSummary(batch.qcFlags),
    });

  beforeAll(async () => {
    db = await openDatabase({
      databaseUrl: `file:${path.join(root, 'registry.db')}`,
      startupProbeTimeoutMs: 5000,
    });
    src = source();
  });
  afterAll(async () => {
    await db.$disconnect();
    rmSync(root, { recursive: true, force: true });
  });

  const message = (values: number[]): ObsBatchMessage => ({
    validTime: VALID_TIME,
    channels: ['t'],
    channelIndex: values.map(() => 0),
    locations: {
      $case: 'gridPoints',
      value: { row: values.map((_, k) => 2 + k), col: values.map((_, k) => 3 * k) },
    },
    values,
    errorStd: values.map(() => 0.5),
    qcFlags: [],
    ids: values.map((_, k) => `s${k}`),
  });

  it('keeps a batch exactly in its file: NaN values, flags, reasons, ids, points or cells', () => {
    const batch: ObsBatch = {
      validTime: '2013-01-16T00:00:00.000Z',
      channels: ['t', 'u'],
      channelIndex: Int32Array.from([0, 1, 1]),
      latDeg: Float64Array.from([10.25, -3.5, 89.9]),
      lonDeg: Float64Array.from([0, 359.75, -179.5]),
      value: Float64Array.from([273.15, Number.NaN, 1e-300]),
      errorStd: Float64Array.from([0.5, 1, 2]),
      qcFlags: Uint32Array.from([0, 1, 4 | 8]),
      qcReasons: ['', 'missing value', 'two reasons'],
      ids: ['a', 'b', 'c'],
    };
    const back = batchFromFileText(batchFileText(batch));
    expect(back).toEqual(batch);
    expect(Object.is(back.value[1], Number.NaN)).toBe(true);
    const gridded = { ...batch, row: Int32Array.from([1, 2, 3]), col: Int32Array.from([4, 5, 6]) };
    expect(batchFromFileText(batchFileText(gridded))).toEqual(gridded);
    const text = JSON.parse(batchFileText(batch)) as Record<string, unknown>;
    expect(() => batchFromFileText(JSON.stringify({ ...text, version: 2 }))).toThrow(
      'batch file has version 2, not 1',
    );
  });

  it('finds what it stored after a restart, records the O-B statistics of a Check, and stores a key once', async () => {
    const deps = { dataset: src, store: storeOf() };
    const first = await submit(deps, {
      datasetId: 'memory',
      source: { $case: 'batch', value: message([281, 279.5, Number.NaN]) },
      idempotencyKey: 'key-1',
    });
    expect(first.qc).toMatchObject({ total: 3, passed: 2 });

    // A restarted service: a new store on the same registry and files.
    const restarted = { dataset: src, store: storeOf() };
    const again = await submit(restarted, {
      datasetId: 'memory',
      source: { $case: 'batch', value: message([1, 2, 3]) },
      idempotencyKey: 'key-1',
    });
    expect(again.batchId).toBe(first.batchId);
    expect(again.batch).toEqual(first.batch);
    const checked = await check(restarted, {
      observations: { $case: 'batchId', value: first.batchId },
      background: fieldToProto(src.field(4), VALID_TIME),
      backgroundErrorStd: [],
    });
    // The gross-error check against the background flags one of the two Submit passed.
    expect(checked.qc).toMatchObject({ total: 3, passed: 1 });

    const rows = await db.observationBatch.findMany({ where: { idempotencyKey: 'key-1' } });
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row).toMatchObject({ id: first.batchId, count: 3, source: 'upload', validTime: VALID_TIME });
    const summary = row?.qcSummary as {
      total: number;
      passed: number;
      check?: { oMinusB: unknown[]; qc: unknown };
    };
    // Submit's summary, then the last Check's: its O-B statistics per channel and its QC counts.
    expect(summary).toMatchObject({ total: 3, passed: 2 });
    expect(summary.check?.oMinusB).toEqual(checked.oMinusB?.channels);
    expect(summary.check?.oMinusB).toHaveLength(1);
    expect(summary.check?.qc).toEqual(checked.qc);
    expect((await db.dataset.findUniqueOrThrow({ where: { id: row?.datasetId ?? '' } })).name).toBe('memory');
  });

  it('makes one row when two submissions with one key race', async () => {
    const stores = [storeOf(), storeOf(), storeOf()];
    const answers = await Promise.all(
      stores.map((store, k) =>
        submit(
          { dataset: src, store },
          {
            datasetId: 'memory',
            source: { $case: 'batch', value: message([280 + k]) },
            idempotencyKey: 'race',
          },
        ),
      ),
    );
    expect(new Set(answers.map((a) => a.batchId)).size).toBe(1);
    expect(await db.observationBatch.count({ where: { idempotencyKey: 'race' } })).toBe(1);
  });

  it('refuses a batch whose file is gone or damaged with a clear error, and knows no unknown id', async () => {
    const store = storeOf();
    const { stored } = await store.put(
      'memory',
      batchFromFileText(
        batchFileText({
          validTime: VALID_TIME.toISOString(),
          channels: ['t'],
          channelIndex: Int32Array.from([0]),
          latDeg: Float64Array.from([0]),
          lonDeg: Float64Array.from([0]),
          value: Float64Array.from([280]),
          errorStd: Float64Array.from([1]),
          qcFlags: Uint32Array.from([0]),
          qcReasons: [''],
        }),
      ),
    );
    const file = path.join(root, 'observations', `${stored.id}.json`);
    writeFileSync(file, '{"version": 9}');
    await expect(store.get(stored.id)).rejects.toThrow(`batch ${stored.id} has version 9, not 1`);
    rmSync(file);
    await expect(store.get(stored.id)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringContaining('submit it again') as unknown,
    });
    expect(await store.get('no-such-batch')).toBeUndefined();
  });
});

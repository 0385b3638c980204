/**
 * A {@link BatchStore} in the registry: one ObservationBatch row per batch (dataset, valid time, count, the QC
 * summary and, once checked, its O-B statistics; the submitter's idempotency key, unique per dataset) and the batch
 * itself as a file under `<ALIGNDA_HOME>/observations/<id>.json`, written whole before its row exists. A restarted
 * ingest service finds every batch it accepted; two submissions racing with one key make one row.
 *
 * The file keeps a batch exactly (NaN values of rejected observations, QC reasons and ids included): numbers as
 * little-endian base64 of their typed arrays, `version` first so that a reader never misreads a later layout.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { isUniqueViolation } from '@alignda/db';
import type { Db, ObservationBatch } from '@alignda/db';
import { AppError } from '@alignda/errors';
import type { ObsBatch } from '@alignda/world';

import type { BatchStore, StoredBatch } from '../ports.js';

/** The layout version of a batch file. */
export const BATCH_FILE_VERSION = 1;

type TypedName = 'channelIndex' | 'latDeg' | 'lonDeg' | 'row' | 'col' | 'value' | 'errorStd' | 'qcFlags';
const ARRAYS: Readonly<Record<TypedName, 'i4' | 'u4' | 'f8'>> = {
  channelIndex: 'i4',
  latDeg: 'f8',
  lonDeg: 'f8',
  row: 'i4',
  col: 'i4',
  value: 'f8',
  errorStd: 'f8',
  qcFlags: 'u4',
};

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function encodeArray(a: Int32Array | Uint32Array | Float64Array): string {
  if (!littleEndian) throw new AppError('INTERNAL', 'batch files are written on little-endian hosts only');
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function decodeArray(
  text: unknown,
  dtype: 'i4' | 'u4' | 'f8',
  what: string,
): Int32Array | Uint32Array | Float64Array {
  if (typeof text !== 'string') throw new AppError('INTERNAL', `batch file: ${what} is missing`);
  const bytes = Buffer.from(text, 'base64');
  const copy = new Uint8Array(bytes).buffer; // aligned
  const size = dtype === 'f8' ? 8 : 4;
  if (bytes.byteLength % size !== 0)
    throw new AppError('INTERNAL', `batch file: ${what} is not whole ${dtype}`);
  return dtype === 'f8'
    ? new Float64Array(copy)
    : dtype === 'i4'
      ? new Int32Array(copy)
      : new Uint32Array(copy);
}

/** A batch as the text of its file. */
export function batchFileText(batch: ObsBatch): string {
  const arrays: Record<string, string> = {};
  for (const name of Object.keys(ARRAYS) as TypedName[]) {
    const a = batch[name];
    if (a !== undefined) arrays[name] = encodeArray(a);
  }
  return JSON.stringify({
    version: BATCH_FILE_VERSION,
    validTime: batch.validTime,
    channels: batch.channels,
    qcReasons: batch.qcReasons,
    ...(batch.ids === undefined ? {} : { ids: batch.ids }),
    arrays,
  });
}

/** The batch of a file's text. @throws AppError INTERNAL for a file of another version or a damaged one */
export function batchFromFileText(text: string, what = 'batch file'): ObsBatch {
  const f = JSON.parse(text) as Record<string, unknown>;
  if (f.version !== BATCH_FILE_VERSION)
    throw new AppError(
      'INTERNAL',
      `${what} has version ${JSON.stringify(f.version)}, not ${BATCH_FILE_VERSION}`,
    );
  const arrays = (f.arrays ?? {}) as Record<string, unknown>;
  const read = <T extends Int32Array | Uint32Array | Float64Array>(name: TypedName): T =>
    decodeArray(arrays[name], ARRAYS[name], `${what} ${name}`) as T;
  const gridded = arrays.row !== undefined && arrays.col !== undefined;
  return {
    validTime: String(f.validTime),
    channels: f.channels as string[],
    channelIndex: read<Int32Array>('channelIndex'),
    latDeg: read<Float64Array>('latDeg'),
    lonDeg: read<Float64Array>('lonDeg'),
    ...(gridded ? { row: read<Int32Array>('row'), col: read<Int32Array>('col') } : {}),
    value: read<Float64Array>('value'),
    errorStd: read<Float64Array>('errorStd'),
    qcFlags: read<Uint32Array>('qcFlags'),
    qcReasons: f.qcReasons as string[],
    ...(Array.isArray(f.ids) ? { ids: f.ids as string[] } : {}),
  };
}

/** What the store is built from; the caller owns the database. */
export interface DbBatchStoreDeps {
  readonly db: Db;
  /** ALIGNDA_HOME: batch files go to `observations/` under it. */
  readonly homeDir: string;
  /** The Dataset row of a dataset name (packages/db's ensureDatasetRow for the served source). */
  datasetRowId(datasetName: string): Promise<string>;
  /** The QC summary recorded with a new batch (JSON). */
  summary(batch: ObsBatch): object;
}

/** A batch store in the registry and the blob store. */
export function dbBatchStore(deps: DbBatchStoreDeps): BatchStore {
  const { db, homeDir } = deps;
  const relative = (id: string): string => path.join('observations', `${id}.json`);
  const load = (row: ObservationBatch, datasetName: string): StoredBatch => {
    let text: string;
    try {
      text = readFileSync(path.join(homeDir, row.artifactPath), 'utf8');
    } catch (err) {
      throw new AppError(
        'FAILED_PRECONDITION',
        `batch ${row.id}: its file ${row.artifactPath} cannot be read (removed from the blob store?): submit it again`,
        { cause: err },
      );
    }
    return { id: row.id, datasetId: datasetName, batch: batchFromFileText(text, `batch ${row.id}`) };
  };
  const nameOf = async (row: ObservationBatch): Promise<string> =>
    (await db.dataset.findUniqueOrThrow({ where: { id: row.datasetId } })).name;

  const findByKey = async (datasetName: string, key: string): Promise<StoredBatch | undefined> => {
    const datasetId = await deps.datasetRowId(datasetName);
    const row = await db.observationBatch.findUnique({
      where: { datasetId_idempotencyKey: { datasetId, idempotencyKey: key } },
    });
    return row === null ? undefined : load(row, datasetName);
  };

  return {
    put: async (datasetName, batch, idempotencyKey) => {
      if (idempotencyKey !== undefined) {
        const earlier = await findByKey(datasetName, idempotencyKey);
        if (earlier !== undefined) return { stored: earlier, created: false };
      }
      const datasetId = await deps.datasetRowId(datasetName);
      const id = randomUUID();
      const artifactPath = relative(id);
      const target = path.join(homeDir, artifactPath);
      mkdirSync(path.dirname(target), { recursive: true });
      // Written whole (beside, then renamed) before the row: a row never points at half a file.
      writeFileSync(`${target}.partial`, batchFileText(batch));
      renameSync(`${target}.partial`, target);
      try {
        await db.observationBatch.create({
          data: {
            id,
            datasetId,
            validTime: new Date(batch.validTime),
            source: 'upload',
            count: batch.value.length,
            artifactPath,
            qcSummary: JSON.parse(JSON.stringify(deps.summary(batch))) as object,
            idempotencyKey: idempotencyKey ?? null,
          },
        });
      } catch (err) {
        rmSync(target, { force: true });
        // Another submission with the same key won the race: answer with its batch.
        if (idempotencyKey !== undefined && isUniqueViolation(err)) {
          const winner = await findByKey(datasetName, idempotencyKey);
          if (winner !== undefined) return { stored: winner, created: false };
        }
        throw err;
      }
      return { stored: { id, datasetId: datasetName, batch }, created: true };
    },
    findByKey,
    get: async (id) => {
      const row = await db.observationBatch.findUnique({ where: { id } });
      return row === null ? undefined : load(row, await nameOf(row));
    },
    recordCheck: async (id, check) => {
      const row = await db.observationBatch.findUnique({ where: { id } });
      if (row === null) return;
      const summary = (row.qcSummary ?? {}) as Record<string, unknown>;
      await db.observationBatch.update({
        where: { id },
        data: { qcSummary: JSON.parse(JSON.stringify({ ...summary, check })) as object },
      });
    },
  };
}

/**
 * The IngestService rpcs (proto/alignda/v1/ingest.proto): Submit parses, validates and quality-controls a batch and
 * stores it; Check runs the background check (O-B, gross-error test, per-channel statistics) on a stored or inline
 * batch. Messages are mapped here; the checks are packages/world's (backgroundFreeQc, backgroundCheck, qcCounts).
 */
import { AppError } from '@alignda/errors';
import {
  InvalidMessageError,
  ObsFormat,
  assertFieldLayout,
  fieldFromProto,
  unaryHandler,
} from '@alignda/rpc';
import type {
  CallLogger,
  CheckRequest,
  CheckResponse,
  FieldLayout,
  IngestServiceServer,
  QcSummary,
  SubmitRequest,
  SubmitResponse,
} from '@alignda/rpc';
import { backgroundCheck, backgroundFreeQc, qcCounts } from '@alignda/world';
import type { ObsBatch, QcContext } from '@alignda/world';

import { batchFromCsv, batchFromMessage, batchToMessage } from './obs-codec.js';
import type { BatchStore } from './ports.js';

/** The dataset a service ingests for: its name, layout and valid area. */
export interface IngestDataset extends FieldLayout {
  /** The dataset id requests name (the source's name, e.g. `ncep-air` or `qg`). */
  readonly name: string;
  /** 1 where a cell holds data, [H, W]. @defaultValue every cell */
  readonly validMask?: Uint8Array;
}

/** What the handlers work with. */
export interface IngestHandlerDeps {
  readonly dataset: IngestDataset;
  readonly store: BatchStore;
}

function checkDataset(deps: IngestHandlerDeps, datasetId: string): void {
  if (datasetId !== deps.dataset.name)
    throw new AppError(
      'NOT_FOUND',
      `unknown dataset '${datasetId}' (this service ingests '${deps.dataset.name}')`,
      {
        details: { datasetId },
      },
    );
}

/** The QC summary message of a batch's flags. */
export function qcSummary(flags: ArrayLike<number>): QcSummary {
  const { total, passed, byFlag } = qcCounts(flags);
  return { total, passed, flagCounts: [...byFlag].map(([flag, count]) => ({ flag, count })) };
}

function qcContext(deps: IngestHandlerDeps): QcContext {
  const { grid, validMask, units } = deps.dataset;
  return { grid, units, ...(validMask === undefined ? {} : { validMask }) };
}

/** Submit: the batch parsed, QC'd, stored; a repeated idempotency key returns the first result. */
export async function submit(deps: IngestHandlerDeps, request: SubmitRequest): Promise<SubmitResponse> {
  checkDataset(deps, request.datasetId);
  const key = request.idempotencyKey === '' ? undefined : request.idempotencyKey;
  const answer = (id: string, batch: ObsBatch): SubmitResponse => ({
    batchId: id,
    batch: batchToMessage(batch),
    qc: qcSummary(batch.qcFlags),
  });
  if (key !== undefined) {
    const earlier = await deps.store.findByKey(request.datasetId, key);
    if (earlier !== undefined) return answer(earlier.id, earlier.batch);
  }
  const source = request.source;
  let parsed: ObsBatch;
  if (source?.$case === 'batch') parsed = batchFromMessage(source.value, deps.dataset, 'batch');
  else if (source?.$case === 'raw') {
    const raw = source.value;
    if (raw.format !== ObsFormat.CSV)
      throw new InvalidMessageError([{ path: 'raw.format', message: `${raw.format} is not OBS_FORMAT_CSV` }]);
    if (raw.validTime === undefined)
      throw new InvalidMessageError([{ path: 'raw.valid_time', message: 'is required' }]);
    parsed = batchFromCsv(raw.content, raw.validTime, deps.dataset);
  } else throw new InvalidMessageError([{ path: 'source', message: 'is not set (batch or raw)' }]);
  const checked = backgroundFreeQc(parsed, qcContext(deps));
  const { stored } = await deps.store.put(request.datasetId, checked, key);
  return answer(stored.id, stored.batch);
}

/** Check: O-B against the background, the gross-error test and per-channel statistics. */
export async function check(deps: IngestHandlerDeps, request: CheckRequest): Promise<CheckResponse> {
  const obs = request.observations;
  let batch: ObsBatch;
  // The background error stds follow the batch's own channel list; the checks work in the dataset's.
  let channelsOfRequest: readonly string[];
  if (obs?.$case === 'batchId') {
    const stored = await deps.store.get(obs.value);
    if (stored === undefined)
      throw new AppError('NOT_FOUND', `unknown batch '${obs.value}'`, { details: { batchId: obs.value } });
    batch = stored.batch;
    channelsOfRequest = batch.channels;
  } else if (obs?.$case === 'batch') {
    batch = backgroundFreeQc(batchFromMessage(obs.value, deps.dataset, 'batch'), qcContext(deps));
    channelsOfRequest = obs.value.channels;
  } else throw new InvalidMessageError([{ path: 'observations', message: 'is not set (batch_id or batch)' }]);
  const { field } = fieldFromProto(request.background, 'background');
  assertFieldLayout(field, deps.dataset, 'background');
  const sb = request.backgroundErrorStd;
  if (sb.length !== 0 && sb.length !== channelsOfRequest.length)
    throw new InvalidMessageError([
      {
        path: 'background_error_std',
        message: `has ${sb.length} values for the batch's ${channelsOfRequest.length} channels`,
      },
    ]);
  const backgroundErrorStd =
    sb.length === 0
      ? []
      : deps.dataset.channels.map((name) => {
          const k = channelsOfRequest.indexOf(name);
          return k < 0 ? 0 : (sb[k] as number);
        });
  const result = backgroundCheck(batch, field.data, deps.dataset.grid, {
    ...(request.grossErrorThreshold === undefined ? {} : { threshold: request.grossErrorThreshold }),
    backgroundErrorStd,
  });
  const channels = result.channels.map((c) => ({
    channelIndex: c.channelIndex,
    channel: result.batch.channels[c.channelIndex] ?? '',
    count: c.count,
    mean: c.mean,
    rms: c.rms,
    normalisedMean: c.normalisedMean,
    normalisedRms: c.normalisedRms,
  }));
  const qc = qcSummary(result.batch.qcFlags);
  // A stored batch keeps its O-B statistics (the last check's) in the registry.
  if (obs.$case === 'batchId')
    await deps.store.recordCheck?.(obs.value, { checkedAt: new Date().toISOString(), oMinusB: channels, qc });
  return {
    batch: batchToMessage(result.batch),
    oMinusB: { departures: Array.from(result.departures), channels },
    qc,
  };
}

/** The IngestService implementation. */
export function ingestHandlers(deps: IngestHandlerDeps, log: CallLogger): IngestServiceServer {
  return {
    submit: unaryHandler(log, (request: SubmitRequest) => submit(deps, request)),
    check: unaryHandler(log, (request: CheckRequest) => check(deps, request)),
  };
}

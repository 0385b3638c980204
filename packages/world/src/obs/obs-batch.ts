import type { Grid } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import { locatePoint } from './bilinear.js';
import { QC_FLAG } from './qc.js';

/**
 * A batch of N observations valid at one time, column-wise like `alignda.v1.ObsBatch`: element i of
 * every array describes observation i. Values are in the physical units of their channel.
 */
export interface ObsBatch {
  /** Valid time, ISO 8601 UTC. */
  readonly validTime: string;
  /** Channel list `channelIndex` refers to (the dataset's field channels), length C. */
  readonly channels: readonly string[];
  /** Channel of each observation, indices into `channels`, length N. */
  readonly channelIndex: Int32Array;
  /** Latitudes, degrees north, length N. */
  readonly latDeg: Float64Array;
  /** Longitudes, degrees east, length N (any finite value; wrapped onto the grid). */
  readonly lonDeg: Float64Array;
  /** Grid rows, length N, for gridded (masking) observations only. */
  readonly row?: Int32Array;
  /** Grid columns, length N, for gridded observations only. */
  readonly col?: Int32Array;
  /** Observed values, length N. */
  readonly value: Float64Array;
  /** Observation error standard deviations, length N, > 0 for accepted observations. */
  readonly errorStd: Float64Array;
  /** QC flags (OR of {@link QC_FLAG} bits, 0 = passed), length N. */
  readonly qcFlags: Uint32Array;
  /** Why each observation was rejected ('' when it passed), length N. */
  readonly qcReasons: readonly string[];
  /** Optional station or observation identifiers, length N. */
  readonly ids?: readonly string[];
}

/** Options of {@link validateObsBatch}. */
export interface ValidateObsOptions {
  /** Grid the observations will be compared with; locations off it are rejected. */
  readonly grid?: Grid;
  /** Valid-area mask [H, W] of that grid: points whose interpolation touches a 0 cell are rejected. */
  readonly validMask?: Uint8Array;
}

/** Result of {@link validateObsBatch}. */
export interface ObsValidation {
  /** The batch with `qcFlags` / `qcReasons` updated (earlier flags are kept). */
  readonly batch: ObsBatch;
  /** Indices of the observations that passed, increasing. */
  readonly accepted: Int32Array;
  /** One entry per rejected observation. */
  readonly rejected: readonly { index: number; flags: number; reason: string }[];
}

/**
 * Checks a batch. Structural faults (an empty batch, arrays of different lengths, a channel index not
 * in `channels`) throw; faults of single observations (NaN value, non-finite or off-grid location,
 * non-positive or non-finite error std) become QC rejections with a reason, never a crash.
 * @throws DatasetError `MALFORMED_INPUT` for structural faults
 */
export function validateObsBatch(batch: ObsBatch, opts: ValidateObsOptions = {}): ObsValidation {
  const n = batch.value.length;
  if (n === 0)
    throw new DatasetError(
      'MALFORMED_INPUT',
      'observation batch is empty: at least one observation is needed',
    );
  const lengths: [string, number | undefined][] = [
    ['channelIndex', batch.channelIndex.length],
    ['latDeg', batch.latDeg.length],
    ['lonDeg', batch.lonDeg.length],
    ['errorStd', batch.errorStd.length],
    ['qcFlags', batch.qcFlags.length],
    ['qcReasons', batch.qcReasons.length],
    ['row', batch.row?.length],
    ['col', batch.col?.length],
    ['ids', batch.ids?.length],
  ];
  for (const [name, len] of lengths) {
    if (len !== undefined && len !== n) {
      throw new DatasetError(
        'MALFORMED_INPUT',
        `observation batch: ${name} has length ${len}, value has ${n}`,
      );
    }
  }
  if (Number.isNaN(Date.parse(batch.validTime))) {
    throw new DatasetError(
      'MALFORMED_INPUT',
      `observation batch: validTime "${batch.validTime}" is not an ISO time`,
    );
  }
  const C = batch.channels.length;
  for (let i = 0; i < n; i++) {
    const c = batch.channelIndex[i] as number;
    if (c < 0 || c >= C) {
      throw new DatasetError(
        'MALFORMED_INPUT',
        `observation ${i}: unknown channel index ${c} (channels: ${batch.channels.join(', ') || 'none'})`,
      );
    }
  }
  const flags = Uint32Array.from(batch.qcFlags);
  const reasons = [...batch.qcReasons];
  const reject = (i: number, flag: number, reason: string): void => {
    flags[i] = (flags[i] as number) | flag;
    reasons[i] = reasons[i] ? `${reasons[i]}; ${reason}` : reason;
  };
  for (let i = 0; i < n; i++) {
    const v = batch.value[i] as number;
    const s = batch.errorStd[i] as number;
    const lat = batch.latDeg[i] as number;
    const lon = batch.lonDeg[i] as number;
    if (!Number.isFinite(v)) reject(i, QC_FLAG.missing, `value ${v} is not finite`);
    if (!(s > 0) || !Number.isFinite(s)) reject(i, QC_FLAG.badError, `error std ${s} is not finite and > 0`);
    if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90) {
      reject(i, QC_FLAG.outsideGrid, `location (${lat}, ${lon}) is not a point on the sphere`);
    } else if (opts.grid !== undefined) {
      const loc = locatePoint(opts.grid, lat, lon, opts.validMask);
      if (!loc.ok) reject(i, QC_FLAG.outsideGrid, loc.reason);
    }
  }
  const accepted: number[] = [];
  const rejected: { index: number; flags: number; reason: string }[] = [];
  for (let i = 0; i < n; i++) {
    if (flags[i] === 0) accepted.push(i);
    else rejected.push({ index: i, flags: flags[i] as number, reason: reasons[i] ?? '' });
  }
  return {
    batch: { ...batch, qcFlags: flags, qcReasons: reasons },
    accepted: Int32Array.from(accepted),
    rejected,
  };
}

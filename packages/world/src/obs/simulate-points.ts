import type { Field, Rng } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import { bilinearOperator, locatePoint } from './bilinear.js';
import type { PointOperator } from './bilinear.js';
import type { ObsBatch } from './obs-batch.js';

/** Options of {@link simulatePointObs}. */
export interface SimulatePointOptions {
  /** Number of point observations, >= 1. */
  readonly count: number;
  /** Observed channels, by index; each point observes one, drawn uniformly. @defaultValue every channel */
  readonly channels?: readonly number[];
  /** Std of the Gaussian noise added (field units). @defaultValue 0 */
  readonly noiseStd?: number;
  /** Error std R assumes, > 0. @defaultValue `noiseStd` */
  readonly errorStd?: number;
  /** Source of randomness (locations, channels, then noise). */
  readonly rng: Rng;
  /** Valid-area mask [H, W]: points whose interpolation touches a 0 cell are drawn again. @defaultValue all valid */
  readonly validMask?: Uint8Array;
  /** Valid time written into the batch. @defaultValue '1970-01-01T00:00:00Z' */
  readonly validTime?: string;
}

/** Simulated point observations and the bilinear operator that maps a state to them. */
export interface PointObs {
  /** One observation per point, off the grid (no `row` / `col`). */
  readonly batch: ObsBatch;
  /** H: bilinear interpolation of each point's channel from the four surrounding grid values. */
  readonly operator: PointOperator;
}

/**
 * Observes a field at `count` random points off the grid, as station and aircraft reports come: each point's
 * location is uniform in latitude and longitude over the grid's extent (inside the valid area), its channel uniform
 * among `channels`, and its value the bilinear interpolation of the field there plus noise (y = H x + e).
 * @param field - the true state [C, H, W]
 * @throws DatasetError for a count < 1, an unknown channel, an error std that is not > 0, or a valid area too small
 *   to place the points
 */
export function simulatePointObs(field: Field, opts: SimulatePointOptions): PointObs {
  const [C, H, W] = field.shape;
  if (!Number.isInteger(opts.count) || opts.count < 1)
    throw new DatasetError('OUT_OF_RANGE', `simulatePointObs: count ${opts.count} is not an integer >= 1`);
  const chans = opts.channels ?? field.channels.map((_, i) => i);
  for (const c of chans)
    if (!Number.isInteger(c) || c < 0 || c >= C)
      throw new DatasetError('MALFORMED_INPUT', `simulatePointObs: unknown channel ${c} (the field has ${C})`);
  if (chans.length === 0) throw new DatasetError('MALFORMED_INPUT', 'simulatePointObs: no channel to observe');
  const noise = opts.noiseStd ?? 0;
  const err = opts.errorStd ?? noise;
  if (!(err > 0) || !Number.isFinite(err))
    throw new DatasetError(
      'OUT_OF_RANGE',
      `simulatePointObs: error std ${err} is not > 0 (noise-free observations need an assumed errorStd)`,
    );
  if (opts.validMask !== undefined && opts.validMask.length !== H * W)
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `simulatePointObs: validMask has length ${opts.validMask.length}, expected ${H * W}`,
    );
  const lat = field.grid.latDeg;
  const lon = field.grid.lonDeg;
  const latLo = Math.min(lat[0] as number, lat[H - 1] as number);
  const latHi = Math.max(lat[0] as number, lat[H - 1] as number);
  const lonLo = Math.min(lon[0] as number, lon[W - 1] as number);
  // A periodic grid covers the whole circle; otherwise the span between its first and last longitude.
  const lonSpan = field.grid.periodicLon
    ? 360
    : Math.max(lon[0] as number, lon[W - 1] as number) - lonLo;
  const n = opts.count;
  const latDeg = new Float64Array(n);
  const lonDeg = new Float64Array(n);
  const channelIndex = new Int32Array(n);
  const maxTries = 100 * n;
  let tries = 0;
  for (let p = 0; p < n; p++) {
    for (;;) {
      if (++tries > maxTries)
        throw new DatasetError(
          'OUT_OF_RANGE',
          `simulatePointObs: could not place ${n} points in the valid area in ${maxTries} draws`,
        );
      const la = latLo + (latHi - latLo) * opts.rng.uniform();
      const lo = lonLo + lonSpan * opts.rng.uniform();
      if (!locatePoint(field.grid, la, lo, opts.validMask).ok) continue;
      latDeg[p] = la;
      lonDeg[p] = lo;
      break;
    }
    channelIndex[p] = chans[opts.rng.int(chans.length)] as number;
  }
  const { operator } = bilinearOperator(field.grid, field.shape, { channelIndex, latDeg, lonDeg }, opts.validMask);
  const value = operator.apply(field.data);
  for (let p = 0; p < n; p++) value[p] = (value[p] as number) + noise * opts.rng.normal();
  return {
    batch: {
      validTime: opts.validTime ?? '1970-01-01T00:00:00Z',
      channels: field.channels,
      channelIndex,
      latDeg,
      lonDeg,
      value,
      errorStd: new Float64Array(n).fill(err),
      qcFlags: new Uint32Array(n),
      qcReasons: new Array<string>(n).fill(''),
    },
    operator,
  };
}

import type { Field, Rng } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import type { ObsBatch } from './obs-batch.js';

/** Options of {@link simulateGriddedObs}. */
export interface SimulateGriddedOptions {
  /** Share of the (valid) grid columns observed, in (0, 1]; at least one column is drawn. */
  readonly fraction: number;
  /** Observed channels, by index or name. @defaultValue every channel */
  readonly channels?: readonly (number | string)[];
  /**
   * Standard deviation of the Gaussian noise added, per observed channel (same order as `channels`)
   * or one for all, physical units. @defaultValue 0 (noise-free, the paper's default)
   */
  readonly noiseStd?: number | readonly number[];
  /**
   * Error standard deviation reported with the observations (what R assumes), per observed channel or
   * one for all; must be > 0. @defaultValue `noiseStd` (required when the noise is 0)
   */
  readonly errorStd?: number | readonly number[];
  /** Source of randomness (column draw, then noise). Seed it for reproducible observations. */
  readonly rng: Rng;
  /** Valid-area mask [H, W]: only columns with 1 are drawn. @defaultValue every column */
  readonly validMask?: Uint8Array;
  /** Valid time written into the batch. @defaultValue '1970-01-01T00:00:00Z' */
  readonly validTime?: string;
  /**
   * What is drawn: whole columns (every chosen channel at each drawn grid cell, the paper's masking) or single
   * values (any chosen channel at any valid cell, as users' observing systems report them).
   * @defaultValue 'columns'
   */
  readonly layout?: 'columns' | 'values';
}

/** Simulated gridded observations: the batch and the observation mask over the state. */
export interface GriddedObs {
  /** One observation per (observed column, observed channel), with `row` and `col` set. */
  readonly batch: ObsBatch;
  /** 1 where observed, shape [C, H, W] (the masking operator H of METHOD.md section 1). */
  readonly mask: Uint8Array;
}

function perChannel(
  v: number | readonly number[] | undefined,
  n: number,
  name: string,
  dflt: number[],
): number[] {
  if (v === undefined) return dflt;
  if (typeof v === 'number') return new Array<number>(n).fill(v);
  if (v.length !== n)
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `simulateGriddedObs: ${name} has ${v.length} values for ${n} channels`,
    );
  return [...v];
}

/**
 * Observes a random share of the grid columns of a field — every chosen channel at each drawn column — or, with
 * `layout: 'values'`, a random share of the single (channel, cell) values (y = x + e, e ~ N(0, noiseStd^2)). Draws
 * are without replacement (partial Fisher-Yates); with columns the draw is the same as before values existed.
 * @param field - the true state [C, H, W]
 * @throws DatasetError for an unknown channel, a fraction outside (0, 1], or an error std that is not > 0
 */
export function simulateGriddedObs(field: Field, opts: SimulateGriddedOptions): GriddedObs {
  const [C, H, W] = field.shape;
  const fraction = opts.fraction;
  if (!(fraction > 0 && fraction <= 1)) {
    throw new DatasetError('OUT_OF_RANGE', `simulateGriddedObs: fraction ${fraction} is not in (0, 1]`);
  }
  const chans = (opts.channels ?? field.channels.map((_, i) => i)).map((c) => {
    const i = typeof c === 'string' ? field.channels.indexOf(c) : c;
    if (!Number.isInteger(i) || i < 0 || i >= C) {
      throw new DatasetError(
        'MALFORMED_INPUT',
        `simulateGriddedObs: unknown channel ${c} (channels: ${field.channels.join(', ')})`,
      );
    }
    return i;
  });
  if (chans.length === 0)
    throw new DatasetError('MALFORMED_INPUT', 'simulateGriddedObs: no channel to observe');
  const noise = perChannel(opts.noiseStd, chans.length, 'noiseStd', new Array<number>(chans.length).fill(0));
  const errStd = perChannel(opts.errorStd, chans.length, 'errorStd', noise);
  errStd.forEach((s, k) => {
    if (!(s > 0) || !Number.isFinite(s)) {
      throw new DatasetError(
        'OUT_OF_RANGE',
        `simulateGriddedObs: error std ${s} of channel ${field.channels[chans[k] as number] ?? ''} is not > 0 (noise-free observations need an assumed errorStd)`,
      );
    }
  });
  if (opts.validMask !== undefined && opts.validMask.length !== H * W) {
    throw new DatasetError(
      'SHAPE_MISMATCH',
      `simulateGriddedObs: validMask has length ${opts.validMask.length}, expected ${H * W}`,
    );
  }
  const cells: number[] = [];
  for (let k = 0; k < H * W; k++) if (opts.validMask === undefined || opts.validMask[k] !== 0) cells.push(k);
  if (cells.length === 0)
    throw new DatasetError('OUT_OF_RANGE', 'simulateGriddedObs: validMask has no valid cell to observe');
  // Draw `m` of the candidates without replacement (partial Fisher-Yates): cells for columns, (channel, cell)
  // pairs for single values.
  const perValue = opts.layout === 'values';
  const candidates = perValue ? chans.flatMap((c) => cells.map((cell) => c * H * W + cell)) : cells;
  const m = Math.max(1, Math.round(fraction * candidates.length));
  for (let k = 0; k < m; k++) {
    const r = k + opts.rng.int(candidates.length - k);
    const t = candidates[k] as number;
    candidates[k] = candidates[r] as number;
    candidates[r] = t;
  }
  const chosen = candidates.slice(0, m).sort((a, b) => a - b);
  const n = perValue ? m : m * chans.length;
  const channelIndex = new Int32Array(n);
  const row = new Int32Array(n);
  const col = new Int32Array(n);
  const latDeg = new Float64Array(n);
  const lonDeg = new Float64Array(n);
  const value = new Float64Array(n);
  const errorStd = new Float64Array(n);
  const mask = new Uint8Array(C * H * W);
  let o = 0;
  const put = (c: number, k: number, cell: number): void => {
    const i = Math.floor(cell / W);
    const j = cell % W;
    channelIndex[o] = c;
    row[o] = i;
    col[o] = j;
    latDeg[o] = field.grid.latDeg[i] as number;
    lonDeg[o] = field.grid.lonDeg[j] as number;
    value[o] = (field.data[c * H * W + cell] as number) + (noise[k] as number) * opts.rng.normal();
    errorStd[o] = errStd[k] as number;
    mask[c * H * W + cell] = 1;
    o++;
  };
  for (const pick of chosen) {
    if (perValue) {
      const c = Math.floor(pick / (H * W));
      put(c, chans.indexOf(c), pick % (H * W));
    } else chans.forEach((c, k) => put(c, k, pick));
  }
  return {
    batch: {
      validTime: opts.validTime ?? '1970-01-01T00:00:00Z',
      channels: field.channels,
      channelIndex,
      latDeg,
      lonDeg,
      row,
      col,
      value,
      errorStd,
      qcFlags: new Uint32Array(n),
      qcReasons: new Array<string>(n).fill(''),
    },
    mask,
  };
}

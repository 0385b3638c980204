import type { BetaPlaneGrid, Field, Rng } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import { createQgCore, pvFromPsi, zeroState } from './core.js';
import type { QgCore } from './core.js';
import { DEFAULT_QG_PARAMS } from './params.js';
import type { QgParams } from './params.js';
import { createStep } from './step.js';
import type { QgStep } from './step.js';
import { qgFromField, qgGrid, qgToField } from './output.js';

/** One configured two-layer QG model: geometry, stepper and conversions to and from physical fields. */
export interface QgModel {
  readonly core: QgCore;
  readonly params: QgParams;
  /** The output grid (= model grid). */
  readonly grid: BetaPlaneGrid;
  /** One IF-RK4 step of `params.dtS`, in place on a spectral state [2, ny, nkx, 2]. */
  readonly step: QgStep;
  /** Advances `q` in place by `hours` (a whole number of steps; DatasetError `OUT_OF_RANGE` otherwise). */
  advance(q: Float64Array, hours: number): void;
  /** Physical channels of a state: Field [7, ny, nx]. */
  toField(q: Float64Array): Field;
  /** Spectral state from a Field [7, ny, nx] (geopotential channels). */
  fromField(field: Field): Float64Array;
  /**
   * A small random perturbation: white-noise streamfunction in both layers, truncated and scaled to
   * the root-mean-square `amplitudeM2PerS` (default 1e5 m2/s, i.e. winds of ~0.1-0.5 m/s).
   */
  randomState(rng: Rng, amplitudeM2PerS?: number): Float64Array;
}

/**
 * Builds a model from `overrides` on {@link DEFAULT_QG_PARAMS}.
 * @param overrides - any subset of {@link QgParams}
 */
export function createQgModel(overrides: Partial<QgParams> = {}): QgModel {
  const params: QgParams = Object.freeze({ ...DEFAULT_QG_PARAMS, ...overrides });
  const core = createQgCore(params);
  const grid = qgGrid(core);
  const step = createStep(core);
  return {
    core,
    params,
    grid,
    step,
    advance(q, hours) {
      const steps = (hours * 3600) / params.dtS;
      if (!Number.isInteger(steps) || steps < 0)
        throw new DatasetError(
          'OUT_OF_RANGE',
          `qg: ${hours} h is not a whole number of ${params.dtS} s steps`,
        );
      for (let s = 0; s < steps; s++) step(q);
    },
    toField: (q) => qgToField(core, q, grid),
    fromField: (field) => qgFromField(core, field),
    randomState(rng, amplitudeM2PerS = 1e5) {
      const { nx, ny } = params;
      const phys = new Float64Array(nx * ny);
      const psi = zeroState(core);
      const half = 2 * core.modes;
      for (let layer = 0; layer < 2; layer++) {
        rng.fillNormal(phys);
        core.fft.forward(phys, psi.subarray(layer * half, (layer + 1) * half));
      }
      let ms = 0;
      for (let m = 0; m < core.modes; m++) {
        const keep = core.mask[m] as number;
        for (const r of [2 * m, 2 * m + 1, half + 2 * m, half + 2 * m + 1]) {
          psi[r] = keep * (psi[r] as number);
          ms +=
            0.5 *
            (core.parseval[m] as number) *
            (r % 2 === 0 ? psi[r] ** 2 + (psi[r + 1] as number) ** 2 : 0);
        }
      }
      const scale = amplitudeM2PerS / Math.sqrt(ms);
      for (let r = 0; r < psi.length; r++) psi[r] = (psi[r] as number) * scale;
      const q = zeroState(core);
      pvFromPsi(core, psi, q);
      return q;
    },
  };
}

import type { ObservationOperator, Observations } from './ports.js';
import { checkSameShape, fmtShape, invalidArgument, shapeSize } from './internal/errors.js';

/**
 * Checks a set of observations against the state they observe, once, at the entry of every method
 * that uses them. Rejects, with a message naming the first offending observation: an empty set,
 * a state-shape (channel count, grid) mismatch, non-finite values, non-positive or non-finite error
 * standard deviations, and length mismatches.
 * @param fn - name of the calling method, for messages
 * @param obs - the observations
 * @param stateShape - per-member state shape the caller works in, e.g. [C, H, W]
 */
export function validateObservations(fn: string, obs: Observations, stateShape: readonly number[]): void {
  const { operator, values, std } = obs;
  const P = operator.size;
  if (!(P > 0)) throw invalidArgument(fn, 'the observation set is empty: at least one observation is needed');
  if (operator.stateShape.length === stateShape.length && operator.stateShape[0] !== stateShape[0]) {
    throw invalidArgument(
      fn,
      `the observation operator reads ${operator.stateShape[0]} channels but the state has ${stateShape[0]} ` +
        `(operator state shape ${fmtShape(operator.stateShape)}, state shape ${fmtShape(stateShape)})`,
    );
  }
  checkSameShape(fn, 'the observation operator state', operator.stateShape, 'the state', stateShape);
  if (values.length !== P)
    throw invalidArgument(fn, `${values.length} observed values for ${P} observations`);
  if (std.length !== P)
    throw invalidArgument(fn, `${std.length} error standard deviations for ${P} observations`);
  for (let i = 0; i < P; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) throw invalidArgument(fn, `observation ${i} has a non-finite value ${v}`);
    const s = std[i] as number;
    if (!(s > 0) || !Number.isFinite(s)) {
      throw invalidArgument(
        fn,
        `observation ${i} has error standard deviation ${s}; it must be finite and > 0`,
      );
    }
  }
  if (obs.gridIndex !== undefined) {
    const n = shapeSize(stateShape);
    if (obs.gridIndex.length !== P)
      throw invalidArgument(fn, `${obs.gridIndex.length} grid indices for ${P} observations`);
    for (let i = 0; i < P; i++) {
      const g = obs.gridIndex[i] as number;
      if (g < 0 || g >= n)
        throw invalidArgument(fn, `observation ${i} has grid index ${g} outside the state (0..${n - 1})`);
    }
  }
}

/** Input of {@link griddedObservations}: one entry per observation in each column. */
export interface GriddedObservationInput {
  /** Per-member state shape [C, H, W]. */
  readonly stateShape: readonly [number, number, number];
  /** Channel names, length C; needed only when `channel` holds names. @defaultValue `undefined` */
  readonly channels?: readonly string[];
  /** Channel of each observation: index in [0, C) or name from `channels`. */
  readonly channel: ArrayLike<number | string>;
  /** Grid row (latitude index) of each observation, integer in [0, H). */
  readonly row: ArrayLike<number>;
  /** Grid column (longitude index) of each observation, integer in [0, W). */
  readonly col: ArrayLike<number>;
  /** Observed values. */
  readonly value: ArrayLike<number>;
  /** Error standard deviation: one for all, or one per observation; > 0. */
  readonly std: number | ArrayLike<number>;
}

/**
 * Observations of grid-point values (H = selection, the masking operator of METHOD.md section 1),
 * validated: every observation must be on the grid, in a known channel, finite, with std > 0, and
 * no grid point may be observed twice.
 */
export function griddedObservations(input: GriddedObservationInput): Observations {
  const fn = 'griddedObservations';
  const [C, H, W] = input.stateShape;
  const P = input.value.length;
  if (P === 0) throw invalidArgument(fn, 'the observation set is empty: at least one observation is needed');
  for (const [name, col] of [
    ['channel', input.channel],
    ['row', input.row],
    ['col', input.col],
  ] as const) {
    if (col.length !== P) throw invalidArgument(fn, `${name} has ${col.length} entries but value has ${P}`);
  }
  if (typeof input.std !== 'number' && input.std.length !== P) {
    throw invalidArgument(fn, `std has ${input.std.length} entries but value has ${P}`);
  }
  const gridIndex = new Int32Array(P);
  const values = new Float64Array(P);
  const std = new Float64Array(P);
  const seen = new Map<number, number>();
  for (let i = 0; i < P; i++) {
    const ch = input.channel[i] as number | string;
    let c: number;
    if (typeof ch === 'string') {
      const k = input.channels?.indexOf(ch) ?? -1;
      if (k < 0) {
        throw invalidArgument(
          fn,
          `observation ${i} is of channel '${ch}', which the state does not have ` +
            `(channels: ${input.channels?.join(', ') ?? 'none named'})`,
        );
      }
      c = k;
    } else {
      c = ch;
      if (!Number.isInteger(c) || c < 0 || c >= C) {
        throw invalidArgument(
          fn,
          `observation ${i} is of channel ${c} but the state has channels 0..${C - 1}`,
        );
      }
    }
    const r = input.row[i] as number;
    const q = input.col[i] as number;
    if (!Number.isInteger(r) || r < 0 || r >= H || !Number.isInteger(q) || q < 0 || q >= W) {
      throw invalidArgument(
        fn,
        `observation ${i} at (row ${r}, col ${q}) is off the grid (rows 0..${H - 1}, cols 0..${W - 1})`,
      );
    }
    const g = (c * H + r) * W + q;
    const prev = seen.get(g);
    if (prev !== undefined) {
      throw invalidArgument(fn, `observations ${prev} and ${i} are both at channel ${c}, row ${r}, col ${q}`);
    }
    seen.set(g, i);
    gridIndex[i] = g;
    values[i] = input.value[i] as number;
    std[i] = typeof input.std === 'number' ? input.std : (input.std[i] as number);
  }
  const obs: Observations = {
    operator: selectionOperator(input.stateShape, gridIndex),
    values,
    std,
    gridIndex,
  };
  validateObservations(fn, obs, input.stateShape);
  return obs;
}

/** H as a selection of flat state indices, and its adjoint (scatter). */
export function selectionOperator(stateShape: readonly number[], gridIndex: Int32Array): ObservationOperator {
  const n = shapeSize(stateShape);
  return {
    stateShape,
    size: gridIndex.length,
    apply(x, out) {
      for (let i = 0; i < gridIndex.length; i++) out[i] = x[gridIndex[i] as number] as number;
      return out;
    },
    adjoint(r, out) {
      out.fill(0, 0, n);
      for (let i = 0; i < gridIndex.length; i++) {
        const g = gridIndex[i] as number;
        out[g] = (out[g] as number) + (r[i] as number);
      }
      return out;
    },
  };
}

/** Copies observations after validating them, so later mutation of the caller's arrays cannot reach a sampler. */
export function freezeObservations(
  fn: string,
  obs: Observations,
  stateShape: readonly number[],
): Observations {
  validateObservations(fn, obs, stateShape);
  const copy: Observations = {
    operator: obs.operator,
    values: Float64Array.from(obs.values),
    std: Float64Array.from(obs.std),
  };
  return obs.gridIndex === undefined ? copy : { ...copy, gridIndex: Int32Array.from(obs.gridIndex) };
}

import { gridHeight, gridWidth } from './grid.js';
import type { Grid } from './grid.js';
import { TensorError } from './tensor-error.js';

/** Either float typed array a kernel accepts. */
export type FloatArray = Float32Array | Float64Array;

/** A dense row-major tensor. */
export interface Tensor<TData extends Float32Array | Float64Array = Float32Array> {
  readonly data: TData;
  readonly shape: readonly number[];
}

/** A tensor over either float typed array. */
export type FloatTensor = Tensor<FloatArray>;

/**
 * A gridded state: channels x rows x columns, row-major, with channel names and units.
 * `data.length === channels.length * grid.latDeg.length * grid.lonDeg.length`.
 */
export interface Field<TData extends Float32Array | Float64Array = Float32Array> {
  readonly data: TData;
  /** [C, H, W] */
  readonly shape: readonly [number, number, number];
  /** Channel names, length C, e.g. `z_upper`, `u_lower`, `t`. */
  readonly channels: readonly string[];
  /** Channel units (UDUNITS spelling), length C, e.g. `m2 s-2`, `m s-1`, `K`. */
  readonly units: readonly string[];
  readonly grid: Grid;
}

/** What {@link createField} takes: the data, channel names and units, and the grid; the shape is derived. */
export interface FieldInit<TData extends Float32Array | Float64Array = Float32Array> {
  /** Values, row-major, shape [C, H, W]. */
  readonly data: TData;
  /** Channel names, length C, unique and non-empty. */
  readonly channels: readonly string[];
  /** Channel units, length C. */
  readonly units: readonly string[];
  readonly grid: Grid;
}

/**
 * Builds a {@link Field}, checking that the channel names are unique and non-empty, that there is one unit
 * per channel, and that `data.length === C * H * W`. Values are not scanned: see {@link findNonFinite}.
 * @throws TensorError naming the expected and actual sizes
 */
export function createField<TData extends Float32Array | Float64Array>(init: FieldInit<TData>): Field<TData> {
  const { data, channels, units, grid } = init;
  const C = channels.length;
  const H = gridHeight(grid);
  const W = gridWidth(grid);
  if (units.length !== C) {
    throw new TensorError('SHAPE_MISMATCH', `createField: ${C} channels but ${units.length} units`);
  }
  const seen = new Set<string>();
  for (const name of channels) {
    if (name.length === 0) throw new TensorError('MALFORMED_INPUT', 'createField: a channel name is empty');
    if (seen.has(name))
      throw new TensorError('MALFORMED_INPUT', `createField: channel name '${name}' is repeated`);
    seen.add(name);
  }
  if (data.length !== C * H * W) {
    throw new TensorError(
      'SHAPE_MISMATCH',
      `createField: data has length ${data.length} but shape [${C}, ${H}, ${W}] needs ${C * H * W}`,
    );
  }
  return { data, shape: [C, H, W], channels: [...channels], units: [...units], grid };
}

/**
 * Index of a channel by name.
 * @throws TensorError `OUT_OF_RANGE` listing the available channels when the name is absent
 */
export function channelIndex(
  field: Pick<Field<Float32Array | Float64Array>, 'channels'>,
  name: string,
): number {
  const c = field.channels.indexOf(name);
  if (c < 0) {
    throw new TensorError(
      'OUT_OF_RANGE',
      `channelIndex: no channel '${name}'; channels are ${field.channels.join(', ')}`,
    );
  }
  return c;
}

/**
 * One channel of a field as a tensor that shares memory with the field (writes go through).
 * @returns shape [H, W]
 */
export function channel<TData extends Float32Array | Float64Array>(
  field: Field<TData>,
  name: string,
): Tensor<TData> {
  const c = channelIndex(field, name);
  const [, H, W] = field.shape;
  return { data: field.data.subarray(c * H * W, (c + 1) * H * W) as TData, shape: [H, W] };
}

/** Index of the first NaN or +-Infinity in `data`, or -1 when every value is finite. */
export function findNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) return i;
  }
  return -1;
}

/**
 * Throws when a field holds a NaN or an infinity, naming the channel, row and column of the first one.
 * @throws TensorError `NON_FINITE_VALUES`
 */
export function assertFiniteField(field: Field<Float32Array | Float64Array>): void {
  const i = findNonFinite(field.data);
  if (i < 0) return;
  const [, H, W] = field.shape;
  const c = Math.floor(i / (H * W));
  const h = Math.floor((i % (H * W)) / W);
  throw new TensorError(
    'NON_FINITE_VALUES',
    `assertFiniteField: channel '${field.channels[c] ?? c}' holds ${field.data[i]} at row ${h}, column ${i % W}`,
  );
}

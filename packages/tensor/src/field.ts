import type { Grid } from './grid.js';

/** A dense row-major tensor. */
export interface Tensor<TData extends Float32Array | Float64Array = Float32Array> {
  readonly data: TData;
  readonly shape: readonly number[];
}

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

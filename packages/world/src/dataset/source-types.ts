/** What every stored-array reader (Zarr v2, netCDF classic, netCDF-4) gives: variables' metadata and raw values. */

/** Metadata of one stored variable. */
export interface SourceVariable {
  readonly name: string;
  /** Stored shape, e.g. [2920, 25, 53] for [time, lat, lon]. */
  readonly shape: readonly number[];
  /** Stored element type in numpy spelling: `int16`, `float32`, ... */
  readonly dtype: string;
  /** Dimension names, same length as `shape` (empty strings when the file does not name them). */
  readonly dims: readonly string[];
  /** Attributes (CF conventions: `units`, `scale_factor`, `add_offset`, `_FillValue`, ...). */
  readonly attrs: Readonly<Record<string, unknown>>;
  /** Raw values that mean "missing" (from `_FillValue`, `missing_value` and the Zarr fill value). */
  readonly fillValues: readonly number[];
  /** Chunk length along the first axis; reads aligned to it decode each chunk once. */
  readonly firstAxisChunk: number;
}

/**
 * A stored array file behind one interface: Zarr v2 (blosc and the other numcodecs codecs, through
 * zarrita) netCDF3 (classic and 64-bit offset, through netcdfjs) or netCDF-4 (HDF5, through h5wasm). Values are raw (unscaled).
 */
export interface SourceReader {
  readonly format: 'zarr' | 'netcdf';
  /** Names of the stored variables. */
  names(): Promise<string[]>;
  /** Metadata of a variable, undefined when absent. */
  variable(name: string): Promise<SourceVariable | undefined>;
  /** All values of a variable, row-major. */
  readAll(name: string): Promise<ArrayLike<number>>;
  /** Rows [start, end) of the first axis with every other axis whole, row-major. */
  readSlab(name: string, start: number, end: number): Promise<ArrayLike<number>>;
}

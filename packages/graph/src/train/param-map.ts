import { GraphError } from '../errors.js';

/**
 * Named parameter (or gradient, or optimizer-state) tensors: the representation every training
 * utility in this folder works on, and the one `Graph.initialParams()` returns. Values are flat
 * row-major Float32Arrays (Float64Arrays for float64 parameters); shapes live with the graph that
 * owns the parameters, and only checkpoints need them (see `checkpoint.ts`).
 *
 * A plain object keeps insertion order for string keys, which makes reductions (the global norm)
 * and file layouts deterministic for a given construction order.
 */
export type ParamMap = Record<string, ParamArray>;

/** The element storage of one parameter. */
export type ParamArray = Float32Array | Float64Array;

/** A ParamMap whose entries are not reassigned (the arrays themselves may still be written). */
export type ReadonlyParamMap = Readonly<Record<string, ParamArray>>;

/**
 * Deep-copies a parameter map (fresh arrays, same names and insertion order).
 * @param params - the map to copy
 */
export function cloneParams(params: ReadonlyParamMap): ParamMap {
  const out: ParamMap = {};
  for (const [name, value] of Object.entries(params)) out[name] = value.slice();
  return out;
}

/**
 * A map of zero-filled arrays with the names, lengths and element types of `params`.
 * @param params - the template map
 */
export function zerosLike(params: ReadonlyParamMap): ParamMap {
  const out: ParamMap = {};
  for (const [name, value] of Object.entries(params))
    out[name] =
      value instanceof Float64Array ? new Float64Array(value.length) : new Float32Array(value.length);
  return out;
}

/**
 * Checks that `other` has exactly the names of `params` with arrays of the same lengths, and
 * throws an error naming the first mismatch.
 * @param params - the reference map (usually the parameters)
 * @param other - the map to check (gradients, optimizer state)
 * @param what - how `other` is called in the message, e.g. `'grads'`
 */
export function assertSameLayout(params: ReadonlyParamMap, other: ReadonlyParamMap, what: string): void {
  for (const [name, value] of Object.entries(params)) {
    const o = other[name];
    if (o === undefined)
      throw new GraphError('LAYOUT_MISMATCH', `${what}: missing entry '${name}' (length ${value.length})`);
    if (o.length !== value.length) {
      throw new GraphError(
        'LAYOUT_MISMATCH',
        `${what}: '${name}' has length ${o.length}, the parameter has length ${value.length}`,
      );
    }
  }
  for (const name of Object.keys(other)) {
    if (!(name in params))
      throw new GraphError('LAYOUT_MISMATCH', `${what}: unexpected entry '${name}' that is not a parameter`);
  }
}

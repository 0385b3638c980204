/** Element types the engine supports (ONNX names in lower case). */
export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';

/** A static tensor shape; `[]` is a scalar. */
export type Shape = readonly number[];

/** Typed array that holds the elements of each {@link DType}. */
export interface DTypeArrayMap {
  float32: Float32Array;
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  bool: Uint8Array;
}

/** Any typed array the engine feeds or fetches. */
export type TypedArray = DTypeArrayMap[DType];

/** A symbolic tensor in a graph under construction: its name is the ONNX value name. */
export interface Value {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
}

/** A concrete tensor: row-major data with its shape and dtype. */
export interface TensorData {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly data: TypedArray;
}

/** Attribute values as stored on graph nodes (ints and floats are both `number`; the op schema decides). */
export type AttrValue = number | string | readonly number[];

/** Number of elements of a shape. */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** `[2,3,4]` -> `"[2,3,4]"`, for messages. */
export function fmtShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/** The typed-array constructor that holds a dtype. */
export const ARRAY_OF_DTYPE = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  bool: Uint8Array,
} as const;

/** The dtype whose typed array `a` is; `undefined` for anything else. */
export function dtypeOfArray(a: unknown): DType | undefined {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'bool';
  return undefined;
}

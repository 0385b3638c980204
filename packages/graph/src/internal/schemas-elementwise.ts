import type { InferCtx, OpSchema, OutSpec } from './schema.js';
import { broadcastShapes, inp, nodeError, sameDtype } from './schema.js';
import { fmtShape } from '../types.js';

function broadcastOut(c: InferCtx, floatOnly: boolean): OutSpec {
  const dtype = sameDtype(c, c.inputs, floatOnly);
  const shape = broadcastShapes(c.inputs.map((v) => v.shape));
  if (shape === undefined) {
    throw nodeError(c, 'SHAPE_MISMATCH', `shapes ${c.inputs.map((v) => fmtShape(v.shape)).join(' and ')} do not broadcast`);
  }
  return { dtype, shape };
}

const binary: OpSchema = { attrs: {}, arity: [2, 2], infer: (c) => [broadcastOut(c, true)] };
const unary: OpSchema = {
  attrs: {},
  arity: [1, 1],
  infer: (c) => {
    const x = inp(c, 0);
    sameDtype(c, [x]);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
};
const compare: OpSchema = {
  attrs: {},
  arity: [2, 2],
  infer: (c) => [{ dtype: 'bool', shape: broadcastOut(c, false).shape }],
};

/** Elementwise ops: NumPy broadcasting, one float dtype. */
export const ELEMENTWISE_SCHEMAS: Readonly<Record<string, OpSchema>> = {
  Add: binary,
  Sub: binary,
  Mul: binary,
  Div: binary,
  Pow: binary,
  Neg: unary,
  Sqrt: unary,
  Exp: unary,
  Log: unary,
  Abs: unary,
  Sigmoid: unary,
  Tanh: unary,
  Relu: unary,
  Softplus: unary,
  Sin: unary,
  Cos: unary,
  Sign: unary,
  Identity: {
    attrs: {},
    arity: [1, 1],
    infer: (c) => [{ dtype: inp(c, 0).dtype, shape: inp(c, 0).shape }],
  },
  Sum: { attrs: {}, arity: [1, Infinity], infer: (c) => [broadcastOut(c, true)] },
  Greater: compare,
  Less: compare,
  Equal: compare,
  Where: {
    attrs: {},
    arity: [3, 3],
    infer: (c) => {
      const cond = inp(c, 0);
      if (cond.dtype !== 'bool') throw nodeError(c, 'DTYPE_MISMATCH', `condition must be bool, got ${cond.dtype}`);
      const dtype = sameDtype(c, c.inputs.slice(1), false);
      const shape = broadcastShapes(c.inputs.map((v) => v.shape));
      if (shape === undefined) {
        throw nodeError(c, 'SHAPE_MISMATCH', `shapes ${c.inputs.map((v) => fmtShape(v.shape)).join(', ')} do not broadcast`);
      }
      return [{ dtype, shape }];
    },
  },
  Cast: {
    attrs: { to: 'string' },
    arity: [1, 1],
    infer: (c) => {
      const to = c.attrs['to'];
      if (to !== 'float32' && to !== 'float64' && to !== 'int64' && to !== 'int32' && to !== 'bool') {
        throw nodeError(c, 'INVALID_ATTRIBUTE', `'to' must be a dtype name, got ${String(to)}`);
      }
      return [{ dtype: to, shape: inp(c, 0).shape }];
    },
  },
};

import type { InferCtx, OpSchema } from './schema.js';
import { broadcastShapes, floatAttr, inp, intAttr, intsAttr, nodeError, normAxis, sameDtype, stringAttr, windowOut } from './schema.js';
import { fmtShape } from '../types.js';

function pairs(c: InferCtx, name: string, def: number, n: number): readonly number[] {
  const v = intsAttr(c, name, new Array<number>(n).fill(def));
  if (v.length !== n || v.some((x) => !Number.isInteger(x))) {
    throw nodeError(c, 'INVALID_ATTRIBUTE', `'${name}' must hold ${n} integers, got [${v.join(',')}]`);
  }
  return v;
}

/** Spatial attributes of a 2-D Conv/ConvTranspose/Pool node, with defaults filled in. */
export interface Window2d {
  kernel: readonly number[];
  strides: readonly number[];
  pads: readonly number[];
  dilations: readonly number[];
  group: number;
}

/** Reads and checks the 2-D window attributes of a node. */
export function window2d(c: InferCtx, kernel: readonly number[]): Window2d {
  const strides = pairs(c, 'strides', 1, 2);
  const pads = pairs(c, 'pads', 0, 4);
  const dilations = pairs(c, 'dilations', 1, 2);
  const group = intAttr(c, 'group', 1);
  if (strides.some((s) => s < 1) || dilations.some((d) => d < 1) || pads.some((p) => p < 0) || group < 1) {
    throw nodeError(c, 'INVALID_ATTRIBUTE', `strides/dilations/group must be >= 1 and pads >= 0`);
  }
  const ks = c.attrs['kernel_shape'];
  if (Array.isArray(ks) && (ks[0] !== kernel[0] || ks[1] !== kernel[1])) {
    throw nodeError(c, 'SHAPE_MISMATCH', `kernel_shape [${ks.join(',')}] disagrees with weight kernel ${fmtShape(kernel)}`);
  }
  return { kernel, strides, pads, dilations, group };
}

function spatial(c: InferCtx, h: number, w: number, win: Window2d): [number, number] {
  const [kh = 1, kw = 1] = win.kernel;
  const [sh = 1, sw = 1] = win.strides;
  const [pt = 0, pl = 0, pb = 0, pr = 0] = win.pads;
  const [dh = 1, dw = 1] = win.dilations;
  const ho = windowOut(h, kh, sh, pt, pb, dh);
  const wo = windowOut(w, kw, sw, pl, pr, dw);
  if (ho < 1 || wo < 1) {
    throw nodeError(c, 'SHAPE_MISMATCH', `window ${kh}x${kw} does not fit input ${h}x${w} with pads [${win.pads.join(',')}]`);
  }
  return [ho, wo];
}

function rank4(c: InferCtx, i: number, what: string): readonly number[] {
  const v = inp(c, i);
  if (v.shape.length !== 4) throw nodeError(c, 'SHAPE_MISMATCH', `${what} must be rank 4 [N,C,H,W], got ${fmtShape(v.shape)}`);
  return v.shape;
}

function checkBias(c: InferCtx, channels: number): void {
  const b = c.inputs[2];
  if (b !== undefined && (b.shape.length !== 1 || b.shape[0] !== channels)) {
    throw nodeError(c, 'SHAPE_MISMATCH', `bias must be [${channels}], got ${fmtShape(b.shape)}`);
  }
}

const convAttrs = { kernel_shape: 'ints', strides: 'ints', pads: 'ints', dilations: 'ints', group: 'int' } as const;

/** Output spatial size of a 2-D ConvTranspose along one axis (ONNX formula). */
export function convTransposeOut(n: number, k: number, s: number, pb: number, pe: number, d: number, op: number): number {
  return s * (n - 1) + op + d * (k - 1) + 1 - pb - pe;
}

/** Neural-network and linear-algebra ops. */
export const NN_SCHEMAS: Readonly<Record<string, OpSchema>> = {
  MatMul: {
    attrs: {},
    arity: [2, 2],
    infer: (c) => {
      const dtype = sameDtype(c, c.inputs);
      const a = inp(c, 0).shape;
      const b = inp(c, 1).shape;
      if (a.length < 2 || b.length < 2) throw nodeError(c, 'SHAPE_MISMATCH', 'MatMul needs rank >= 2 operands');
      if (a[a.length - 1] !== b[b.length - 2]) {
        throw nodeError(c, 'SHAPE_MISMATCH', `inner dimensions differ: ${fmtShape(a)} x ${fmtShape(b)}`);
      }
      const batch = broadcastShapes([a.slice(0, -2), b.slice(0, -2)]);
      if (batch === undefined) throw nodeError(c, 'SHAPE_MISMATCH', `batch dimensions do not broadcast: ${fmtShape(a)} x ${fmtShape(b)}`);
      return [{ dtype, shape: [...batch, a[a.length - 2] ?? 0, b[b.length - 1] ?? 0] }];
    },
  },
  Gemm: {
    attrs: { alpha: 'float', beta: 'float', transA: 'int', transB: 'int' },
    arity: [2, 3],
    infer: (c) => {
      const dtype = sameDtype(c, c.inputs);
      const a = inp(c, 0).shape;
      const b = inp(c, 1).shape;
      if (a.length !== 2 || b.length !== 2) throw nodeError(c, 'SHAPE_MISMATCH', 'Gemm needs rank-2 A and B');
      const [m, k] = intAttr(c, 'transA', 0) ? [a[1], a[0]] : [a[0], a[1]];
      const [k2, n] = intAttr(c, 'transB', 0) ? [b[1], b[0]] : [b[0], b[1]];
      if (k !== k2) throw nodeError(c, 'SHAPE_MISMATCH', `inner dimensions differ: ${fmtShape(a)} x ${fmtShape(b)}`);
      const shape = [m ?? 0, n ?? 0];
      const cc = c.inputs[2];
      if (cc !== undefined && broadcastShapes([cc.shape, shape])?.join() !== shape.join()) {
        throw nodeError(c, 'SHAPE_MISMATCH', `C ${fmtShape(cc.shape)} does not broadcast to ${fmtShape(shape)}`);
      }
      floatAttr(c, 'alpha', 1);
      return [{ dtype, shape }];
    },
  },
  Conv: {
    attrs: convAttrs,
    arity: [2, 3],
    infer: (c) => {
      const dtype = sameDtype(c, c.inputs);
      const [n = 0, ch = 0, h = 0, w = 0] = rank4(c, 0, 'input');
      const [m = 0, cg = 0, kh = 0, kw = 0] = rank4(c, 1, 'weight');
      const win = window2d(c, [kh, kw]);
      if (cg * win.group !== ch || m % win.group !== 0) {
        throw nodeError(c, 'SHAPE_MISMATCH', `weight [M,C/group,kh,kw] = ${fmtShape(inp(c, 1).shape)} does not match ${ch} input channels with group ${win.group}`);
      }
      checkBias(c, m);
      const [ho, wo] = spatial(c, h, w, win);
      return [{ dtype, shape: [n, m, ho, wo] }];
    },
  },
  ConvTranspose: {
    attrs: { ...convAttrs, output_padding: 'ints' },
    arity: [2, 3],
    infer: (c) => {
      const dtype = sameDtype(c, c.inputs);
      const [n = 0, ch = 0, h = 0, w = 0] = rank4(c, 0, 'input');
      const [ci = 0, mg = 0, kh = 0, kw = 0] = rank4(c, 1, 'weight');
      const win = window2d(c, [kh, kw]);
      if (ci !== ch || ch % win.group !== 0) {
        throw nodeError(c, 'SHAPE_MISMATCH', `weight [C,M/group,kh,kw] = ${fmtShape(inp(c, 1).shape)} does not match ${ch} input channels with group ${win.group}`);
      }
      const m = mg * win.group;
      checkBias(c, m);
      const op = pairs(c, 'output_padding', 0, 2);
      const ho = convTransposeOut(h, kh, win.strides[0] ?? 1, win.pads[0] ?? 0, win.pads[2] ?? 0, win.dilations[0] ?? 1, op[0] ?? 0);
      const wo = convTransposeOut(w, kw, win.strides[1] ?? 1, win.pads[1] ?? 0, win.pads[3] ?? 0, win.dilations[1] ?? 1, op[1] ?? 0);
      if (ho < 1 || wo < 1) throw nodeError(c, 'SHAPE_MISMATCH', `empty output ${ho}x${wo}`);
      if ((op[0] ?? 0) >= Math.max(win.strides[0] ?? 1, win.dilations[0] ?? 1) || (op[1] ?? 0) >= Math.max(win.strides[1] ?? 1, win.dilations[1] ?? 1)) {
        throw nodeError(c, 'INVALID_ATTRIBUTE', `output_padding [${op.join(',')}] must be smaller than stride or dilation`);
      }
      return [{ dtype, shape: [n, m, ho, wo] }];
    },
  },
  AveragePool: {
    attrs: { kernel_shape: 'ints', strides: 'ints', pads: 'ints', count_include_pad: 'int' },
    arity: [1, 1],
    infer: (c) => {
      const dtype = sameDtype(c, c.inputs);
      const [n = 0, ch = 0, h = 0, w = 0] = rank4(c, 0, 'input');
      const k = intsAttr(c, 'kernel_shape', []);
      if (k.length !== 2) throw nodeError(c, 'INVALID_ATTRIBUTE', `'kernel_shape' must hold 2 integers, got [${k.join(',')}]`);
      const win = window2d(c, k);
      if (c.attrs['dilations'] !== undefined || c.attrs['group'] !== undefined) throw nodeError(c, 'UNKNOWN_ATTRIBUTE', 'AveragePool takes no dilations or group');
      const [ho, wo] = spatial(c, h, w, win);
      return [{ dtype, shape: [n, ch, ho, wo] }];
    },
  },
  Resize: {
    attrs: { scales: 'floats', mode: 'string' },
    arity: [1, 1],
    infer: (c) => {
      const x = inp(c, 0);
      const scales = c.attrs['scales'];
      if (stringAttr(c, 'mode', 'nearest') !== 'nearest') throw nodeError(c, 'INVALID_ATTRIBUTE', `only mode 'nearest' is supported, got '${String(c.attrs['mode'])}'`);
      if (!Array.isArray(scales) || scales.length !== x.shape.length) {
        throw nodeError(c, 'INVALID_ATTRIBUTE', `'scales' must hold ${x.shape.length} numbers`);
      }
      const s = scales as readonly number[];
      return [{ dtype: x.dtype, shape: x.shape.map((d, i) => Math.floor(d * (s[i] ?? 1))) }];
    },
  },
  DepthToSpace: {
    attrs: { blocksize: 'int' },
    arity: [1, 1],
    infer: (c) => {
      const [n = 0, ch = 0, h = 0, w = 0] = rank4(c, 0, 'input');
      const b = intAttr(c, 'blocksize', 0);
      if (b < 1 || ch % (b * b) !== 0) throw nodeError(c, 'INVALID_ATTRIBUTE', `blocksize ${b} must divide channels ${ch} as b*b`);
      return [{ dtype: inp(c, 0).dtype, shape: [n, ch / (b * b), h * b, w * b] }];
    },
  },
  SpaceToDepth: {
    attrs: { blocksize: 'int' },
    arity: [1, 1],
    infer: (c) => {
      const [n = 0, ch = 0, h = 0, w = 0] = rank4(c, 0, 'input');
      const b = intAttr(c, 'blocksize', 0);
      if (b < 1 || h % b !== 0 || w % b !== 0) throw nodeError(c, 'INVALID_ATTRIBUTE', `blocksize ${b} must divide ${h}x${w}`);
      return [{ dtype: inp(c, 0).dtype, shape: [n, ch * b * b, h / b, w / b] }];
    },
  },
  Softmax: {
    attrs: { axis: 'int' },
    arity: [1, 1],
    infer: (c) => {
      const x = inp(c, 0);
      sameDtype(c, [x]);
      normAxis(c, intAttr(c, 'axis', -1), x.shape.length);
      return [{ dtype: x.dtype, shape: x.shape }];
    },
  },
};

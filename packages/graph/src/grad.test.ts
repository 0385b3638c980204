import { afterAll, describe, expect, it } from 'vitest';
import type { CheckBuilder } from './internal/gradcheck.js';
import { GRADCHECK_TOLERANCE, gradCheck } from './internal/gradcheck.js';
import { releaseSessions } from './runtime.js';
import type { Value } from './types.js';

afterAll(releaseSessions);

const pos = { dist: 'uniform', lo: 0.5, hi: 2 } as const;
const away = { dist: 'away' } as const;

/** name -> graph under test; shapes chosen so broadcasting, fan-out and every rule branch are exercised. */
const CASES: Record<string, (c: CheckBuilder) => Value> = {
  'Add broadcasting [2,3,4] + [3,1]': ({ b, input }) => b.add(input('a', [2, 3, 4]), input('c', [3, 1])),
  'Sub broadcasting [3,1] - [2,3,4]': ({ b, input }) => b.sub(input('a', [3, 1]), input('c', [2, 3, 4])),
  'Mul broadcasting [2,1,4] * [3,1]': ({ b, input }) => b.mul(input('a', [2, 1, 4]), input('c', [3, 1])),
  'Div broadcasting [2,3] / [3]': ({ b, input }) => b.div(input('a', [2, 3]), input('c', [3], pos)),
  'Pow broadcasting [2,3] ** [3]': ({ b, input }) => b.pow(input('a', [2, 3], pos), input('c', [3], { dist: 'uniform', lo: -1, hi: 2 })),
  'a value used twice (fan-out) sums its gradients': ({ b, input }) => {
    const x = input('x', [2, 3]);
    return b.add(b.mul(x, x), b.sin(x));
  },
  Neg: ({ b, input }) => b.neg(input('x', [2, 3])),
  Sqrt: ({ b, input }) => b.sqrt(input('x', [2, 3], pos)),
  Exp: ({ b, input }) => b.exp(input('x', [2, 3])),
  Log: ({ b, input }) => b.log(input('x', [2, 3], pos)),
  Abs: ({ b, input }) => b.abs(input('x', [2, 3], away)),
  Sigmoid: ({ b, input }) => b.sigmoid(input('x', [2, 3])),
  Tanh: ({ b, input }) => b.tanh(input('x', [2, 3])),
  Relu: ({ b, input }) => b.relu(input('x', [2, 3], away)),
  Softplus: ({ b, input }) => b.softplus(input('x', [2, 3])),
  Sin: ({ b, input }) => b.sin(input('x', [2, 3])),
  Cos: ({ b, input }) => b.cos(input('x', [2, 3])),
  'SiLU (fused rule)': ({ b, input }) => b.silu(input('x', [2, 3, 4])),
  'Sigmoid shared by SiLU and another use (unfused)': ({ b, input }) => {
    const x = input('x', [2, 3]);
    const s = b.sigmoid(x);
    return b.add(b.mul(x, s), b.mul(s, 3));
  },
  'MatMul batched [2,3,4] x shared [4,5]': ({ b, input }) => b.matmul(input('a', [2, 3, 4]), input('w', [4, 5])),
  'MatMul broadcast batch [2,1,3,4] x [3,4,2]': ({ b, input }) => b.matmul(input('a', [2, 1, 3, 4]), input('w', [3, 4, 2])),
  'Gemm with C broadcast, alpha, beta': ({ b, input }) => b.gemm(input('a', [3, 4]), input('w', [4, 5]), input('c', [5]), { alpha: 0.7, beta: 1.3 }),
  'Gemm transA transB': ({ b, input }) => b.gemm(input('a', [4, 3]), input('w', [5, 4]), input('c', [3, 1]), { transA: true, transB: true }),
  'Gemm transB only': ({ b, input }) => b.gemm(input('a', [3, 4]), input('w', [5, 4]), undefined, { transB: true }),
  'Conv 3x3 pad 1 (x-unfold weight grad) with bias': ({ b, input }) => b.conv(input('x', [2, 3, 5, 6]), input('w', [4, 3, 3, 3]), input('bias', [4]), { pads: 1 }),
  'Conv 3x3 with fewer output channels (dy-unfold weight grad)': ({ b, input }) => b.conv(input('x', [2, 4, 5, 5]), input('w', [2, 4, 3, 3]), undefined, { pads: 1 }),
  'Conv 3x3 with a quarter of the channels out (built as a ConvTranspose of the flipped kernel)': ({ b, input }) =>
    b.conv(input('x', [2, 8, 5, 5]), input('w', [2, 8, 3, 3]), input('bias', [2]), { pads: 1 }),
  'Conv 3x3 a quarter of the channels out, dilation 2, asymmetric pads (as a ConvTranspose)': ({ b, input }) =>
    b.conv(input('x', [1, 4, 7, 6]), input('w', [1, 4, 3, 3]), undefined, { pads: [2, 1, 0, 2], dilations: 2 }),
  'Conv stride 2, asymmetric pads (ConvTranspose input grad)': ({ b, input }) =>
    b.conv(input('x', [2, 3, 7, 6]), input('w', [4, 3, 3, 3]), input('bias', [4]), { pads: [1, 0, 1, 1], strides: 2 }),
  'Conv dilation 2': ({ b, input }) => b.conv(input('x', [1, 2, 7, 7]), input('w', [3, 2, 3, 3]), undefined, { pads: 2, dilations: 2 }),
  'Conv groups 2': ({ b, input }) => b.conv(input('x', [2, 4, 5, 5]), input('w', [6, 2, 3, 3]), undefined, { pads: 1, group: 2 }),
  'Conv depthwise stride 2': ({ b, input }) => b.conv(input('x', [2, 3, 6, 6]), input('w', [3, 1, 3, 3]), undefined, { pads: 1, strides: 2, group: 3 }),
  'Conv 2x2 from 1 channel to 6 (unfold with fewer rows than dy: dy as the row operand)': ({ b, input }) =>
    b.conv(input('x', [2, 1, 4, 5]), input('w', [6, 1, 2, 2]), undefined, { pads: [1, 0, 0, 1] }),
  'Conv 1x1 (reshape-only weight grad)': ({ b, input }) => b.conv(input('x', [2, 5, 3, 4]), input('w', [3, 5, 1, 1]), input('bias', [3])),
  'Conv pad larger than kernel reach (fallback input grad)': ({ b, input }) => b.conv(input('x', [1, 2, 4, 4]), input('w', [2, 2, 2, 2]), undefined, { pads: 2 }),
  'Conv with periodic longitude padding': ({ b, input }) => {
    const x = input('x', [2, 2, 4, 6]);
    return b.conv(b.padPeriodic(x, 3, 1, 1), input('w', [3, 2, 3, 3]), undefined, { pads: [1, 0, 1, 0] });
  },
  'ConvTranspose stride 2 output_padding 1 with bias': ({ b, input }) =>
    b.convTranspose(input('x', [2, 4, 3, 3]), input('w', [4, 3, 3, 3]), input('bias', [3]), { strides: 2, pads: 1, outputPadding: 1 }),
  'ConvTranspose groups 2': ({ b, input }) => b.convTranspose(input('x', [1, 4, 3, 3]), input('w', [4, 1, 2, 2]), undefined, { strides: 2, group: 2 }),
  'Resize nearest x2': ({ b, input }) => b.upsampleNearest(input('x', [2, 3, 3, 4])),
  'Resize x2 then Conv 3x3 pad 1 (folded into a stride-2 ConvTranspose) with bias': ({ b, input }) =>
    b.conv(b.upsampleNearest(input('x', [2, 3, 3, 4])), input('w', [4, 3, 3, 3]), input('bias', [4]), { pads: 1 }),
  'Resize x2 read by a folded Conv and another op (Resize kept)': ({ b, input }) => {
    const u = b.upsampleNearest(input('x', [2, 3, 3, 4]));
    return b.add(b.conv(u, input('w', [2, 3, 3, 3]), undefined, { pads: 1 }), b.reduceSum(u, [1], true));
  },
  DepthToSpace: ({ b, input }) => b.depthToSpace(input('x', [1, 8, 2, 3]), 2),
  SpaceToDepth: ({ b, input }) => b.spaceToDepth(input('x', [1, 2, 4, 2]), 2),
  'AveragePool 2x2 stride 2': ({ b, input }) => b.averagePool(input('x', [2, 3, 4, 6]), 2, { strides: 2 }),
  'AveragePool 3x3 stride 2 pad 1': ({ b, input }) => b.averagePool(input('x', [1, 2, 5, 6]), 3, { strides: 2, pads: 1 }),
  Reshape: ({ b, input }) => b.reshape(input('x', [2, 3, 4]), [4, -1]),
  Transpose: ({ b, input }) => b.transpose(input('x', [2, 3, 4]), [2, 0, 1]),
  Concat: ({ b, input }) => b.concat([input('a', [2, 3]), input('c', [2, 1]), input('d', [2, 2])], 1),
  'Slice step 1 with negative start': ({ b, input }) => b.slice(input('x', [3, 5]), [1, -4], [3, 4], [0, 1]),
  'Slice step 2 and step -2': ({ b, input }) => b.slice(input('x', [5, 7]), [0, 6], [5, 0], [0, 1], [2, -2]),
  'Slice reversed (step -1)': ({ b, input }) => b.slice(input('x', [2, 4]), [-1], [-Number.MAX_SAFE_INTEGER], [1], [-1]),
  'Split with one piece unused': ({ b, input }) => {
    const [p, , r] = b.split(input('x', [2, 6]), [1, 2, 3], 1);
    return b.add(b.reduceSum(p as Value, [1], true), r as Value);
  },
  'Gather with repeated indices': ({ b, input }) => b.gather(input('x', [2, 4, 3]), b.constant(BigInt64Array.of(0n, 2n, 0n, -1n), [2, 2]), 1),
  Unsqueeze: ({ b, input }) => b.unsqueeze(input('x', [2, 3]), [0, 3]),
  Squeeze: ({ b, input }) => b.squeeze(input('x', [2, 1, 3, 1]), [1]),
  'Expand [3,1] to [2,3,4]': ({ b, input }) => b.expand(input('x', [3, 1]), [2, 3, 4]),
  'ReduceSum over axis 1': ({ b, input }) => b.reduceSum(input('x', [2, 3, 4]), [1]),
  'ReduceMean over axes 0,2 keepdims': ({ b, input }) => b.reduceMean(input('x', [2, 3, 4]), [0, 2], true),
  'ReduceMean over all axes': ({ b, input }) => b.reduceMean(input('x', [2, 3])),
  'Softmax axis 1': ({ b, input }) => b.softmax(input('x', [2, 4, 3]), 1),
  'Where with broadcast branches': ({ b, input }) => {
    const cond = b.greater(input('k', [2, 3], undefined, false), 0);
    return b.where(cond, input('a', [2, 3]), input('c', [3]));
  },
  'Cast to float64 and back': ({ b, input }) => b.cast(b.mul(b.cast(input('x', [2, 3]), 'float64'), 2), 'float32'),
  'Pad with zeros': ({ b, input }) => b.pad(input('x', [2, 3]), [1, 0, 0, 2]),
};

describe(`gradients against central differences (float32, eps ${GRADCHECK_TOLERANCE.eps}, |fd-ad| <= ${GRADCHECK_TOLERANCE.atol} + ${GRADCHECK_TOLERANCE.rtol}*max|.|)`, () => {
  let seed = 100;
  for (const [name, define] of Object.entries(CASES)) {
    const s = seed++;
    it(`${name}: reverse mode matches finite differences`, async () => {
      const r = await gradCheck(define, s);
      expect(r.checked).toBeGreaterThan(0);
      expect(r.worst.excess, JSON.stringify(r.worst)).toBeLessThanOrEqual(0);
    });
  }
});

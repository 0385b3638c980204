import type { GradRule } from './grad-rule.js';
import { g0, sumTo, xi } from './grad-rule.js';
import { CONV_GRADS } from './grad-rules-conv.js';
import { ELEMENTWISE_GRADS } from './grad-rules-elementwise.js';
import { SHAPE_GRADS } from './grad-rules-shape.js';

const swapLast = (r: number): number[] => [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];

/** Gradient rules of the linear-algebra ops. */
const LINALG_GRADS: Readonly<Record<string, GradRule>> = {
  MatMul: (c) => {
    const { b } = c;
    const [a, w, g] = [xi(c, 0), xi(c, 1), g0(c)];
    const ra = a.shape.length;
    const rw = w.shape.length;
    const ga = c.needs[0] ? sumTo(b, b.matmul(g, b.transpose(w, swapLast(rw))), a.shape) : undefined;
    let gw;
    if (c.needs[1]) {
      if (rw === 2 && ra > 2) {
        // Shared weight: fold the batch into the rows, one [K, rows] x [rows, N] product.
        const k = a.shape[ra - 1] ?? 0;
        const n = w.shape[1] ?? 0;
        gw = b.matmul(b.transpose(b.reshape(a, [-1, k]), [1, 0]), b.reshape(g, [-1, n]));
      } else {
        gw = sumTo(b, b.matmul(b.transpose(a, swapLast(ra)), g), w.shape);
      }
    }
    return [ga, gw];
  },
  Gemm: (c) => {
    const { b } = c;
    const [a, w, g] = [xi(c, 0), xi(c, 1), g0(c)];
    const alpha = (c.attrs['alpha'] as number | undefined) ?? 1;
    const beta = (c.attrs['beta'] as number | undefined) ?? 1;
    const ta = c.attrs['transA'] === 1;
    const tb = c.attrs['transB'] === 1;
    // op(A) = ta ? A^T : A; dL/dop(A) = alpha g op(B)^T, dL/dop(B) = alpha op(A)^T g.
    const ga = !c.needs[0] ? undefined : ta ? b.gemm(w, g, undefined, { alpha, transA: tb, transB: true }) : b.gemm(g, w, undefined, { alpha, transB: !tb });
    const gw = !c.needs[1] ? undefined : tb ? b.gemm(g, a, undefined, { alpha, transA: true, transB: ta }) : b.gemm(a, g, undefined, { alpha, transA: !ta });
    const cc = c.x[2];
    const gc = c.needs[2] && cc !== undefined ? sumTo(b, beta === 1 ? g : b.mul(g, beta), cc.shape) : undefined;
    return [ga, gw, gc];
  },
  Softmax: (c) => {
    const { b } = c;
    const [g, y] = [g0(c), c.y[0]];
    if (y === undefined) return [];
    const axis = (c.attrs['axis'] as number | undefined) ?? -1;
    const r = y.shape.length;
    const gy = b.mul(g, y);
    return [b.sub(gy, b.mul(y, b.reduceSum(gy, [(axis + r) % r], true)))];
  },
};

/** Every gradient rule, by op type. Ops without a rule (comparisons, ScatterElements) are not differentiable. */
export const GRAD_RULES: Readonly<Record<string, GradRule>> = { ...ELEMENTWISE_GRADS, ...SHAPE_GRADS, ...CONV_GRADS, ...LINALG_GRADS };

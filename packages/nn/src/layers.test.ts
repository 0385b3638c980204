import { GraphBuilder, releaseSessions } from '@alignda/graph';
import type { Value } from '@alignda/graph';
import { afterAll, describe, expect, it } from 'vitest';
import { attention, conv2d, groupNorm, resBlock, sinusoidalEmbedding, upsample } from './layers.js';
import type { Ctx } from './layers.js';
import { randn, run } from './internal/testing.js';
import type { Arrays } from './internal/testing.js';

afterAll(async () => {
  await releaseSessions();
});

// Independent float64 references on row-major arrays.
type A = ArrayLike<number>;
const at = (a: A, i: number): number => a[i] as number;

function refConv(
  x: A,
  [n, ci, h, w]: readonly [number, number, number, number],
  wt: A,
  bias: A,
  co: number,
  k: number,
  s: number,
): Float64Array {
  const p = (k - 1) / 2;
  const ho = Math.floor((h + 2 * p - k) / s) + 1;
  const wo = Math.floor((w + 2 * p - k) / s) + 1;
  const out = new Float64Array(n * co * ho * wo);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < co; o++)
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++) {
          let acc = at(bias, o);
          for (let c = 0; c < ci; c++)
            for (let di = 0; di < k; di++)
              for (let dj = 0; dj < k; dj++) {
                const r = i * s + di - p;
                if (r < 0 || r >= h) continue; // zero padding in latitude
                const q = (((j * s + dj - p) % w) + w) % w; // periodic in longitude
                acc += at(wt, ((o * ci + c) * k + di) * k + dj) * at(x, ((b * ci + c) * h + r) * w + q);
              }
          out[((b * co + o) * ho + i) * wo + j] = acc;
        }
  return out;
}

function refGroupNorm(
  x: A,
  [n, c, ...sp]: readonly [number, number, ...number[]],
  groups: number,
  g: A,
  beta: A,
  eps = 1e-5,
): Float64Array {
  const hw = sp.reduce((a, d) => a * d, 1);
  const len = (c / groups) * hw;
  const out = new Float64Array(n * c * hw);
  for (let b = 0; b < n; b++)
    for (let gr = 0; gr < groups; gr++) {
      const off = (b * groups + gr) * len;
      let m = 0;
      for (let i = 0; i < len; i++) m += at(x, off + i);
      m /= len;
      let v = 0;
      for (let i = 0; i < len; i++) v += (at(x, off + i) - m) ** 2;
      v /= len;
      for (let i = 0; i < len; i++) {
        const ch = gr * (c / groups) + Math.floor(i / hw);
        out[off + i] = ((at(x, off + i) - m) / Math.sqrt(v + eps)) * at(g, ch) + at(beta, ch);
      }
    }
  return out;
}

/** y = x W + b on the last axis; x [rows, din]. */
function refLinear(x: A, rows: number, din: number, wt: A, bias: A, dout: number): Float64Array {
  const out = new Float64Array(rows * dout);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < dout; o++) {
      let acc = at(bias, o);
      for (let i = 0; i < din; i++) acc += at(x, r * din + i) * at(wt, i * dout + o);
      out[r * dout + o] = acc;
    }
  return out;
}

function refAttention(
  xq: A,
  xkv: A,
  n: number,
  tq: number,
  tk: number,
  d: number,
  dk: number,
  heads: number,
  p: Arrays,
  name: string,
): Float64Array {
  const get = (s: string): Float32Array => p[`${name}.${s}`] as Float32Array;
  const q = refLinear(xq, n * tq, d, get('q.w'), get('q.b'), d);
  const k = refLinear(xkv, n * tk, dk, get('k.w'), get('k.b'), d);
  const v = refLinear(xkv, n * tk, dk, get('v.w'), get('v.b'), d);
  const dh = d / heads;
  const o = new Float64Array(n * tq * d);
  for (let b = 0; b < n; b++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < tq; i++) {
        const sc = Array.from({ length: tk }, (_, j) => {
          let s = 0;
          for (let e = 0; e < dh; e++)
            s += at(q, (b * tq + i) * d + h * dh + e) * at(k, (b * tk + j) * d + h * dh + e);
          return s / Math.sqrt(dh);
        });
        const mx = Math.max(...sc);
        const ex = sc.map((s) => Math.exp(s - mx));
        const z = ex.reduce((a, e) => a + e, 0);
        for (let e = 0; e < dh; e++) {
          let acc = 0;
          for (let j = 0; j < tk; j++) acc += (at(ex, j) / z) * at(v, (b * tk + j) * d + h * dh + e);
          o[(b * tq + i) * d + h * dh + e] = acc;
        }
      }
  return refLinear(o, n * tq, d, get('o.w'), get('o.b'), d);
}

function maxAbsDiff(a: A, b: A): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(at(a, i) - at(b, i)));
  return m;
}

/** Builds a one-output graph, feeds random inputs and random (not initial) parameters. */
async function forward(
  shapes: Record<string, number[]>,
  define: (c: Ctx, xs: Record<string, Value>) => Value,
  seed = 1,
) {
  const b = new GraphBuilder({ name: 'layer', seed });
  const c: Ctx = { b, seed };
  const xs: Record<string, Value> = {};
  for (const [k, s] of Object.entries(shapes)) xs[k] = b.input(k, 'float32', s);
  b.output(define(c, xs), 'y');
  const g = b.build();
  const feeds: Arrays = {};
  let s = seed * 100;
  for (const v of [...g.inputs, ...g.params])
    feeds[v.name] = randn(
      s++,
      v.shape.reduce((a, d) => a * d, 1),
      0.5,
    );
  const y = (await run(g, feeds)).y as Float32Array;
  return { y, feeds, shape: g.outputs[0]?.shape ?? [] };
}

describe('layers match float64 references', () => {
  it('conv2d pads periodically in longitude and with zeros in latitude, stride 1 and 2', async () => {
    for (const [stride, shape] of [
      [1, [2, 3, 5, 8]],
      [2, [2, 3, 6, 8]],
    ] as const) {
      const {
        y,
        feeds,
        shape: ys,
      } = await forward({ x: [...shape] }, (c, { x }) => conv2d(c, 'c', x as Value, 4, { stride }));
      expect(ys).toEqual([2, 4, shape[2] / stride, 8 / stride]);
      const ref = refConv(
        feeds.x as Float32Array,
        [...shape],
        feeds['c.w'] as Float32Array,
        feeds['c.b'] as Float32Array,
        4,
        3,
        stride,
      );
      expect(maxAbsDiff(y, ref)).toBeLessThan(1e-5);
    }
  });

  it('conv2d commutes with a circular shift in longitude (no seam)', async () => {
    const [n, ci, h, w, co, shift] = [1, 2, 4, 8, 3, 3];
    const b = new GraphBuilder({ name: 'layer', seed: 7 });
    b.output(conv2d({ b, seed: 7 }, 'c', b.input('x', 'float32', [n, ci, h, w]), co), 'y');
    const g = b.build();
    const x = randn(5, n * ci * h * w);
    const xs = new Float32Array(x.length);
    for (let r = 0; r < ci * h; r++)
      for (let j = 0; j < w; j++) xs[r * w + ((j + shift) % w)] = x[r * w + j] as number;
    const params = { 'c.w': randn(6, co * ci * 9), 'c.b': randn(8, co) };
    const y0 = (await run(g, { x, ...params })).y as Float32Array;
    const y1 = (await run(g, { x: xs, ...params })).y as Float32Array;
    let m = 0;
    for (let r = 0; r < co * h; r++)
      for (let j = 0; j < w; j++)
        m = Math.max(m, Math.abs((y1[r * w + ((j + shift) % w)] as number) - (y0[r * w + j] as number)));
    expect(m).toBeLessThan(1e-5);
  });

  it('upsample is nearest x2 then a 3x3 conv with periodic padding in longitude and zeros in latitude', async () => {
    const [n, ci, h, w, co] = [2, 3, 3, 4, 2];
    const { y, feeds, shape } = await forward({ x: [n, ci, h, w] }, (c, { x }) =>
      upsample(c, 'u', x as Value, co),
    );
    expect(shape).toEqual([n, co, 2 * h, 2 * w]);
    const x = feeds.x as Float32Array;
    const up = new Float64Array(n * ci * 4 * h * w);
    for (let r = 0; r < n * ci; r++)
      for (let i = 0; i < 2 * h; i++)
        for (let j = 0; j < 2 * w; j++)
          up[(r * 2 * h + i) * 2 * w + j] = at(x, (r * h + (i >> 1)) * w + (j >> 1));
    const ref = refConv(
      up,
      [n, ci, 2 * h, 2 * w],
      feeds['u.w'] as Float32Array,
      feeds['u.b'] as Float32Array,
      co,
      3,
      1,
    );
    expect(maxAbsDiff(y, ref)).toBeLessThan(1e-5);
  });

  it('groupNorm normalises each group of channels over channels and pixels, then applies the affine', async () => {
    const shape: [number, number, number, number] = [2, 6, 3, 4];
    const { y, feeds } = await forward({ x: shape }, (c, { x }) => groupNorm(c, 'gn', x as Value, 3));
    const ref = refGroupNorm(
      feeds.x as Float32Array,
      shape,
      3,
      feeds['gn.g'] as Float32Array,
      feeds['gn.b'] as Float32Array,
    );
    expect(maxAbsDiff(y, ref)).toBeLessThan(1e-5);
  });

  it('multi-head self-attention matches softmax(QK^T/sqrt(dh))V per head', async () => {
    const [n, t, d, heads] = [2, 5, 6, 3];
    const { y, feeds } = await forward({ x: [n, t, d] }, (c, { x }) =>
      attention(c, 'a', x as Value, x as Value, heads),
    );
    const ref = refAttention(
      feeds.x as Float32Array,
      feeds.x as Float32Array,
      n,
      t,
      t,
      d,
      d,
      heads,
      feeds,
      'a',
    );
    expect(maxAbsDiff(y, ref)).toBeLessThan(1e-5);
  });

  it('multi-head cross-attention takes keys and values from the context tokens', async () => {
    const [n, tq, tk, d, dk, heads] = [2, 4, 3, 4, 6, 2];
    const { y, feeds } = await forward({ q: [n, tq, d], kv: [n, tk, dk] }, (c, { q, kv }) =>
      attention(c, 'a', q as Value, kv as Value, heads),
    );
    const ref = refAttention(
      feeds.q as Float32Array,
      feeds.kv as Float32Array,
      n,
      tq,
      tk,
      d,
      dk,
      heads,
      feeds,
      'a',
    );
    expect(maxAbsDiff(y, ref)).toBeLessThan(1e-5);
  });

  it('sinusoidal embedding is [sin(1000 t f_i), cos(1000 t f_i)] with f_i = 10000^(-i/half)', async () => {
    const { y, feeds } = await forward({ t: [3] }, (c, { t }) => sinusoidalEmbedding(c, t as Value, 8));
    const t = feeds.t as Float32Array;
    const ref = new Float64Array(24);
    for (let b = 0; b < 3; b++)
      for (let i = 0; i < 4; i++) {
        const a = 1000 * (t[b] as number) * Math.pow(10000, -i / 4);
        ref[b * 8 + i] = Math.sin(a);
        ref[b * 8 + 4 + i] = Math.cos(a);
      }
    // float32 arguments up to ~1000 rad carry ~1e-4 rad of rounding.
    expect(maxAbsDiff(y, ref)).toBeLessThan(3e-4);
  });

  it('a time-conditioned residual block with a width change matches its float64 composition', async () => {
    const [n, ci, h, w, co, e, groups] = [2, 4, 3, 4, 6, 5, 2];
    const { y, feeds } = await forward({ x: [n, ci, h, w], temb: [n, e] }, (c, { x, temb }) =>
      resBlock(c, 'r', x as Value, co, groups, temb),
    );
    const f = (k: string): Float32Array => feeds[k] as Float32Array;
    const silu = (a: Float64Array): Float64Array => a.map((v) => v / (1 + Math.exp(-v)));
    let hh = refConv(
      silu(refGroupNorm(f('x'), [n, ci, h, w], groups, f('r.norm1.g'), f('r.norm1.b'))),
      [n, ci, h, w],
      f('r.conv1.w'),
      f('r.conv1.b'),
      co,
      3,
      1,
    );
    const te = refLinear(silu(Float64Array.from(f('temb'))), n, e, f('r.temb.w'), f('r.temb.b'), co);
    hh = hh.map((v, i) => v + at(te, Math.floor(i / (h * w))));
    hh = refConv(
      silu(refGroupNorm(hh, [n, co, h, w], groups, f('r.norm2.g'), f('r.norm2.b'))),
      [n, co, h, w],
      f('r.conv2.w'),
      f('r.conv2.b'),
      co,
      3,
      1,
    );
    const skip = refConv(f('x'), [n, ci, h, w], f('r.skip.w'), f('r.skip.b'), co, 1, 1);
    expect(
      maxAbsDiff(
        y,
        hh.map((v, i) => v + at(skip, i)),
      ),
    ).toBeLessThan(2e-5);
  });
});

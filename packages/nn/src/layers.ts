/**
 * Layers as graph builders: each function appends ops to a `GraphBuilder` and declares its parameters under
 * `name` (e.g. `enc.res0.conv1.w`). Parameters draw their initial values from a seed derived from the model
 * seed and the parameter name ({@link paramSeed}), so every graph that holds a parameter (training, encode,
 * decode, DPS) starts from the same value. Fields are `[N, C, H, W]` with W the periodic longitude axis.
 */
import { AppError } from '@alignda/errors';
import type { GraphBuilder, ParamInit, Value } from '@alignda/graph';

/**
 * A stable 32-bit seed for parameter `name` of a model seeded with `seed` (FNV-1a over the name, mixed with
 * the seed), so a parameter's initial value does not depend on which graph declares it or in what order.
 */
export function paramSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed | 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** Builder plus model seed: what every layer needs to declare parameters. */
export interface Ctx {
  readonly b: GraphBuilder;
  /** Model seed; parameter `p` is drawn from `paramSeed(seed, p)`. */
  readonly seed: number;
  /**
   * When present, parameters already declared through this map are reused (weight sharing, e.g. an unrolled
   * emulator); otherwise declaring a name twice is an error of the builder. @defaultValue undefined
   */
  readonly shared?: Map<string, Value>;
}

/** Declares parameter `name` (float32) with a name-derived seed, or returns it from `c.shared`. */
export function param(c: Ctx, name: string, shape: readonly number[], init: ParamInit): Value {
  const hit = c.shared?.get(name);
  if (hit !== undefined) {
    if (hit.shape.join() !== shape.join()) {
      throw new AppError(
        'INVALID_ARGUMENT',
        `param '${name}': shared with shape [${hit.shape.join(',')}], requested [${shape.join(',')}]`,
      );
    }
    return hit;
  }
  const v = c.b.param(name, shape, init, { seed: paramSeed(c.seed, name) });
  c.shared?.set(name, v);
  return v;
}

/** Options of {@link conv2d}. */
export interface ConvOptions {
  /** Square kernel size (odd). @defaultValue 3 */
  readonly kernel?: number;
  /** Stride in both axes. @defaultValue 1 */
  readonly stride?: number;
  /** Adds a bias. @defaultValue true */
  readonly bias?: boolean;
  /** Initial weights; `zeros` makes a block start as the identity of its residual path. @defaultValue kaiming (gain sqrt 2) */
  readonly init?: ParamInit;
}

/**
 * 2-D convolution on the sphere-like grid: circular padding in longitude (W, axis 3) via
 * `padPeriodic`, zero padding in latitude (H). Weight `${name}.w` `[cout, cin, k, k]`, bias `${name}.b` `[cout]`.
 * With stride s, output `[N, cout, ceil(H/s), W/s]` for W divisible by s and odd k.
 */
export function conv2d(c: Ctx, name: string, x: Value, cout: number, o: ConvOptions = {}): Value {
  const k = o.kernel ?? 3;
  const p = (k - 1) / 2;
  const cin = x.shape[1] ?? 0;
  const w = param(c, `${name}.w`, [cout, cin, k, k], o.init ?? { kind: 'kaiming' });
  const bias = (o.bias ?? true) ? param(c, `${name}.b`, [cout], { kind: 'zeros' }) : undefined;
  const xp = c.b.padPeriodic(x, 3, p, p); // [N, cin, H, W + 2p]
  return c.b.conv(xp, w, bias, { pads: [p, 0, p, 0], strides: o.stride ?? 1 }); // [N, cout, H/s, W/s]
}

/** SiLU (swish): x * sigmoid(x); the engine differentiates it with the fused rule. */
export function silu(c: Ctx, x: Value): Value {
  return c.b.silu(x);
}

/**
 * Group normalisation (Wu & He, ECCV 2018): per sample and group of C/G channels, subtract the mean and divide by
 * sqrt(var + eps) over the group's channels and pixels, then a per-channel affine `${name}.g` (ones), `${name}.b` (zeros).
 * @param x - `[N, C, ...spatial]`, C divisible by `groups`
 */
export function groupNorm(c: Ctx, name: string, x: Value, groups: number, eps = 1e-5): Value {
  const { b } = c;
  const [n, ch] = [x.shape[0] ?? 0, x.shape[1] ?? 0];
  if (ch % groups !== 0)
    throw new AppError(
      'INVALID_ARGUMENT',
      `groupNorm '${name}': ${ch} channels not divisible by ${groups} groups`,
    );
  const spatial = x.shape.slice(2);
  const xg = b.reshape(x, [n, groups, -1]); // [N, G, C/G * prod(spatial)]
  const d = b.sub(xg, b.reduceMean(xg, [2], true)); // [N, G, L]
  const v = b.reduceMean(b.mul(d, d), [2], true); // [N, G, 1]
  const y = b.reshape(b.div(d, b.sqrt(b.add(v, eps))), x.shape); // [N, C, ...spatial]
  const bshape = [ch, ...spatial.map(() => 1)];
  const g = b.reshape(param(c, `${name}.g`, [ch], { kind: 'ones' }), bshape); // [C, 1, 1]
  const beta = b.reshape(param(c, `${name}.b`, [ch], { kind: 'zeros' }), bshape); // [C, 1, 1]
  return b.add(b.mul(y, g), beta);
}

/** Dense layer on the last axis: `x [..., din] -> [..., dout]`, weight `${name}.w` `[din, dout]`, bias `${name}.b`. */
export function linear(
  c: Ctx,
  name: string,
  x: Value,
  dout: number,
  init: ParamInit = { kind: 'xavier' },
): Value {
  const din = x.shape[x.shape.length - 1] ?? 0;
  const w = param(c, `${name}.w`, [din, dout], init);
  return c.b.add(c.b.matmul(x, w), param(c, `${name}.b`, [dout], { kind: 'zeros' })); // [..., dout]
}

/**
 * Sinusoidal embedding of a scalar per batch element (Vaswani et al. 2017, section 3.5, as used for diffusion
 * time by Ho et al. 2020): `[sin(s t f_i), cos(s t f_i)]`, `f_i = maxPeriod^(-i/half)`, i < half = dim/2.
 * @param t - `[N]`
 * @param scale - s; 1000 maps t in [0, 1] onto the step range the frequencies were designed for
 * @returns `[N, dim]`
 */
export function sinusoidalEmbedding(c: Ctx, t: Value, dim: number, scale = 1000, maxPeriod = 10000): Value {
  const { b } = c;
  const half = dim / 2;
  if (!Number.isInteger(half))
    throw new AppError('INVALID_ARGUMENT', `sinusoidalEmbedding: dim ${dim} must be even`);
  const freqs = Float32Array.from(
    { length: half },
    (_, i) => scale * Math.exp((-Math.log(maxPeriod) * i) / half),
  );
  const arg = b.mul(b.unsqueeze(t, [1]), b.constant(freqs, [1, half])); // [N, half]
  return b.concat([b.sin(arg), b.cos(arg)], 1); // [N, dim]
}

/** Time embedding: sinusoid(t) -> linear -> SiLU -> linear, `[N] -> [N, dim]` (`${name}.fc1`, `${name}.fc2`). */
export function timeEmbedding(c: Ctx, name: string, t: Value, dim: number, sinDim = dim): Value {
  const e = sinusoidalEmbedding(c, t, sinDim); // [N, sinDim]
  return linear(c, `${name}.fc2`, silu(c, linear(c, `${name}.fc1`, e, dim)), dim); // [N, dim]
}

/**
 * Multi-head scaled dot-product attention (Vaswani et al. 2017, eq. 1): queries from `xq`, keys and values from
 * `xkv` (the same value for self-attention). Projections `${name}.q|k|v|o` are `[D, D]` dense layers.
 * @param xq - `[N, Tq, D]`; @param xkv - `[N, Tk, Dk]`; D divisible by `heads`
 * @returns `[N, Tq, D]`
 */
export function attention(c: Ctx, name: string, xq: Value, xkv: Value, heads: number): Value {
  const { b } = c;
  const [n, tq, d] = [xq.shape[0] ?? 0, xq.shape[1] ?? 0, xq.shape[2] ?? 0];
  const tk = xkv.shape[1] ?? 0;
  if (d % heads !== 0)
    throw new AppError('INVALID_ARGUMENT', `attention '${name}': width ${d} not divisible by ${heads} heads`);
  const dh = d / heads;
  const q = b.reshape(linear(c, `${name}.q`, xq, d), [n, tq, heads, dh]); // [N, Tq, h, dh]
  const k = b.reshape(linear(c, `${name}.k`, xkv, d), [n, tk, heads, dh]); // [N, Tk, h, dh]
  const v = b.reshape(linear(c, `${name}.v`, xkv, d), [n, tk, heads, dh]); // [N, Tk, h, dh]
  const qh = b.transpose(q, [0, 2, 1, 3]); // [N, h, Tq, dh]
  const kh = b.transpose(k, [0, 2, 3, 1]); // [N, h, dh, Tk]
  const vh = b.transpose(v, [0, 2, 1, 3]); // [N, h, Tk, dh]
  const att = b.softmax(b.mul(b.matmul(qh, kh), 1 / Math.sqrt(dh)), -1); // [N, h, Tq, Tk]
  const o = b.transpose(b.matmul(att, vh), [0, 2, 1, 3]); // [N, Tq, h, dh]
  return linear(c, `${name}.o`, b.reshape(o, [n, tq, d]), d); // [N, Tq, D]
}

/** `[N, C, H, W] -> [N, H*W, C]` tokens in row-major pixel order. */
export function toTokens(c: Ctx, x: Value): Value {
  const [n, ch] = [x.shape[0] ?? 0, x.shape[1] ?? 0];
  return c.b.transpose(c.b.reshape(x, [n, ch, -1]), [0, 2, 1]); // [N, HW, C]
}

/** Inverse of {@link toTokens}: `[N, H*W, C] -> [N, C, H, W]`. */
export function fromTokens(c: Ctx, t: Value, h: number, w: number): Value {
  const [n, ch] = [t.shape[0] ?? 0, t.shape[2] ?? 0];
  return c.b.reshape(c.b.transpose(t, [0, 2, 1]), [n, ch, h, w]); // [N, C, H, W]
}

/**
 * Pre-norm attention block with a residual: `x + attn(GN(x) tokens, context tokens)`. Self-attention when
 * `context` is omitted; cross-attention to `context` tokens `[N, Tk, Dk]` otherwise (normalised by the caller).
 * @param x - `[N, C, H, W]`; @returns `[N, C, H, W]`
 */
export function attentionBlock(
  c: Ctx,
  name: string,
  x: Value,
  heads: number,
  groups: number,
  context?: Value,
): Value {
  const [h, w] = [x.shape[2] ?? 0, x.shape[3] ?? 0];
  const q = toTokens(c, groupNorm(c, `${name}.norm`, x, groups)); // [N, HW, C]
  const a = attention(c, `${name}.attn`, q, context ?? q, heads); // [N, HW, C]
  return c.b.add(x, fromTokens(c, a, h, w)); // [N, C, H, W]
}

/**
 * Residual block (Ho et al. 2020's U-Net block): `skip(x) + conv2(SiLU(GN(conv1(SiLU(GN(x))) + proj(temb))))`,
 * with periodic 3x3 convs; `skip` is a 1x1 conv when the width changes. `conv2` starts at zero so the block
 * starts as its skip path.
 * @param x - `[N, cin, H, W]`; @param temb - `[N, E]` time embedding or undefined; @returns `[N, cout, H, W]`
 */
export function resBlock(c: Ctx, name: string, x: Value, cout: number, groups: number, temb?: Value): Value {
  const { b } = c;
  const cin = x.shape[1] ?? 0;
  let h = conv2d(c, `${name}.conv1`, silu(c, groupNorm(c, `${name}.norm1`, x, groups)), cout); // [N, cout, H, W]
  if (temb !== undefined) {
    const e = linear(c, `${name}.temb`, silu(c, temb), cout); // [N, cout]
    h = b.add(h, b.unsqueeze(e, [2, 3])); // [N, cout, H, W]
  }
  h = conv2d(c, `${name}.conv2`, silu(c, groupNorm(c, `${name}.norm2`, h, groups)), cout, {
    init: { kind: 'zeros' },
  });
  const skip = cin === cout ? x : conv2d(c, `${name}.skip`, x, cout, { kernel: 1 }); // [N, cout, H, W]
  return b.add(skip, h);
}

/**
 * Nearest x2 upsampling then a periodic 3x3 conv: `[N, C, H, W] -> [N, cout, 2H, 2W]`. Written as periodic padding
 * of the *low-resolution* input by one column, Resize, a plain pads-1 conv and a crop of the two extra columns each
 * side: the same values as padding the upsampled field, in the Resize -> Conv3x3(pads 1) form that the engine can
 * fold into one stride-2 transposed conv (4/9 of the FLOPs). Weight `${name}.w` `[cout, C, 3, 3]`, bias `${name}.b`.
 */
export function upsample(c: Ctx, name: string, x: Value, cout: number): Value {
  const { b } = c;
  const w2 = 2 * (x.shape[3] ?? 0);
  const w = param(c, `${name}.w`, [cout, x.shape[1] ?? 0, 3, 3], { kind: 'kaiming' });
  const bias = param(c, `${name}.b`, [cout], { kind: 'zeros' });
  const u = b.upsampleNearest(b.padPeriodic(x, 3, 1, 1), 2); // [N, C, 2H, 2W + 4]
  const y = b.conv(u, w, bias, { pads: 1 }); // [N, cout, 2H, 2W + 4]
  return b.slice(y, [2], [w2 + 2], [3]); // [N, cout, 2H, 2W]
}

/** Strided periodic 3x3 conv: `[N, C, H, W] -> [N, cout, H/2, W/2]`. */
export function downsample(c: Ctx, name: string, x: Value, cout: number): Value {
  return conv2d(c, name, x, cout, { stride: 2 }); // [N, cout, H/2, W/2]
}

/** Mean squared error over every element: `mean((a - b)^2)`, shape `[]`. */
export function mse(c: Ctx, a: Value, target: Value): Value {
  const d = c.b.sub(a, target);
  return c.b.reduceMean(c.b.mul(d, d)); // []
}

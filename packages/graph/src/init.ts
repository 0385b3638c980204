import type { Rng } from '@alignda/tensor';
import { GraphError } from './errors.js';
import { fmtShape, numel } from './types.js';
import type { Shape } from './types.js';

/**
 * How a parameter is initialised. Fan-in/fan-out default by layout: rank >= 3 is a conv weight
 * `[out, in/group, k...]` (fan-in `in/group * prod(k)`, fan-out `out * prod(k)`); rank 2 is a MatMul
 * weight `[in, out]`; rank 1 uses its length for both.
 */
export type ParamInit =
  | { readonly kind: 'zeros' }
  | { readonly kind: 'ones' }
  | { readonly kind: 'constant'; readonly value: number }
  /** N(mean, std^2); `@defaultValue` mean 0, std 1. */
  | { readonly kind: 'normal'; readonly mean?: number; readonly std?: number }
  /** He et al. 2015 normal: N(0, gain^2 / fanIn); `@defaultValue` gain sqrt(2) (ReLU/SiLU). */
  | { readonly kind: 'kaiming'; readonly gain?: number; readonly fanIn?: number }
  /** Glorot & Bengio 2010 uniform: U(-a, a), a = gain * sqrt(6 / (fanIn + fanOut)); `@defaultValue` gain 1. */
  | { readonly kind: 'xavier'; readonly gain?: number; readonly fanIn?: number; readonly fanOut?: number };

/** Fan-in and fan-out of a weight shape, by the layout convention of {@link ParamInit}. */
export function fans(shape: Shape): [number, number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0] ?? 1, shape[0] ?? 1];
  if (shape.length === 2) return [shape[0] ?? 1, shape[1] ?? 1];
  const rf = numel(shape.slice(2));
  return [(shape[1] ?? 1) * rf, (shape[0] ?? 1) * rf];
}

/** Draws the initial value of a parameter of `shape` into `out`. */
export function initialise(name: string, shape: Shape, init: ParamInit, rng: Rng, out: Float32Array | Float64Array): void {
  const [fanIn, fanOut] = fans(shape);
  switch (init.kind) {
    case 'zeros':
      out.fill(0);
      return;
    case 'ones':
      out.fill(1);
      return;
    case 'constant':
      out.fill(init.value);
      return;
    case 'normal':
      rng.fillNormal(out, init.mean ?? 0, init.std ?? 1);
      return;
    case 'kaiming': {
      const fi = init.fanIn ?? fanIn;
      if (!(fi > 0)) throw new GraphError('INVALID_ATTRIBUTE', `param '${name}' ${fmtShape(shape)}: kaiming needs fanIn > 0`);
      rng.fillNormal(out, 0, (init.gain ?? Math.SQRT2) / Math.sqrt(fi));
      return;
    }
    case 'xavier': {
      const a = (init.gain ?? 1) * Math.sqrt(6 / ((init.fanIn ?? fanIn) + (init.fanOut ?? fanOut)));
      rng.fillUniform(out, -a, a);
      return;
    }
  }
}

import { createRng } from '@alignda/tensor';
import type { Rng } from '@alignda/tensor';
import { GraphBuilder } from '../builder.js';
import { gradName, vjp } from '../grad.js';
import { createSession } from '../runtime.js';
import { numel } from '../types.js';
import type { Shape, Value } from '../types.js';

/**
 * Central finite differences against reverse mode, in float32 through onnxruntime.
 * Step EPS = 1e-2 on inputs of magnitude ~1: truncation error ~EPS^2 |f'''| / 6 ~ 2e-5, float32 round-off of the
 * float64-accumulated loss ~6e-8 sqrt(n) / (2 EPS) ~ 3e-5 for n ~ 300 outputs. An element passes when
 * |fd - ad| <= ATOL + RTOL * max(|fd|, |ad|).
 */
export const GRADCHECK_TOLERANCE = { eps: 1e-2, atol: 2e-3, rtol: 2e-2 } as const;

/** How an input of a checked graph is drawn. */
export interface DrawSpec {
  /** `normal`: N(0,1); `uniform`: U[lo,hi); `away`: N(0,1) pushed away from 0 by `margin` (kinks of Abs/Relu). */
  readonly dist?: 'normal' | 'uniform' | 'away';
  readonly lo?: number;
  readonly hi?: number;
}

/** A builder wrapper whose `input` also records how to draw the input. */
export interface CheckBuilder {
  readonly b: GraphBuilder;
  /** Declares a float32 input; `wrt` inputs are differentiated (default true). */
  readonly input: (name: string, shape: Shape, draw?: DrawSpec, wrt?: boolean) => Value;
}

/** Result of one check: the worst element, for messages. */
export interface GradCheckResult {
  readonly checked: number;
  readonly worst: { input: string; index: number; fd: number; ad: number; excess: number };
}

function draw(rng: Rng, n: number, d: DrawSpec = {}): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (d.dist === 'uniform') out[i] = (d.lo ?? 0) + ((d.hi ?? 1) - (d.lo ?? 0)) * rng.uniform();
    else if (d.dist === 'away') {
      const z = rng.normal();
      out[i] = z + Math.sign(z || 1) * 0.2;
    } else out[i] = rng.normal();
  }
  return out;
}

/**
 * Builds a graph with `define`, differentiates its output with `vjp` against a random cotangent r, and compares
 * `<r, d out / d x>` with central differences of `sum(r * out)` for up to `maxPerInput` random elements of each
 * differentiated input. Returns the worst element; throws nothing (the test asserts).
 */
export async function gradCheck(define: (c: CheckBuilder) => Value, seed: number, maxPerInput = 16): Promise<GradCheckResult> {
  const rng = createRng(seed);
  const b = new GraphBuilder({ name: 'gradcheck', seed });
  const feeds: Record<string, Float32Array> = {};
  const wrt: string[] = [];
  const out = define({
    b,
    input: (name, shape, d, isWrt = true) => {
      const v = b.input(name, 'float32', shape);
      feeds[name] = draw(rng, numel(shape), d);
      if (isWrt) wrt.push(name);
      return v;
    },
  });
  b.output(out);
  const g = b.build();
  const gg = vjp(g, [out], ['cot'], wrt);
  const cot = draw(rng, numel(out.shape));
  const back = await createSession(gg, { executionProvider: 'cpu' });
  const fwd = await createSession(g, { executionProvider: 'cpu' });
  const grads = await back.run({ ...feeds, cot });
  const { eps, atol, rtol } = GRADCHECK_TOLERANCE;
  const loss = async (): Promise<number> => {
    const y = (await fwd.run(feeds))[out.name]?.data as Float32Array;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += (y[i] ?? 0) * (cot[i] ?? 0);
    return s;
  };
  let worst = { input: '', index: -1, fd: 0, ad: 0, excess: -Infinity };
  let checked = 0;
  for (const name of wrt) {
    const x = feeds[name] as Float32Array;
    const ad = grads[gradName(name)]?.data as Float32Array;
    const idx = Array.from({ length: x.length }, (_, i) => i);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [idx[i], idx[j]] = [idx[j] ?? 0, idx[i] ?? 0];
    }
    for (const i of idx.slice(0, maxPerInput)) {
      const x0 = x[i] ?? 0;
      // The step actually taken is what float32 can hold.
      const xp = Math.fround(x0 + eps);
      const xm = Math.fround(x0 - eps);
      x[i] = xp;
      const lp = await loss();
      x[i] = xm;
      const lm = await loss();
      x[i] = x0;
      const fd = (lp - lm) / (xp - xm);
      const a = ad[i] ?? NaN;
      const excess = Math.abs(fd - a) - (atol + rtol * Math.max(Math.abs(fd), Math.abs(a)));
      checked++;
      if (Number.isNaN(worst.excess)) continue;
      if (Number.isNaN(excess) || excess > worst.excess) worst = { input: name, index: i, fd, ad: a, excess };
    }
  }
  return { checked, worst };
}

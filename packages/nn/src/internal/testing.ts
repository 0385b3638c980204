/**
 * Test helpers (not exported from the package): running graphs, random parameters, directional finite
 * differences and a tiny AdamW training loop.
 */
import { expect } from 'vitest';
import { createRng } from '@alignda/tensor';
import { AdamW, createSession } from '@alignda/graph';
import type { Feed, Graph, TensorData } from '@alignda/graph';
import type { TrainingGraph } from '../model.js';

/** Float32 parameter / feed map. */
export type Arrays = Record<string, Float32Array>;

/** `n` normal draws times `std` from `seed`. */
export function randn(seed: number, n: number, std = 1): Float32Array {
  return createRng(seed).fillNormal(new Float32Array(n), 0, std);
}

/** Runs `graph` (parameters as inputs) and returns every output as a Float32Array. */
export async function run(graph: Graph, feeds: Readonly<Record<string, Feed>>): Promise<Arrays> {
  const out = await (await createSession(graph)).run(feeds);
  const res: Arrays = {};
  for (const [k, v] of Object.entries(out)) res[k] = v.data as Float32Array;
  return res;
}

/** Initial parameters plus N(0, std^2) noise, so zero-initialised layers are not trivial in gradient checks. */
export function perturbedParams(graph: Graph, seed: number, std: number): Arrays {
  const rng = createRng(seed);
  const out: Arrays = {};
  for (const p of graph.params) {
    const a = Float32Array.from(p.init);
    for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) + std * rng.normal();
    out[p.name] = a;
  }
  return out;
}

/** Inputs of `graph` drawn N(0, 1) from `seed` (overridden by `fixed`). */
export function randomInputs(graph: Graph, seed: number, fixed: Arrays = {}): Arrays {
  const out: Arrays = {};
  graph.inputs.forEach((v, i) => {
    out[v.name] =
      fixed[v.name] ??
      randn(
        seed + i,
        v.shape.reduce((a, d) => a * d, 1),
      );
  });
  return out;
}

/** A random direction over the named arrays, unit norm overall. */
export function randomDirection(arrays: Arrays, names: readonly string[], seed: number): Arrays {
  const rng = createRng(seed);
  const dir: Arrays = {};
  let s = 0;
  for (const n of names) {
    const d = rng.fillNormal(new Float32Array((arrays[n] as Float32Array).length));
    for (const v of d) s += v * v;
    dir[n] = d;
  }
  const k = 1 / Math.sqrt(s);
  for (const n of names) (dir[n] as Float32Array).forEach((v, i, a) => (a[i] = v * k));
  return dir;
}

/** `base + h * dir` for the named entries. */
export function step(base: Arrays, dir: Arrays, h: number): Arrays {
  const out: Arrays = { ...base };
  for (const [n, d] of Object.entries(dir))
    out[n] = (base[n] as Float32Array).map((v, i) => v + h * (d[i] as number));
  return out;
}

/** `sum_n <a[n], b[n]>` in float64. */
export function dot(a: Arrays, b: Arrays): number {
  let s = 0;
  for (const [n, x] of Object.entries(b)) {
    const y = a[n] as Float32Array;
    for (let i = 0; i < x.length; i++) s += (x[i] as number) * (y[i] as number);
  }
  return s;
}

/** A batch source for {@link trainAdamW}: data inputs of step k. */
export type Batches = (k: number) => Arrays;

/**
 * Runs `steps` AdamW steps of `tg` on `data`, from `cfgSeed`'s initial parameters (or `params`), and returns the
 * loss of every step (before its update) plus the final parameters.
 */
export async function trainAdamW(
  tg: TrainingGraph,
  data: Batches,
  steps: number,
  lr: number,
): Promise<{ losses: number[]; params: Arrays }> {
  const params = tg.forward.initialParams() as Arrays;
  const opt = new AdamW(params, { lr, weightDecay: 0 });
  const session = await createSession(tg.graph);
  const fetches = ['loss', ...tg.gradOutputs];
  const losses: number[] = [];
  for (let k = 0; k < steps; k++) {
    const out = await session.run({ ...data(k), ...params }, fetches);
    const grads: Arrays = {};
    tg.params.forEach(
      (p, i) => (grads[p] = (out[tg.gradOutputs[i] as string] as TensorData).data as Float32Array),
    );
    losses.push(((out.loss as TensorData).data as Float32Array)[0] as number);
    opt.step(params, grads);
  }
  return { losses, params };
}

/** Mean of the first and last `k` entries. */
export function headTail(xs: readonly number[], k: number): { head: number; tail: number } {
  const mean = (a: readonly number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
  return { head: mean(xs.slice(0, k)), tail: mean(xs.slice(-k)) };
}

/**
 * Smooth, longitude-periodic random fields `[n, c, h, w]`: a few random zonal waves times meridional sines,
 * so conv nets have structure to learn.
 */
export function smoothFields(seed: number, shape: readonly [number, number, number, number]): Float32Array {
  const [n, c, h, w] = shape;
  const rng = createRng(seed);
  const out = new Float32Array(n * c * h * w);
  for (let s = 0; s < n * c; s++) {
    const waves = Array.from({ length: 3 }, () => ({
      k: 1 + rng.int(3),
      l: 1 + rng.int(2),
      a: rng.normal() * 0.8,
      ph: rng.uniform() * 2 * Math.PI,
    }));
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let v = 0;
        for (const { k, l, a, ph } of waves)
          v += a * Math.cos((2 * Math.PI * k * j) / w + ph) * Math.sin((Math.PI * l * (i + 0.5)) / h);
        out[(s * h + i) * w + j] = v;
      }
    }
  }
  return out;
}

/**
 * Directional central differences against reverse mode: for a random unit direction d over the `wrt` feeds,
 * `ad = sum_w <grad_w, d_w>` (from `gradOutputs`, in the order of `wrt`) and
 * `fd = (f(x + h d) - f(x - h d)) / 2h` with `f` a scalar of the outputs, accumulated in float64.
 */
export async function directionalCheck(
  graph: Graph,
  feeds: Arrays,
  wrt: readonly string[],
  gradOutputs: readonly string[],
  f: (out: Arrays) => number,
  h: number,
  seed: number,
): Promise<{ ad: number; fd: number }> {
  const dir = randomDirection(feeds, wrt, seed);
  const base = await run(graph, feeds);
  const grads: Arrays = {};
  wrt.forEach((w, i) => (grads[w] = base[gradOutputs[i] as string] as Float32Array));
  const ad = dot(grads, dir);
  const plus = f(await run(graph, step(feeds, dir, h)));
  const minus = f(await run(graph, step(feeds, dir, -h)));
  return { ad, fd: (plus - minus) / (2 * h) };
}

/**
 * Checks a training graph's loss gradient against central differences (h = 3e-2) along one random
 * direction per seed: the directional derivative must be non-trivial (> 1e-3) and agree to
 * 1e-5 + 2e-3 |ad|.
 */
export async function expectLossGradientMatchesFd(
  tg: Pick<TrainingGraph, 'graph' | 'params' | 'gradOutputs'>,
  feeds: Arrays,
  seeds: readonly number[],
): Promise<void> {
  for (const seed of seeds) {
    const { ad, fd } = await directionalCheck(
      tg.graph,
      feeds,
      tg.params,
      tg.gradOutputs,
      (o) => o.loss?.[0] ?? NaN,
      3e-2,
      seed,
    );
    expect(Math.abs(ad)).toBeGreaterThan(1e-3);
    expect(Math.abs(ad - fd)).toBeLessThanOrEqual(1e-5 + 2e-3 * Math.abs(ad));
  }
}

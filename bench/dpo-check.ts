/**
 * The numerical cross-check of the DPO benchmark (bench/dpo.ts): our loss, reward margins, per-sample errors and
 * parameter gradients against bench/dpo_torch.py's, in float32 and float64, on the same weights and batch.
 */
import type { SafetensorsTensor } from '@alignda/graph';

import { table } from './engine-harness.js';

type Arrays = Readonly<Record<string, ArrayLike<number>>>;

/** What one side computed at one beta. */
export interface DpoResult {
  readonly loss: number;
  readonly margin: ArrayLike<number>;
  /** Per-sample denoising errors of the trainable copy `[2P]`. */
  readonly err: ArrayLike<number>;
  /** Gradients by parameter name. */
  readonly grads: Arrays;
}

/** The tolerance of the check: relative, max over parameters, float32 against float32. */
export const TOLERANCE = 1e-4;

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error('cross-check: lengths differ');
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/**
 * max_k max_i |a_i - b_i| / max_i |b_i| over the tensors k of `ref` not in `skip`: the error relative to each
 * tensor's scale, and the tensor where it is largest.
 */
export function maxRelError(
  ours: Arrays,
  ref: Arrays,
  skip: ReadonlySet<string> = new Set(),
): { err: number; worst: string } {
  let err = 0;
  let worst = '';
  for (const [name, r] of Object.entries(ref)) {
    if (skip.has(name)) continue;
    const a = ours[name];
    if (a === undefined) throw new Error(`cross-check: '${name}' missing`);
    const scale = maxAbs(r);
    const diff = maxAbsDiff(a, r);
    const e = scale === 0 ? diff : diff / scale;
    if (e >= err) [err, worst] = [e, name];
  }
  return { err, worst };
}

/** PyTorch's f32 and f64 results at `beta` from dpo_torch.py's output file. */
export function torchResults(
  out: Readonly<Record<string, SafetensorsTensor>>,
  beta: number,
  names: readonly string[],
): { f32: DpoResult; f64: DpoResult } {
  const read = (tag: string): DpoResult => {
    const get = (key: string): ArrayLike<number> => {
      const t = out[`beta${beta}/${tag}/${key}`];
      if (t === undefined) throw new Error(`cross-check: dpo_torch.py wrote no 'beta${beta}/${tag}/${key}'`);
      return t.data as ArrayLike<number>;
    };
    return {
      loss: get('loss')[0] as number,
      margin: get('margin'),
      err: get('model_err'),
      grads: Object.fromEntries(names.map((n) => [n, get(`grad/${n}`)])),
    };
  };
  return { f32: read('f32'), f64: read('f64') };
}

/** The comparisons at one beta. */
export interface BetaCheck {
  readonly beta: number;
  /** alignda f32 vs PyTorch f32, the gated comparison. */
  readonly vs32: { err: number; worst: string };
  readonly vs64: { err: number; worst: string };
  /** PyTorch f32 vs PyTorch f64: float32's own floor on this problem. */
  readonly t32vs64: { err: number; worst: string };
  readonly lossRel32: number;
  readonly lossRel64: number;
  readonly torchLossRel: number;
  /** Max |per-sample error - f64| of each side, and the same for the margins. */
  readonly errDiff: { ours: number; torch: number };
  readonly marginDiff: { ours: number; torch: number };
  /** Tensors whose exact gradient is zero, left out of the relative errors. */
  readonly zero: readonly string[];
  /** Largest |gradient| of those, relative to the largest gradient, per side. */
  readonly zeroMax: { ours: number; torch: number };
  readonly pass: boolean;
}

/**
 * Compares `ours` with PyTorch's f32 and f64 results at one beta. Tensors whose float64 gradient is at most 1e-9
 * of the largest one are exactly zero in exact arithmetic (the attention key biases: softmax is blind to the
 * constant q.b_k they add to every score of a query), so they hold roundoff only and are reported apart.
 */
export function checkBeta(
  beta: number,
  ours: DpoResult,
  torch: { f32: DpoResult; f64: DpoResult },
  names: readonly string[],
): BetaCheck {
  const g64 = torch.f64.grads;
  const scale = Math.max(...names.map((n) => maxAbs(g64[n] ?? [])));
  const zero = names.filter((n) => maxAbs(g64[n] ?? []) <= 1e-9 * scale);
  const skip = new Set(zero);
  const zeroMax = (g: Arrays): number => Math.max(0, ...zero.map((n) => maxAbs(g[n] ?? []))) / scale;
  const vs32 = maxRelError(ours.grads, torch.f32.grads, skip);
  const lossRel32 = Math.abs(ours.loss / torch.f32.loss - 1);
  return {
    beta,
    vs32,
    vs64: maxRelError(ours.grads, g64, skip),
    t32vs64: maxRelError(torch.f32.grads, g64, skip),
    lossRel32,
    lossRel64: Math.abs(ours.loss / torch.f64.loss - 1),
    torchLossRel: Math.abs(torch.f32.loss / torch.f64.loss - 1),
    errDiff: { ours: maxAbsDiff(ours.err, torch.f64.err), torch: maxAbsDiff(torch.f32.err, torch.f64.err) },
    marginDiff: {
      ours: maxAbsDiff(ours.margin, torch.f64.margin),
      torch: maxAbsDiff(torch.f32.margin, torch.f64.margin),
    },
    zero,
    zeroMax: { ours: zeroMax(ours.grads), torch: zeroMax(torch.f32.grads) },
    pass: vs32.err <= TOLERANCE && lossRel32 <= TOLERANCE,
  };
}

/** The cross-check's table rows, one block of three per beta. */
export function checkTable(checks: readonly BetaCheck[]): string {
  const e = (x: number): string => x.toExponential(2);
  const rows: string[][] = [
    ['beta', 'comparison', 'max rel. gradient error', 'worst tensor', 'loss rel. diff', 'max |margin diff|'],
  ];
  for (const c of checks) {
    rows.push(
      [`${c.beta}`, 'alignda f32 vs PyTorch f32', e(c.vs32.err), c.vs32.worst, e(c.lossRel32), ''],
      ['', 'alignda f32 vs PyTorch f64', e(c.vs64.err), c.vs64.worst, e(c.lossRel64), e(c.marginDiff.ours)],
      [
        '',
        'PyTorch f32 vs PyTorch f64',
        e(c.t32vs64.err),
        c.t32vs64.worst,
        e(c.torchLossRel),
        e(c.marginDiff.torch),
      ],
    );
  }
  return table(rows);
}

/** A per-tensor table of the gradient errors at one beta (`--verbose`): where two implementations diverge. */
export function perTensorTable(
  ours: DpoResult,
  torch: { f32: DpoResult; f64: DpoResult },
  names: readonly string[],
): string {
  const rel = (n: string, a: Arrays, b: Arrays): string =>
    maxRelError({ [n]: a[n] ?? [] }, { [n]: b[n] ?? [] }).err.toExponential(2);
  return table([
    ['tensor', 'max|grad| (f64)', 'alignda vs PyTorch f32', 'alignda vs f64', 'PyTorch f32 vs f64'],
    ...names.map((n) => [
      n,
      maxAbs(torch.f64.grads[n] ?? []).toExponential(2),
      rel(n, ours.grads, torch.f32.grads),
      rel(n, ours.grads, torch.f64.grads),
      rel(n, torch.f32.grads, torch.f64.grads),
    ]),
  ]);
}

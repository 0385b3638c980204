/**
 * `npm run bench -- engine [--runs N] [--warmup N] [--seed N] [--rounds N] [--no-torch] [--ep cpu|cuda|auto]`
 *
 * The reference autoencoder of shared/docs/ENGINE-NOTES.md in our engine (onnxruntime-node, 1 thread)
 * and in PyTorch (Debian's python3-torch, 1 thread, installed with apt-get when missing), on the same
 * weights and input: forward, forward+backward, a full AdamW training step and the frozen inference
 * graph's forward, medians after warm-up, the ratio alignda/PyTorch and GFLOP/s; then a gradient
 * cross-check against PyTorch in float32 and float64.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import {
  AdamW,
  createSession,
  decodeSafetensors,
  encodeSafetensors,
  exportInference,
  grad,
  gradName,
  releaseSessions,
} from '@alignda/graph';
import type { ExecutionProviderChoice, ParamMap, SafetensorsTensor, TypedArray } from '@alignda/graph';
import { createRng } from '@alignda/tensor';

import { median, progress, table, timeRuns } from './engine-harness.js';
import { INPUT_SHAPE, buildAutoencoder, countFlops } from './engine-model.js';
import { TORCH_MALLOC_ENV, ensureTorch, runTorch } from './engine-torch.js';
import type { TorchTimings } from './engine-torch.js';

/** AdamW settings of the training-step row, identical on both sides (PyTorch's defaults). */
const ADAMW = { lr: 1e-3, weightDecay: 0.01 } as const;

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** max_k max_i |a_i - b_i| / max_i |b_i| over the tensors k: the error relative to each tensor's scale. */
function maxRelError(
  ours: Readonly<Record<string, ArrayLike<number>>>,
  ref: Readonly<Record<string, ArrayLike<number>>>,
): { err: number; worst: string } {
  let err = 0;
  let worst = '';
  for (const [name, r] of Object.entries(ref)) {
    const a = ours[name];
    if (a === undefined || a.length !== r.length)
      throw new Error(`cross-check: '${name}' missing or of another length`);
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < r.length; i++) {
      scale = Math.max(scale, Math.abs(r[i] as number));
      diff = Math.max(diff, Math.abs((a[i] as number) - (r[i] as number)));
    }
    const e = scale === 0 ? diff : diff / scale;
    if (e >= err) [err, worst] = [e, name];
  }
  return { err, worst };
}

/** Runs the engine benchmark; see the module comment for the flags. */
export async function main(args: readonly string[]): Promise<void> {
  const { values: opt } = parseArgs({
    args: [...args],
    options: {
      runs: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '5' },
      seed: { type: 'string', default: '0' },
      'no-torch': { type: 'boolean', default: false },
      ep: { type: 'string', default: 'cpu' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const runs = Number(opt.runs);
  const warmup = Number(opt.warmup);
  const seed = Number(opt.seed);
  const rounds = Math.max(1, Number(opt.rounds));
  const ep = opt.ep as ExecutionProviderChoice;
  const mallocEnv = Object.entries(TORCH_MALLOC_ENV)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const flops = countFlops();
  log(
    `engine bench: autoencoder ${INPUT_SHAPE.join('x')}, ${flops.params} parameters; ${rounds * Math.ceil(runs / rounds)} timed runs per phase in ${rounds} round(s) alternating PyTorch and alignda, ${warmup} warm-up runs per round`,
  );

  // Graphs: training graph (x, y, params -> loss, recon), its gradient graph, and the inference graph.
  log('building graphs and sessions...');
  const train = buildAutoencoder(seed, true);
  const infer = buildAutoencoder(seed, false);
  const names = train.graph.params.map((p) => p.name);
  const gradGraph = grad(train.graph, 'loss', names);
  const params = train.graph.initialParams();
  const n = INPUT_SHAPE.reduce((a, d) => a * d, 1);
  const x = createRng(seed + 1).fillNormal(new Float32Array(n));
  const y = x; // an autoencoder reconstructs its input
  const runtime = { executionProvider: ep, intraOpNumThreads: 1 } as const;
  const fwd = await createSession(train.graph, runtime);
  const bwd = await createSession(gradGraph, runtime);
  const frozen = await createSession(exportInference(infer.graph, params), runtime);
  log(
    `onnxruntime execution provider: ${bwd.executionProvider}; training graphs at '${bwd.graphOptimizationLevel}', frozen graph at '${frozen.graphOptimizationLevel}'`,
  );
  const gradFetches = ['loss', ...names.map(gradName)];

  // Our gradient on the initial weights, for the cross-check.
  const first = await bwd.run({ x, y, ...params }, gradFetches);
  const ourGrads: Record<string, TypedArray> = {};
  for (const name of names) ourGrads[name] = (first[gradName(name)] as { data: TypedArray }).data;
  const ourLoss = (first.loss?.data as Float32Array)[0] as number;

  // Our timing block: every phase `warmup` + `count` runs. The training step keeps its own parameters.
  const feeds = { x, y, ...structuredClone(params) };
  const stepParams = structuredClone(params);
  const adamw = new AdamW(stepParams, ADAMW);
  const ours = {
    forward: [] as number[],
    backward: [] as number[],
    step: [] as number[],
    frozen: [] as number[],
    adamw: [] as number[],
  };
  const step = async (): Promise<void> => {
    const out = await bwd.run({ x, y, ...stepParams }, gradFetches);
    const grads: ParamMap = {};
    for (const name of names) grads[name] = out[gradName(name)]?.data as Float32Array;
    const t0 = performance.now();
    adamw.step(stepParams, grads);
    ours.adamw.push(performance.now() - t0);
  };
  const oursBlock = async (count: number, tag: string): Promise<void> => {
    const o = (label: string) => ({ warmup, runs: count, onProgress: progress(`alignda ${label}${tag}`) });
    ours.forward.push(...(await timeRuns(() => fwd.run(feeds, ['loss']), o('forward'))));
    ours.backward.push(...(await timeRuns(() => bwd.run(feeds, gradFetches), o('forward+backward'))));
    ours.step.push(...(await timeRuns(step, o('training step'))));
    ours.frozen.push(...(await timeRuns(() => frozen.run({ x }), o('frozen inference forward'))));
  };

  // Rounds alternate PyTorch and alignda blocks so that load from other processes on this shared
  // machine hits both sides alike; the runs of all rounds are pooled before taking medians.
  const perRound = Math.ceil(runs / rounds);
  let torch: TorchTimings | undefined;
  let torchGrads: Record<string, SafetensorsTensor> | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'alignda-bench-'));
  try {
    const inPath = join(dir, 'weights.safetensors');
    const outPath = join(dir, 'torch-grads.safetensors');
    if (!opt['no-torch']) {
      await ensureTorch(log);
      // Same weights, input and target for PyTorch, through a safetensors file.
      const tensors: Record<string, SafetensorsTensor> = {
        input: { dtype: 'F32', shape: INPUT_SHAPE, data: x },
        target: { dtype: 'F32', shape: INPUT_SHAPE, data: y },
      };
      for (const p of train.graph.params)
        tensors[p.name] = { dtype: 'F32', shape: p.shape, data: params[p.name] as Float32Array };
      writeFileSync(inPath, encodeSafetensors(tensors));
      log(`PyTorch runs with 1 thread and ${mallocEnv}`);
    }
    for (let r = 0; r < rounds; r++) {
      const tag = rounds > 1 ? ` (round ${r + 1}/${rounds})` : '';
      if (!opt['no-torch']) {
        const t = await runTorch({
          inPath,
          outPath: r === 0 ? outPath : undefined,
          warmup,
          runs: perRound,
          ...ADAMW,
        });
        if (r === 0) torchGrads = decodeSafetensors(readFileSync(outPath)).tensors;
        torch =
          torch === undefined
            ? t
            : {
                ...t,
                forward: [...torch.forward, ...t.forward],
                forward_backward: [...torch.forward_backward, ...t.forward_backward],
                train_step: [...torch.train_step, ...t.train_step],
              };
      }
      await oursBlock(perRound, tag);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const tForward = ours.forward;
  const tBackward = ours.backward;
  const tStep = ours.step;
  const tFrozen = ours.frozen;
  const adamwMs = median(ours.adamw);
  await releaseSessions();

  // Report.
  const ms = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(1));
  const gflops = (f: number, t: number | undefined): string =>
    t === undefined ? '-' : (f / (t * 1e6)).toFixed(1);
  const ratio = (a: number, b: number | undefined): string => (b === undefined ? '-' : (a / b).toFixed(2));
  const rows: [string, number, number | undefined, number][] = [
    ['forward', median(tForward), torch && median(torch.forward), flops.forward],
    ['forward + backward', median(tBackward), torch && median(torch.forward_backward), flops.forwardBackward],
    ['training step (+ AdamW)', median(tStep), torch && median(torch.train_step), flops.forwardBackward],
    ['frozen inference forward *', median(tFrozen), torch && median(torch.forward), flops.forward],
  ];
  console.log('');
  console.log(
    `## Engine benchmark: reference autoencoder, batch ${INPUT_SHAPE[0]}, ${INPUT_SHAPE.slice(1).join('x')}, medians of ${tForward.length} runs (${rounds} rounds, each after ${warmup} warm-up runs)`,
  );
  console.log('');
  console.log(
    table([
      ['', 'alignda ms', 'PyTorch ms', 'alignda / PyTorch', 'alignda GFLOP/s', 'PyTorch GFLOP/s'],
      ...rows.map(([label, a, b, f]) => [label, ms(a), ms(b), ratio(a, b), gflops(f, a), gflops(f, b)]),
    ]),
  );
  console.log('');
  console.log(
    `* compared with PyTorch's eager forward under torch.no_grad(); our frozen graph has the weights as initialisers (graph optimisation 'all').`,
  );
  console.log(
    `FLOPs (2 per multiply-add, convolutions only): forward ${(flops.forward / 1e9).toFixed(3)} G, forward+backward ${(flops.forwardBackward / 1e9).toFixed(3)} G (ENGINE-NOTES: 2.53 / 7.47); ${flops.params} parameters (ENGINE-NOTES: 115,983).`,
  );
  console.log(
    `alignda executes fewer: each nearest x2 upsample + 3x3 conv runs as one stride-2 ConvTranspose of the low-resolution input (4/9 of its FLOPs), so forward ${(flops.forwardExecuted / 1e9).toFixed(3)} G, forward+backward ${(flops.forwardBackwardExecuted / 1e9).toFixed(3)} G; the GFLOP/s columns divide the stated count above.`,
  );
  console.log(`AdamW in JS: ${adamwMs.toFixed(2)} ms per step (median; included in the training step).`);
  console.log(`alignda: onnxruntime-node, ${bwd.executionProvider} execution provider, 1 intra-op thread.`);
  if (torch !== undefined) {
    console.log(`PyTorch ${torch.torch}, ${torch.threads} thread, with ${mallocEnv}.`);
  }
  console.log(
    'Timings share 2 cores with whatever else runs on this machine: compare ratios from the same run, not absolute numbers across runs.',
  );
  if (torchGrads !== undefined) {
    const pick = (tag: string): Record<string, ArrayLike<number>> =>
      Object.fromEntries(
        names.map((name) => [name, torchGrads?.[`${tag}/grad/${name}`]?.data as ArrayLike<number>]),
      );
    const vs32 = maxRelError(ourGrads as Record<string, Float32Array>, pick('f32'));
    const vs64 = maxRelError(ourGrads as Record<string, Float32Array>, pick('f64'));
    const t32vs64 = maxRelError(pick('f32'), pick('f64'));
    const loss64 = (torchGrads['f64/loss']?.data as Float64Array)[0] as number;
    console.log('');
    console.log(
      '## Gradient cross-check on the same weights and input (max over tensors of max|a - b| / max|b|)',
    );
    console.log('');
    console.log(
      table([
        ['comparison', 'max rel. error', 'worst tensor'],
        ['alignda f32 vs PyTorch f32', vs32.err.toExponential(2), vs32.worst],
        ['alignda f32 vs PyTorch f64', vs64.err.toExponential(2), vs64.worst],
        ['PyTorch f32 vs PyTorch f64', t32vs64.err.toExponential(2), t32vs64.worst],
      ]),
    );
    console.log(
      `loss: alignda ${ourLoss.toPrecision(9)}, PyTorch f64 ${loss64.toPrecision(9)} (rel. diff ${Math.abs(ourLoss / loss64 - 1).toExponential(2)})`,
    );
  }
}

/**
 * `npm run bench -- dpo [--preset small|ci] [--pairs 8] [--runs N] [--warmup N] [--rounds N] [--seed N] [--no-torch] [--verbose]`
 *
 * One Diffusion-DPO step of the score network (packages/nn/src/dpo.ts, `buildScoreDpoTraining`) in our engine
 * (onnxruntime-node, 1 intra-op thread) and in PyTorch (bench/dpo_torch.py: Debian's python3-torch, 1 thread,
 * installed with apt-get when missing), on the same weights and batch: the DPO forward loss, forward+backward, and
 * a full training step as `trainDpo` takes it (forward+backward, global-norm clip 1, AdamW with decay on `*.w`),
 * medians after warm-up (wall clock, and process CPU time on both sides) and the ratios alignda/PyTorch.
 *
 * Before the timings, a cross-check: the PyTorch port, loading the same weights through safetensors, must match
 * our loss and every parameter gradient to 1e-4 (max over tensors of max|a - b| / max|b|) in float32, with float64
 * printed beside it, at trainDpo's beta (2000, the timed step) and at beta 2 (the gate; see CHECK_BETAS for why).
 * `--verbose` adds the per-tensor errors. Exit code 1 on a mismatch.
 *
 * The weights are the seeded initial parameters with the zero-initialised convolutions (each residual block's
 * conv2 and the output head) filled with small seeded noise, biases and norm affines jittered, so that every
 * gradient is non-degenerate; that is the frozen reference, whose per-sample errors feed `ref_err`. The trainable
 * copy is the reference plus a further 1e-3-relative perturbation (as after a few DPO steps), so the reward margins
 * are neither zero nor saturated. The reference's own eps forward (a frozen inference session in `trainDpo`) is
 * not part of the timed step.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { SCHEDULE_ETA, mu, sigma } from '@alignda/da';
import {
  AdamW,
  clipGradNorm,
  createSession,
  decodeSafetensors,
  encodeSafetensors,
  releaseSessions,
} from '@alignda/graph';
import type { ParamMap, SafetensorsTensor, TensorData } from '@alignda/graph';
import { DPO_DEFAULTS, DPO_OUTPUTS, SCORE_PRESETS, buildScoreDpoTraining, parameterCount } from '@alignda/nn';
import type { ScoreConfig } from '@alignda/nn';
import { createRng } from '@alignda/tensor';
import type { Rng } from '@alignda/tensor';

import { median, progress, table } from './engine-harness.js';
import { TORCH_MALLOC_ENV, ensureTorch } from './engine-torch.js';
import { TOLERANCE, checkBeta, checkTable, perTensorTable, torchResults } from './dpo-check.js';
import type { BetaCheck, DpoResult } from './dpo-check.js';
import { runDpoTorch } from './dpo-torch.js';
import type { DpoTorchTimings, PhaseTimes } from './dpo-torch.js';

/** Optimiser settings of the training-step row, identical on both sides: trainDpo's defaults. */
const STEP = { lr: DPO_DEFAULTS.peakLr, weightDecay: DPO_DEFAULTS.weightDecay, clipNorm: 1 } as const;

/**
 * The betas of the cross-check: trainDpo's default (the timed step), and 2, where the margin m = -(beta/2)(...)
 * passes the per-sample errors through unamplified. At beta 2000 float32 rounding of the O(1) per-sample errors
 * (1 ulp ~ 1e-7) reaches the margins x1000, so float32 against float32 sits near 1e-4 whatever the implementation;
 * beta only scales the per-pair weights of the per-sample error gradients, so at beta 2 the same layers are checked
 * without that amplification, and that comparison is the gate.
 */
const CHECK_BETAS = [DPO_DEFAULTS.beta, 2] as const;

const log = (line: string): void => void process.stderr.write(`${line}\n`);

const emptyTimes = (): PhaseTimes => ({ wall: [], cpu: [] });
const joinTimes = (a: PhaseTimes, b: PhaseTimes): PhaseTimes => ({
  wall: [...a.wall, ...b.wall],
  cpu: [...a.cpu, ...b.cpu],
});

/**
 * Like engine-harness's `timeRuns` (`warmup` untimed runs, then `runs` timed ones), recording each run's wall time
 * and the process's CPU time (user + system, all threads: onnxruntime runs on a libuv worker), in ms.
 */
async function timePhase(
  fn: () => unknown,
  warmup: number,
  runs: number,
  onProgress: (done: number, total: number) => void,
): Promise<PhaseTimes> {
  for (let i = 0; i < warmup; i++) await fn();
  const out = emptyTimes();
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    out.wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    out.cpu.push((c.user + c.system) / 1e3);
    onProgress(i + 1, runs);
  }
  return out;
}

/** The q-quantile (linear interpolation) of a non-empty list. */
function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = q * (s.length - 1);
  const lo = Math.floor(i);
  const hi = Math.min(s.length - 1, lo + 1);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (i - lo);
}

function rms(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) ** 2;
  return Math.sqrt(s / Math.max(1, a.length));
}

/**
 * The frozen reference: initial parameters with every all-zero weight (conv2 of each residual block, the output
 * head) drawn from N(0, 0.25 / fan_in), norm gains and biases jittered by N(0, 0.05^2).
 */
function referenceParams(init: ParamMap, shapes: ReadonlyMap<string, readonly number[]>, rng: Rng): ParamMap {
  const out: ParamMap = {};
  for (const [name, v] of Object.entries(init)) {
    const p = Float32Array.from(v);
    const shape = shapes.get(name) ?? [];
    if (name.endsWith('.w') && rms(p) === 0) {
      // conv [cout, cin, k, k]: fan_in cin k k; dense [din, dout]: fan_in din
      const fanIn = shape.length === 4 ? p.length / (shape[0] as number) : (shape[0] as number);
      rng.fillNormal(p, 0, 0.5 / Math.sqrt(fanIn));
    } else if (!name.endsWith('.w')) {
      for (let i = 0; i < p.length; i++) p[i] = (p[i] as number) + 0.05 * rng.normal();
    }
    out[name] = p;
  }
  return out;
}

/** The trainable copy: the reference plus N(0, (1e-3 rms)^2) per tensor. */
function trainableParams(ref: ParamMap, rng: Rng): ParamMap {
  const out: ParamMap = {};
  for (const [name, v] of Object.entries(ref)) {
    const s = 1e-3 * rms(v);
    out[name] = Float32Array.from(v, (x) => x + s * rng.normal());
  }
  return out;
}

/**
 * One DPO batch as trainDpo's `feedsOf` lays it out: winners in rows 0..P-1, losers in P..2P-1, a pair sharing
 * z_b, t and eps; z_t = mu(t) z + sigma(t) eps. Latents are seeded N(0, 1) (standardised latents).
 */
function dpoBatch(cfg: ScoreConfig, pairs: number, rng: Rng): Record<string, Float32Array> {
  const size = cfg.latentShape.reduce((a, d) => a * d, 1);
  const n = 2 * pairs;
  const zt = new Float32Array(n * size);
  const zb = new Float32Array(n * size);
  const eps = new Float32Array(n * size);
  const t = new Float32Array(n);
  for (let k = 0; k < pairs; k++) {
    const tk = Math.fround(rng.uniform());
    const [m, s] = [mu(tk), sigma(tk)];
    const e = rng.fillNormal(new Float32Array(size));
    const bg = rng.fillNormal(new Float32Array(size));
    const winner = rng.fillNormal(new Float32Array(size));
    // A loser near its winner, as two samples of the same condition would be.
    const loser = Float32Array.from(winner, (x) => 0.8 * x + 0.6 * rng.normal());
    for (const [row, z] of [
      [k, winner],
      [pairs + k, loser],
    ] as const) {
      t[row] = tk;
      eps.set(e, row * size);
      zb.set(bg, row * size);
      for (let j = 0; j < size; j++) zt[row * size + j] = m * (z[j] as number) + s * (e[j] as number);
    }
  }
  return { z_t: zt, t, z_b: zb, eps };
}

const data = (out: Record<string, TensorData>, name: string): Float32Array => out[name]?.data as Float32Array;

/** Runs the DPO benchmark; see the module comment for the flags. */
export async function main(args: readonly string[]): Promise<void> {
  const { values: opt } = parseArgs({
    args: [...args],
    options: {
      preset: { type: 'string', default: 'small' },
      pairs: { type: 'string', default: '8' },
      runs: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '3' },
      seed: { type: 'string', default: '0' },
      'no-torch': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const preset = opt.preset;
  if (preset !== 'small' && preset !== 'ci') throw new Error(`--preset must be small or ci, got '${preset}'`);
  const cfg: ScoreConfig = SCORE_PRESETS[preset];
  const pairs = Number(opt.pairs);
  const runs = Number(opt.runs);
  const warmup = Number(opt.warmup);
  const seed = Number(opt.seed);
  const rounds = Math.max(1, Number(opt.rounds));
  const perRound = Math.ceil(runs / rounds);
  const beta = DPO_DEFAULTS.beta;
  const mallocEnv = Object.entries(TORCH_MALLOC_ENV)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

  log('building the DPO graphs and sessions...');
  const train = buildScoreDpoTraining(cfg, pairs);
  const names = train.params;
  const nParams = parameterCount(train.forward);
  log(
    `dpo bench: score network '${preset}' (${nParams} parameters), ${pairs} pairs (batch ${2 * pairs}), latent ${cfg.latentShape.join('x')}; ${rounds * perRound} timed runs per phase in ${rounds} round(s) alternating PyTorch and alignda, ${warmup} warm-up runs per round`,
  );
  const shapes = new Map(train.forward.params.map((p) => [p.name, p.shape]));
  const reference = referenceParams(train.forward.initialParams(), shapes, createRng(seed + 1));
  const params = trainableParams(reference, createRng(seed + 2));
  const inputs = dpoBatch(cfg, pairs, createRng(seed + 3));
  const betaFeed = Float32Array.of(beta);
  const runtime = { executionProvider: 'cpu', intraOpNumThreads: 1 } as const;
  const fwd = await createSession(train.forward, runtime);
  const bwd = await createSession(train.graph, runtime);

  // The frozen reference's per-sample errors (the DPO graph's model_err at the reference weights).
  const refOut = await fwd.run(
    { ...inputs, ref_err: new Float32Array(2 * pairs), beta: betaFeed, ...reference },
    [DPO_OUTPUTS.error],
  );
  const feeds = { ...inputs, ref_err: Float32Array.from(data(refOut, DPO_OUTPUTS.error)), beta: betaFeed };

  // Our loss, margins, per-sample errors and gradients on the trainable weights at each beta of the cross-check.
  const ourResults = new Map<number, DpoResult>();
  for (const b of CHECK_BETAS) {
    const out = await bwd.run({ ...feeds, beta: Float32Array.of(b), ...params }, [
      'loss',
      DPO_OUTPUTS.margin,
      DPO_OUTPUTS.error,
      ...train.gradOutputs,
    ]);
    ourResults.set(b, {
      loss: data(out, 'loss')[0] as number,
      margin: Float32Array.from(data(out, DPO_OUTPUTS.margin)),
      err: Float32Array.from(data(out, DPO_OUTPUTS.error)),
      grads: Object.fromEntries(
        names.map((name, i) => [name, Float32Array.from(data(out, train.gradOutputs[i] as string))]),
      ),
    });
  }

  // Our timing block; the training step keeps its own parameters and optimiser state.
  const fetches = ['loss', ...train.gradOutputs];
  const fixedFeeds = { ...feeds, ...params };
  const stepParams = structuredClone(params);
  const adamw = new AdamW(stepParams, {
    lr: STEP.lr,
    weightDecay: STEP.weightDecay,
    decay: (name) => name.endsWith('.w'),
  });
  const ours = { forward: emptyTimes(), backward: emptyTimes(), step: emptyTimes(), update: [] as number[] };
  const step = async (): Promise<void> => {
    const out = await bwd.run({ ...feeds, ...stepParams }, fetches);
    const grads: ParamMap = {};
    names.forEach((name, i) => (grads[name] = data(out, train.gradOutputs[i] as string)));
    const t0 = performance.now();
    clipGradNorm(grads, STEP.clipNorm);
    adamw.step(stepParams, grads);
    ours.update.push(performance.now() - t0);
  };
  const oursBlock = async (count: number, tag: string): Promise<void> => {
    const time = async (into: PhaseTimes, label: string, fn: () => unknown): Promise<void> => {
      const t = await timePhase(fn, warmup, count, progress(`alignda ${label}${tag}`));
      into.wall.push(...t.wall);
      into.cpu.push(...t.cpu);
    };
    await time(ours.forward, 'forward', () => fwd.run(fixedFeeds, ['loss']));
    await time(ours.backward, 'forward+backward', () => bwd.run(fixedFeeds, fetches));
    await time(ours.step, 'training step', step);
  };

  // Rounds alternate PyTorch and alignda so that load from other processes hits both alike; runs are pooled.
  let torch: DpoTorchTimings | undefined;
  let torchOut: Record<string, SafetensorsTensor> | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'alignda-bench-dpo-'));
  try {
    const inPath = join(dir, 'dpo.safetensors');
    const outPath = join(dir, 'torch-grads.safetensors');
    if (!opt['no-torch']) {
      await ensureTorch(log);
      const tensors: Record<string, SafetensorsTensor> = {};
      for (const [name, v] of Object.entries(feeds)) {
        const shape =
          name === 'beta'
            ? [1]
            : name === 't' || name === 'ref_err'
              ? [2 * pairs]
              : [2 * pairs, ...cfg.latentShape];
        tensors[name] = { dtype: 'F32', shape, data: v };
      }
      for (const name of names)
        tensors[name] = { dtype: 'F32', shape: shapes.get(name) ?? [], data: params[name] as Float32Array };
      const config = {
        latentShape: cfg.latentShape,
        widths: cfg.widths,
        timeDim: cfg.timeDim,
        heads: cfg.heads,
        groups: cfg.groups,
        concatBackground: cfg.concatBackground,
        preconditioned: cfg.preconditioned,
        eta: SCHEDULE_ETA,
        pairs,
        checkBetas: CHECK_BETAS,
        ...STEP,
      };
      writeFileSync(inPath, encodeSafetensors(tensors, { config: JSON.stringify(config) }));
      log(`PyTorch runs with 1 thread and ${mallocEnv}`);
    }
    for (let r = 0; r < rounds; r++) {
      const tag = rounds > 1 ? ` (round ${r + 1}/${rounds})` : '';
      if (!opt['no-torch']) {
        const t = await runDpoTorch({
          inPath,
          outPath: r === 0 ? outPath : undefined,
          warmup,
          runs: perRound,
        });
        if (r === 0) torchOut = decodeSafetensors(readFileSync(outPath)).tensors;
        torch =
          torch === undefined
            ? t
            : {
                ...t,
                forward: joinTimes(torch.forward, t.forward),
                forward_backward: joinTimes(torch.forward_backward, t.forward_backward),
                train_step: joinTimes(torch.train_step, t.train_step),
              };
      }
      await oursBlock(perRound, tag);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await releaseSessions();

  // Cross-check first: the timings only compare like with like when the two sides compute the same step.
  let failed = false;
  if (torchOut !== undefined) {
    const out = torchOut;
    const checks = CHECK_BETAS.map((b) =>
      checkBeta(b, ourResults.get(b) as DpoResult, torchResults(out, b, names), names),
    );
    const [main, gate] = checks as [BetaCheck, BetaCheck];
    const e = (x: number): string => x.toExponential(2);
    console.log('');
    console.log(
      `## DPO cross-check: the same weights (safetensors) and batch; loss, margins and ${names.length} parameter gradients (max over tensors of max|a - b| / max|b|)`,
    );
    console.log('');
    console.log(checkTable(checks));
    console.log('');
    const mainOurs = ourResults.get(main.beta) as DpoResult;
    const mainTorch = torchResults(out, main.beta, names);
    console.log(
      `loss at beta ${main.beta}: alignda ${mainOurs.loss.toPrecision(9)}, PyTorch f32 ${mainTorch.f32.loss.toPrecision(9)}, f64 ${mainTorch.f64.loss.toPrecision(9)}; margins ${Array.from(mainOurs.margin, (m) => m.toFixed(3)).join(' ')}`,
    );
    console.log(
      `per-sample errors (O(1)) vs float64: alignda max |diff| ${e(main.errDiff.ours)}, PyTorch f32 ${e(main.errDiff.torch)} (1 ulp of 1 is 1.19e-7); x beta/2 = ${main.beta / 2} they are the margin differences above`,
    );
    console.log(
      `exact-zero gradients, left out of the relative errors (${main.zero.join(', ') || 'none'}): |alignda| <= ${e(main.zeroMax.ours)}, |PyTorch f32| <= ${e(main.zeroMax.torch)} of the largest gradient`,
    );
    failed = !gate.pass;
    console.log(
      failed
        ? `MISMATCH at beta ${gate.beta}: alignda vs PyTorch f32 gradient ${e(gate.vs32.err)} at ${gate.vs32.worst}, loss ${e(gate.lossRel32)} (tolerance ${TOLERANCE}); --verbose prints the per-tensor errors.`
        : `match: at beta ${gate.beta} alignda and PyTorch agree to ${TOLERANCE} in float32 (loss and every gradient: ${e(gate.vs32.err)}); at beta ${main.beta}, the timed step, ${main.vs32.err.toExponential(3)} (${main.pass ? 'within' : 'over'} ${TOLERANCE}; PyTorch's own f32 is ${e(main.t32vs64.err)} from f64, ours ${e(main.vs64.err)}).`,
    );
    if (opt.verbose) {
      for (const c of checks) {
        console.log('');
        console.log(`per-tensor gradient errors at beta ${c.beta}:`);
        console.log(
          perTensorTable(ourResults.get(c.beta) as DpoResult, torchResults(out, c.beta, names), names),
        );
      }
    }
  }

  // Timings: wall-clock medians and spread, and process CPU time, which load from other processes disturbs least.
  const ms = (xs: readonly number[] | undefined): string =>
    xs === undefined || xs.length === 0 ? '-' : median(xs).toFixed(1);
  const spread = (xs: readonly number[] | undefined): string =>
    xs === undefined || xs.length === 0
      ? '-'
      : `${quantile(xs, 0.1).toFixed(1)}–${quantile(xs, 0.9).toFixed(1)}`;
  const ratio = (a: readonly number[], b: readonly number[] | undefined): string =>
    b === undefined || b.length === 0 ? '-' : (median(a) / median(b)).toFixed(2);
  const rows: [string, PhaseTimes, PhaseTimes | undefined][] = [
    ['forward (DPO loss)', ours.forward, torch?.forward],
    ['forward + backward', ours.backward, torch?.forward_backward],
    ['training step (+ clip + AdamW)', ours.step, torch?.train_step],
  ];
  console.log('');
  console.log(
    `## DPO benchmark: score network '${preset}', ${pairs} pairs (batch ${2 * pairs}), medians of ${ours.forward.wall.length} runs (${rounds} rounds, each after ${warmup} warm-up runs)`,
  );
  console.log('');
  console.log(
    table([
      [
        '',
        'alignda ms',
        'alignda p10–p90',
        'PyTorch ms',
        'PyTorch p10–p90',
        'alignda / PyTorch',
        'alignda CPU ms',
        'PyTorch CPU ms',
        'CPU-time ratio',
      ],
      ...rows.map(([label, a, b]) => [
        label,
        ms(a.wall),
        spread(a.wall),
        ms(b?.wall),
        spread(b?.wall),
        ratio(a.wall, b?.wall),
        ms(a.cpu),
        ms(b?.cpu),
        ratio(a.cpu, b?.cpu),
      ]),
    ]),
  );
  console.log('');
  console.log(
    `Training step: lr ${STEP.lr}, weight decay ${STEP.weightDecay} on *.w, global-norm clip ${STEP.clipNorm} (trainDpo's defaults); clip + AdamW in JS ${median(ours.update).toFixed(2)} ms (median, included).`,
  );
  console.log(`alignda: onnxruntime-node, ${bwd.executionProvider} execution provider, 1 intra-op thread.`);
  if (torch !== undefined) {
    console.log(`PyTorch ${torch.torch}, ${torch.threads} thread, with ${mallocEnv}; BLAS ${torch.blas}.`);
    if (torch.blas.includes('/blas/libblas.so'))
      console.log(
        "That is netlib's reference BLAS (Debian's libblas3, what apt installs with python3-torch): PyTorch's mm/bmm (dense layers, attention; about half its forward+backward here) run unoptimised. To compare against PyTorch on OpenBLAS, run with LD_LIBRARY_PATH=<dir holding OpenBLAS's libblas.so.3>, e.g. from `apt-get download libopenblas0-pthread` unpacked with dpkg-deb -x.",
      );
  }
  console.log(
    `Timings share the machine's cores with whatever else runs (load average ${loadavg()[0]?.toFixed(1)} at the end, ${cpus().length} cores): compare ratios from the same run, not absolute numbers across runs; under load the CPU-time ratio (process CPU time, both sides) is the steadier one.`,
  );
  if (failed) process.exitCode = 1;
}

/**
 * `npm run bench -- sampler [--preset ci|small] [--models DIR] [--runs N] [--warmup N] [--steps K]
 *  [--corrections C] [--obs-fraction F] [--seed N] [--peak-gflops G] [--candidates N] [--candidate-runs N]`
 *
 * Wall time of one latent DPS analysis of the qg world (issue 5 and issue 12, "Speed"; METHOD.md sections 3-4):
 * encode the background, K predictor steps with C Langevin corrections and DPS guidance, decode the analysis; one
 * member, onnxruntime CPU with 1 intra-op thread, frozen inference graphs at optimisation 'all'. The sessions and
 * ports are the product's own (`createLatentSessions`, `latentPorts` of packages/nn/src/latent-sessions.ts), timed
 * through the ports' `PortTimer` hook. Two paths of the same analysis run interleaved in one process:
 * - before: `dps` with the decoder and VJP ports — every step runs the eps network (predictor), the decoder of the
 *   Tweedie estimate (misfit) and the DPS helper (eps network + decoder forward again, then the backward);
 * - after: `dps` with the fused `denoiseAndDecode` port — every step runs the DPS forward once (eps for the
 *   predictor, x0 for the misfit, the residuals) and the DPS backward on those residuals.
 * Each path's time is split by stage (each port's `Session.run`, the port adapters, the sampler's own arithmetic in
 * JS, the rest) and compared with a FLOP floor: multiply-add FLOPs of each graph (bench/sampler-flops.ts) x calls,
 * divided by the GFLOP/s the engine reaches on the engine bench's frozen reference autoencoder, measured in the same
 * process (or `--peak-gflops`). Then the ratio after / before (wall and process CPU time, medians and the median of
 * the per-pair ratios) and max |x_a(after) - x_a(before)| of the analyses. Last, `--candidates` N (default 32, 0
 * skips it) ObsFree candidates of one condition as ONE batched sampler call (members as the batch dimension, as
 * packages/pipelines/src/align/preference-set.ts draws them, then decoded) against one single-member DPS analysis
 * (after), interleaved with it (`--candidate-runs`, default 2, after one warm-up call).
 *
 * Weights: the trained models of `<home>/models/qg-<preset>` (home from @alignda/config, `ALIGNDA_HOME` or
 * ./.alignda; `--models DIR` names another folder) when `loadLatentModels` reads them; otherwise the presets'
 * seeded initial values with an identity latent standardisation (mean 0, std 1), so both go through
 * `createLatentSessions` and its latent (un)standardisation nodes. The output says which. The background and the
 * observations are seeded stand-in fields either way: the cost of dense kernels does not depend on values (the
 * untrained score net's zero-initialised output head makes eps = 0, which removes no operation).
 */
import path from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';

import { loadConfig } from '@alignda/config';
import { dps, griddedObservations, obsFree, sample } from '@alignda/da';
import type { DpsOptions, Observations } from '@alignda/da';
import { GraphBuilder, createSession, exportInference, releaseSessions } from '@alignda/graph';
import type { RuntimeOptions } from '@alignda/graph';
import {
  EMULATOR_PRESETS,
  SCORE_PRESETS,
  TrainError,
  VAE_PRESETS,
  buildDpsHelper,
  buildScoreEps,
  buildVaeDecode,
  buildVaeEncode,
  createLatentSessions,
  emulatorInitialParams,
  latentPorts,
  loadLatentModels,
  scoreInitialParams,
  vaeInitialParams,
  vaeLatentShape,
} from '@alignda/nn';
import type { LatentModels, LatentPortName, PortTimer } from '@alignda/nn';
import { createRng } from '@alignda/tensor';
import type { NormStats } from '@alignda/tensor';

import { median, table, timeRuns } from './engine-harness.js';
import { buildAutoencoder, countFlops } from './engine-model.js';
import { countGraphFlops } from './sampler-flops.js';

/** Wall time and calls of one port: `runMs` inside `Session.run`, `adapterMs` the rest (feeds, unpacking). */
interface PortTiming {
  calls: number;
  runMs: number;
  adapterMs: number;
  /** Per-call `Session.run` wall times (ms), for per-call medians. */
  readonly perCall: number[];
}

/** Timings of every port of one analysis. */
type PortTimings = Readonly<Record<LatentPortName, PortTiming>>;

/** A fresh, zeroed {@link PortTimings}. */
function newTimings(): PortTimings {
  const one = (): PortTiming => ({ calls: 0, runMs: 0, adapterMs: 0, perCall: [] });
  return {
    eps: one(),
    helper: one(),
    decoder: one(),
    encoder: one(),
    dpsForward: one(),
    dpsBackward: one(),
  };
}

/** Channel-wise identity standardisation of `n` channels. */
function identityNorm(n: number): NormStats {
  return { channels: [], mean: new Array<number>(n).fill(0), std: new Array<number>(n).fill(1) };
}

/** The presets' seeded initial weights as {@link LatentModels}: identity state and latent standardisations. */
function seededModels(preset: 'ci' | 'small'): LatentModels {
  const vae = VAE_PRESETS[preset];
  const emulator = EMULATOR_PRESETS[preset];
  const score = SCORE_PRESETS[preset];
  const stateNorm = identityNorm(vae.channels);
  return {
    vae: { config: vae, params: vaeInitialParams(vae), norm: stateNorm, steps: 0 },
    emulator: { config: emulator, params: emulatorInitialParams(emulator), norm: stateNorm, steps: 0 },
    score: {
      config: score,
      params: scoreInitialParams(score),
      norm: identityNorm(vae.latentChannels),
      steps: 0,
    },
  };
}

/**
 * The trained models of `dir` when they load; otherwise the seeded initial weights of `preset`, with the reason.
 * Only a {@link TrainError} (missing, unfinished, corrupt or mismatched checkpoints) falls back.
 */
async function resolveModels(
  dir: string,
  preset: 'ci' | 'small',
): Promise<{ models: LatentModels; weights: string }> {
  try {
    const models = await loadLatentModels(dir);
    const steps = `VAE ${models.vae.steps}, emulator ${models.emulator.steps}, score ${models.score.steps} steps`;
    return { models, weights: `weights: trained (${dir}; ${steps})` };
  } catch (err) {
    if (!(err instanceof TrainError)) throw err;
    const why = err.reason === 'CHECKPOINT_MISSING' ? '' : `: ${err.message}`;
    return {
      models: seededModels(preset),
      weights: `weights: seeded initial values (no trained models in ${dir}${why})`,
    };
  }
}

/** Issue 5's target for one DPS analysis of the qg world. */
const TARGET_S = 2;

/** Issue 12's target: one DPS analysis at most this fraction of the 64-step, 1-correction analysis before. */
const TARGET_RATIO = 0.5;

/** Issue 12's target: N ObsFree candidates in one batched call at most this many single-member DPS analyses. */
const TARGET_CANDIDATES_X = 8;

/** Observation error std in normalised units (any positive value; the cost does not depend on it). */
const OBS_STD = 0.1;

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** One progress line on stderr, rewritten in place on a TTY; plain lines at run ends otherwise. */
function progressLine(label: string, runs: number, steps: number): (run: number, step: number) => void {
  return (run, step) => {
    const line = `  ${label}: run ${run}/${runs}, step ${step}/${steps}`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}   `);
    else if (step === steps) process.stderr.write(`${line}\n`);
  };
}

/** 1 % (or `fraction`) of the grid columns, drawn without replacement, every channel observed there. */
function makeObservations(
  stateShape: readonly [number, number, number],
  fraction: number,
  seed: number,
): Observations {
  const [C, H, W] = stateShape;
  const rng = createRng(seed);
  const truth = rng.fillNormal(new Float32Array(C * H * W)); // [C, H, W], a stand-in field
  const columns = Math.max(1, Math.round(fraction * H * W));
  const cells = Array.from({ length: H * W }, (_, i) => i);
  for (let i = 0; i < columns; i++) {
    const j = i + rng.int(cells.length - i); // partial Fisher-Yates
    [cells[i], cells[j]] = [cells[j] as number, cells[i] as number];
  }
  const channel: number[] = [];
  const row: number[] = [];
  const col: number[] = [];
  const value: number[] = [];
  for (const cell of cells.slice(0, columns)) {
    for (let c = 0; c < C; c++) {
      channel.push(c);
      row.push(Math.floor(cell / W));
      col.push(cell % W);
      value.push((truth[c * H * W + cell] as number) + OBS_STD * rng.normal());
    }
  }
  return griddedObservations({ stateShape, channel, row, col, value, std: OBS_STD });
}

/** The two paths of one DPS analysis (see the module comment). */
type PathName = 'before' | 'after';

const PATH_LABEL: Readonly<Record<PathName, string>> = {
  before: 'before: dps with decoder + VJP ports (eps, decoder, helper per step)',
  after: 'after: dps with the fused denoiseAndDecode port (DPS forward + backward per step)',
};

/** One timed analysis: wall and process CPU time (ms) and its port timings. */
interface RunRecord {
  readonly total: number;
  readonly cpu: number;
  readonly t: PortTimings;
}

/** Runs the sampler benchmark; see the module comment for the flags. */
export async function main(args: readonly string[]): Promise<void> {
  const { values: opt } = parseArgs({
    args: [...args],
    options: {
      preset: { type: 'string', default: 'small' },
      models: { type: 'string' },
      runs: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      steps: { type: 'string', default: '64' },
      corrections: { type: 'string', default: '1' },
      'obs-fraction': { type: 'string', default: '0.01' },
      seed: { type: 'string', default: '0' },
      'peak-gflops': { type: 'string' },
      candidates: { type: 'string', default: '32' },
      'candidate-runs': { type: 'string', default: '2' },
    },
  });
  const preset = opt.preset;
  if (preset !== 'ci' && preset !== 'small') throw new Error(`--preset must be ci or small, got '${preset}'`);
  const runs = Number(opt.runs);
  const warmup = Number(opt.warmup);
  const steps = Number(opt.steps);
  const corrections = Number(opt.corrections);
  const fraction = Number(opt['obs-fraction']);
  const seed = Number(opt.seed);
  const candidates = Number(opt.candidates);
  const candidateRuns = Number(opt['candidate-runs']);
  for (const [name, v, min] of [
    ['runs', runs, 1],
    ['warmup', warmup, 0],
    ['steps', steps, 1],
    ['corrections', corrections, 0],
    ['candidates', candidates, 0],
    ['candidate-runs', candidateRuns, 1],
  ] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
  }
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`--obs-fraction must be in (0, 1], got ${fraction}`);
  const load0 = loadavg();

  // Models: trained or seeded (see the module comment), frozen at batch 1 (one member).
  const modelsDir = path.resolve(opt.models ?? path.join(loadConfig().homeDir, 'models', `qg-${preset}`));
  const { models, weights } = await resolveModels(modelsDir, preset);
  const vCfg = { ...models.vae.config, batch: 1 };
  const sCfg = { ...models.score.config, batch: 1 };
  const latentNorm = models.score.norm;
  const zShape = vaeLatentShape(vCfg);
  const stateShape = [vCfg.channels, vCfg.height, vCfg.width] as const;
  const zSize = zShape.reduce((a, d) => a * d, 1);
  const xSize = stateShape.reduce((a, d) => a * d, 1);
  log(`sampler bench: preset '${preset}', state [${stateShape.join(', ')}], latent [${zShape.join(', ')}]`);
  log(weights);
  log('building graphs and sessions...');
  const runtime: RuntimeOptions = {
    executionProvider: 'cpu',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  };
  const sessions = await createLatentSessions(models, 1, { runtime });
  // The graphs createLatentSessions freezes, built again for their FLOP counts. The DPS forward holds exactly the
  // helper's forward nodes (the eps network, the Tweedie estimate, the decoder) and the DPS backward its gradient
  // nodes (plus weight-only nodes, which the counter skips): their FLOPs are those of the eps and decoder graphs,
  // and the helper's less those.
  const epsFlops = countGraphFlops(buildScoreEps(sCfg)).total;
  const helperFlops = countGraphFlops(buildDpsHelper(sCfg, vCfg, latentNorm)).total;
  const decoderFlops = countGraphFlops(buildVaeDecode(vCfg, latentNorm)).total;
  const flops: Readonly<Record<LatentPortName, number>> = {
    eps: epsFlops,
    helper: helperFlops,
    decoder: decoderFlops,
    encoder: countGraphFlops(buildVaeEncode(vCfg, latentNorm)).total,
    dpsForward: epsFlops + decoderFlops,
    dpsBackward: helperFlops - epsFlops - decoderFlops,
  };

  // Inputs: observations of a seeded stand-in field, a seeded background field (any field: the cost does not
  // depend on it, also with trained models).
  const obs = makeObservations(stateShape, fraction, seed + 1);
  const xb = createRng(seed + 2).fillNormal(new Float32Array(xSize)); // [1, C, H, W]

  // One analysis: z_b = E(x_b); z = sample(eps, dps); x_a = D(z).
  let timings: PortTimings = newTimings();
  const timer: PortTimer = (port, runMs, adapterMs) => {
    const p = timings[port];
    p.calls++;
    p.runMs += runMs;
    p.adapterMs += adapterMs;
    p.perCall.push(runMs);
  };
  const runNo: Record<PathName, number> = { before: 0, after: 0 };
  const show = {
    before: progressLine('DPS analysis, before', warmup + runs, steps),
    after: progressLine('DPS analysis, after', warmup + runs, steps),
  };
  const analysis = async (which: PathName): Promise<{ xa: Float32Array; rec: RunRecord }> => {
    timings = newTimings();
    runNo[which]++;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const encodeOnly = latentPorts(sessions, new Float32Array(zSize), timer);
    const zb = await encodeOnly.encoder(xb, [1, ...stateShape]); // [1, Cz, h, w], standardised
    const ports = latentPorts(sessions, zb, timer);
    const guidance = dps({
      obs,
      decoder: ports.decoder,
      vjp: ports.vjp,
      ...(which === 'after' ? { denoiseAndDecode: ports.denoiseAndDecode } : {}),
    });
    const z = await sample(ports.denoiser, guidance, {
      zShape,
      steps,
      corrections,
      seed,
      onProgress: (_, step) => show[which](runNo[which], step),
    });
    const xa = await ports.decoder(z.data, [1, ...zShape]); // [1, C, H, W]
    const c = process.cpuUsage(c0);
    return { xa, rec: { total: performance.now() - t0, cpu: (c.user + c.system) / 1000, t: timings } };
  };

  // The same analysis with instant ports: what the sampler and the DPS misfit cost in JS alone.
  const zerosLatent = (): Float32Array => new Float32Array(zSize);
  const zerosState = (): Float32Array => new Float32Array(xSize);
  const instant: Readonly<Record<PathName, DpsOptions>> = {
    before: { obs, decoder: zerosState, vjp: zerosLatent },
    after: {
      obs,
      decoder: zerosState,
      vjp: zerosLatent,
      denoiseAndDecode: () => ({ eps: zerosLatent(), x0: zerosState(), vjp: zerosLatent }),
    },
  };
  const nullAnalysis = (which: PathName) => (): Promise<unknown> =>
    sample(zerosLatent, dps(instant[which]), { zShape, steps, corrections, seed });

  // Peak: the engine's GFLOP/s on the engine bench's frozen reference autoencoder (batch 16), same process.
  let peakGflops: number;
  let peakNote: string;
  const ae = buildAutoencoder(0, false);
  const aeFlops = countGraphFlops(ae.graph).total;
  if (opt['peak-gflops'] !== undefined) {
    peakGflops = Number(opt['peak-gflops']);
    if (!(peakGflops > 0)) throw new Error(`--peak-gflops must be > 0, got ${opt['peak-gflops']}`);
    peakNote = 'given by --peak-gflops';
  } else {
    log('measuring the engine peak (frozen reference autoencoder of the engine bench, batch 16)...');
    const aeSession = await createSession(exportInference(ae.graph, ae.graph.initialParams()), runtime);
    const aeX = createRng(seed + 3).fillNormal(new Float32Array(16 * 7 * 32 * 64));
    const aeMs = median(await timeRuns(() => aeSession.run({ x: aeX }), { warmup: 3, runs: 15 }));
    peakGflops = aeFlops / (aeMs * 1e6);
    peakNote = `measured: the engine bench's frozen reference autoencoder, batch 16, ${(aeFlops / 1e9).toFixed(3)} GFLOP in ${aeMs.toFixed(1)} ms (median of 15)`;
  }

  // For scale: the engine's rate on one large dense MatMul, about the best one core does.
  const gemm = new GraphBuilder({ name: 'gemm', seed });
  const [gm, gk, gn] = [512, 1024, 1024];
  gemm.output(gemm.matmul(gemm.input('a', 'float32', [gm, gk]), gemm.param('w', [gk, gn])), 'y'); // [m, n]
  const gemmGraph = gemm.build();
  const gemmSession = await createSession(exportInference(gemmGraph, gemmGraph.initialParams()), runtime);
  const gemmA = createRng(seed + 4).fillNormal(new Float32Array(gm * gk));
  const gemmMs = median(await timeRuns(() => gemmSession.run({ a: gemmA }), { warmup: 3, runs: 15 }));
  const gemmGflops = (2 * gm * gk * gn) / (gemmMs * 1e6);

  log(`JS-only sampler (instant ports)...`);
  const nullMs: Record<PathName, number> = {
    before: median(await timeRuns(nullAnalysis('before'), { warmup: 3, runs: 15 })),
    after: median(await timeRuns(nullAnalysis('after'), { warmup: 3, runs: 15 })),
  };

  log(
    `timing ${warmup} warm-up + ${runs} analyses per path, interleaved (${steps} steps, ${corrections} correction(s))...`,
  );
  const perRun: Record<PathName, RunRecord[]> = { before: [], after: [] };
  const xa: Partial<Record<PathName, Float32Array>> = {};
  let repeatDiff = 0; // max |x_a| difference between runs of one path (the analysis is seeded: 0 expected)
  for (let i = 0; i < warmup + runs; i++) {
    // Alternate which path goes first, so a drift of the machine's load favours neither.
    const order: PathName[] = i % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
    for (const which of order) {
      const r = await analysis(which);
      const prev = xa[which];
      if (prev === undefined) xa[which] = r.xa;
      else repeatDiff = Math.max(repeatDiff, maxAbsDiff(prev, r.xa));
      if (i >= warmup) perRun[which].push(r.rec);
    }
  }
  if (process.stderr.isTTY) process.stderr.write('\n');

  // Step 2: N ObsFree candidates of one condition as one batched call, against one single-member DPS analysis.
  let candidateRows: { batched: RunRecord[]; single: RunRecord[] } | undefined;
  if (candidates > 0) {
    log(`building sessions for ${candidates} members...`);
    const ens = await createLatentSessions(models, candidates, { runtime });
    const drawCandidates = async (): Promise<RunRecord> => {
      timings = newTimings();
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const encodeOnly = latentPorts(sessions, new Float32Array(zSize), timer);
      const zb1 = await encodeOnly.encoder(xb, [1, ...stateShape]); // [1, Cz, h, w]
      const zb = new Float32Array(candidates * zSize); // the condition's latent for every member
      for (let m = 0; m < candidates; m++) zb.set(zb1, m * zSize);
      const ports = latentPorts(ens, zb, timer);
      const z = await sample(ports.denoiser, obsFree(), {
        zShape,
        members: candidates,
        batchSize: candidates,
        steps,
        corrections,
        seed,
      });
      await ports.decoder(z.data, [candidates, ...zShape]); // [N, C, H, W]
      const c = process.cpuUsage(c0);
      return { total: performance.now() - t0, cpu: (c.user + c.system) / 1000, t: timings };
    };
    log(
      `${candidates} ObsFree candidates in one batched call: 1 warm-up (1 step) + ${candidateRuns} runs...`,
    );
    await sample(latentPorts(ens, new Float32Array(candidates * zSize)).denoiser, obsFree(), {
      zShape,
      members: candidates,
      steps: 1,
      seed,
    });
    candidateRows = { batched: [], single: [] };
    for (let i = 0; i < candidateRuns; i++) {
      candidateRows.single.push((await analysis('after')).rec);
      candidateRows.batched.push(await drawCandidates());
      log(`  candidates: run ${i + 1}/${candidateRuns}`);
    }
  }
  const load1 = loadavg();
  await releaseSessions();

  // Report.
  const floorMs = (f: number): number => f / (peakGflops * 1e6);
  const fmt = (v: number, d = 1): string => v.toFixed(d);
  const stagesOf: Readonly<Record<PathName, readonly [LatentPortName, string][]>> = {
    before: [
      ['eps', 'eps network (predictor + corrector)'],
      ['helper', 'DPS helper (eps + decoder forward + VJP)'],
      ['decoder', 'decoder (DPS misfit + final analysis)'],
      ['encoder', 'encoder (z_b = E(x_b))'],
    ],
    after: [
      ['eps', 'eps network (corrector)'],
      ['dpsForward', 'DPS forward (eps, x0, residuals)'],
      ['dpsBackward', 'DPS backward (VJP from the residuals)'],
      ['decoder', 'decoder (final analysis)'],
      ['encoder', 'encoder (z_b = E(x_b))'],
    ],
  };
  const totalFlopsOf = (which: PathName): number =>
    stagesOf[which].reduce((a, [s]) => a + flops[s] * (perRun[which][0]?.t[s].calls ?? 0), 0);
  const stageTable = (which: PathName): string => {
    const runsOf = perRun[which];
    const stages = stagesOf[which];
    const med = (f: (r: RunRecord) => number): number => median(runsOf.map(f));
    const totalMs = med((r) => r.total);
    const pct = (v: number): string => `${((100 * v) / totalMs).toFixed(1)} %`;
    const ported = (r: RunRecord): number =>
      stages.reduce((a, [s]) => a + r.t[s].runMs + r.t[s].adapterMs, 0);
    const adapterMs = med((r) => stages.reduce((a, [s]) => a + r.t[s].adapterMs, 0));
    const otherMs = med((r) => r.total - ported(r) - nullMs[which]);
    const calls = (s: LatentPortName): number => runsOf[0]?.t[s].calls ?? 0;
    const rows: string[][] = [];
    for (const [s, label] of stages) {
      const f = flops[s] * calls(s);
      const ms = med((r) => r.t[s].runMs);
      rows.push([
        label,
        String(calls(s)),
        fmt(median(runsOf.flatMap((r) => r.t[s].perCall)), 2),
        fmt(ms),
        pct(ms),
        fmt(flops[s] / 1e6),
        fmt(f / 1e9, 2),
        fmt(f / (ms * 1e6)),
        fmt(floorMs(f)),
        fmt(ms / floorMs(f), 2),
      ]);
    }
    const none = ['-', '-', '-', '-', '-'];
    rows.push(['port adapters (feeds, unpacking)', '-', '-', fmt(adapterMs), pct(adapterMs), ...none]);
    rows.push([
      'sampler + DPS misfit arithmetic in JS *',
      '-',
      '-',
      fmt(nullMs[which]),
      pct(nullMs[which]),
      ...none,
    ]);
    rows.push(['anything else (total - rows above) **', '-', '-', fmt(otherMs), pct(otherMs), ...none]);
    const totalFlops = totalFlopsOf(which);
    rows.push([
      'total per analysis',
      String(stages.reduce((a, [s]) => a + calls(s), 0)),
      '-',
      fmt(totalMs),
      '100 %',
      '-',
      fmt(totalFlops / 1e9, 2),
      fmt(totalFlops / (totalMs * 1e6)),
      fmt(floorMs(totalFlops)),
      fmt(totalMs / floorMs(totalFlops), 2),
    ]);
    const outsideMs = med((r) => r.total - ported(r));
    return [
      `### ${PATH_LABEL[which]}`,
      '',
      table([
        [
          'stage',
          'calls',
          'ms/call',
          'ms/analysis',
          'share',
          'MFLOP/call',
          'GFLOP/analysis',
          'GFLOP/s',
          'floor ms',
          'measured/floor',
        ],
        ...rows,
      ]),
      '',
      `Process CPU time per analysis: median ${fmt(median(runsOf.map((r) => r.cpu)))} ms (wall ${fmt(totalMs)} ms); time outside the port calls ${fmt(outsideMs)} ms **.`,
    ].join('\n');
  };
  const aeCheck = countFlops().forwardExecuted;
  console.log('');
  console.log(
    `## Sampler benchmark: one DPS analysis, qg world ${stateShape.join('x')} -> latent ${zShape.join('x')}, preset '${preset}', ${steps} steps, ${corrections} correction(s), 1 member`,
  );
  console.log('');
  console.log(
    `Medians of ${runs} analyses per path after ${warmup} warm-up, the two paths interleaved in one process; onnxruntime CPU, 1 intra-op thread, frozen graphs at 'all'; ${obs.values.length} gridded observations (${obs.values.length / stateShape[0]} of ${stateShape[1] * stateShape[2]} columns x ${stateShape[0]} channels, std ${OBS_STD}).`,
  );
  for (const which of ['before', 'after'] as const) {
    console.log('');
    console.log(stageTable(which));
  }
  console.log('');
  console.log(
    `* measured alone: the same sample() + dps() with instant ports returning zeros (median of 15): predictor, Langevin corrector (one normal draw per latent element), Tweedie, H and H^T, the cotangent, the port-output checks.`,
  );
  console.log(
    `** in the timed runs, the time outside the port calls (JS arithmetic, awaits, GC); "anything else" is its difference from the instant-port run: noise between two measurements (negative when the instant-port run was the slower).`,
  );
  console.log(
    `FLOPs: 2 per multiply-add of Conv, ConvTranspose, MatMul, Gemm in each graph (bench/sampler-flops.ts; elementwise ops, norms, softmax not counted); the DPS forward counts as the eps + decoder graphs and the DPS backward as the helper less those (the split keeps the helper's nodes). Check: the reference autoencoder counts ${(aeFlops / 1e9).toFixed(4)} G here vs ${(aeCheck / 1e9).toFixed(4)} G executed conv FLOPs in bench/engine-model.ts.`,
  );
  console.log(`Peak ${peakGflops.toFixed(1)} GFLOP/s, ${peakNote}; floor = FLOPs / peak.`);
  const afterFlops = totalFlopsOf('after');
  const afterMs = median(perRun.after.map((r) => r.total));
  console.log(
    `For scale: one ${gm}x${gk} by ${gk}x${gn} MatMul runs at ${gemmGflops.toFixed(1)} GFLOP/s in the same engine (${gemmMs.toFixed(1)} ms); against that rate the floor after is ${fmt(afterFlops / (gemmGflops * 1e6))} ms and measured/floor ${fmt(afterMs / (afterFlops / (gemmGflops * 1e6)), 2)}.`,
  );

  // Before / after.
  const medOf = (which: PathName, f: (r: RunRecord) => number): number => median(perRun[which].map(f));
  const pairRatio = (f: (r: RunRecord) => number): number =>
    median(perRun.after.map((r, i) => f(r) / f(perRun.before[i] as RunRecord)));
  const wallRatio = medOf('after', (r) => r.total) / medOf('before', (r) => r.total);
  const cpuRatio = medOf('after', (r) => r.cpu) / medOf('before', (r) => r.cpu);
  const flopRatio = afterFlops / totalFlopsOf('before');
  const xb0 = xa.before ?? new Float32Array();
  const xa0 = xa.after ?? new Float32Array();
  console.log('');
  console.log('### Before / after (same process, interleaved)');
  console.log('');
  console.log(
    table([
      ['path', 'wall ms (median)', 'CPU ms (median)', 'GFLOP/analysis', 'network calls/analysis'],
      ...(['before', 'after'] as const).map((w) => [
        PATH_LABEL[w],
        fmt(medOf(w, (r) => r.total)),
        fmt(medOf(w, (r) => r.cpu)),
        fmt(totalFlopsOf(w) / 1e9, 2),
        String(stagesOf[w].reduce((a, [s]) => a + (perRun[w][0]?.t[s].calls ?? 0), 0)),
      ]),
      [
        'ratio after / before (of medians; median of per-pair ratios)',
        `${fmt(wallRatio, 3)}; ${fmt(
          pairRatio((r) => r.total),
          3,
        )}`,
        `${fmt(cpuRatio, 3)}; ${fmt(
          pairRatio((r) => r.cpu),
          3,
        )}`,
        fmt(flopRatio, 3),
        '-',
      ],
    ]),
  );
  console.log('');
  console.log(
    `Analyses: max |x_a(after) - x_a(before)| = ${maxAbsDiff(xa0, xb0).toExponential(2)} (max |x_a| ${maxAbs(xb0).toExponential(2)}; same seed, float32 round-off of the fused forward carried through ${steps} steps); between runs of one path ${repeatDiff.toExponential(2)}.`,
  );
  console.log(
    `Target (issue 12): one DPS analysis at most ${TARGET_RATIO}x the ${steps}-step, ${corrections}-correction analysis before -> ${wallRatio <= TARGET_RATIO ? 'MET' : 'NOT MET'} (wall ${fmt(wallRatio, 3)}x, CPU ${fmt(cpuRatio, 3)}x, FLOPs ${fmt(flopRatio, 3)}x).`,
  );

  if (candidateRows !== undefined) {
    const { batched, single } = candidateRows;
    const mB = median(batched.map((r) => r.total));
    const mS = median(single.map((r) => r.total));
    const cB = median(batched.map((r) => r.cpu));
    const cS = median(single.map((r) => r.cpu));
    const fB =
      flops.encoder + steps * (1 + corrections) * candidates * flops.eps + candidates * flops.decoder;
    console.log('');
    console.log(
      `### ${candidates} ObsFree candidates of one condition, one batched call, vs one single-member DPS analysis (after)`,
    );
    console.log('');
    console.log(
      table([
        ['run', 'wall ms (median)', 'CPU ms (median)', 'GFLOP', 'GFLOP/s (wall)'],
        [
          `${candidates} ObsFree candidates (members as the batch; encode, ${steps} steps, ${corrections} correction(s), decode)`,
          fmt(mB),
          fmt(cB),
          fmt(fB / 1e9, 2),
          fmt(fB / (mB * 1e6)),
        ],
        [
          'one DPS analysis, 1 member (after)',
          fmt(mS),
          fmt(cS),
          fmt(afterFlops / 1e9, 2),
          fmt(afterFlops / (mS * 1e6)),
        ],
        [
          'ratio candidates / DPS (of medians; median of per-pair ratios)',
          `${fmt(mB / mS, 2)}; ${fmt(median(batched.map((r, i) => r.total / (single[i] as RunRecord).total)), 2)}`,
          `${fmt(cB / cS, 2)}; ${fmt(median(batched.map((r, i) => r.cpu / (single[i] as RunRecord).cpu)), 2)}`,
          fmt(fB / afterFlops, 2),
          '-',
        ],
      ]),
    );
    console.log('');
    console.log(
      `Target (issue 12): ${candidates} candidates at most ${TARGET_CANDIDATES_X}x one DPS analysis -> ${mB / mS <= TARGET_CANDIDATES_X ? 'MET' : 'NOT MET'} (wall ${fmt(mB / mS, 2)}x, CPU ${fmt(cB / cS, 2)}x; medians of ${candidateRuns} interleaved runs).`,
    );
  }
  console.log('');
  console.log(
    `Load average ${load0.map((v) => v.toFixed(2)).join(' ')} at start, ${load1.map((v) => v.toFixed(2)).join(' ')} at end (2 shared cores).`,
  );
  console.log(
    `${weights}. The background and observations are seeded stand-in fields; the cost of these dense graphs depends on neither weight nor input values.`,
  );
  console.log(
    `Target (issue 5): one DPS analysis of the qg world under ${TARGET_S} s on one core -> ${afterMs < TARGET_S * 1000 ? 'MET' : 'NOT MET'} (after: median ${(afterMs / 1000).toFixed(2)} s${preset === 'small' ? '' : `; preset '${preset}', the target is meant for 'small'`}).`,
  );
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * Fits and tunes the classical cycled methods on the training nature run, never on the scored one:
 * 1. a first B from 48 h forecasts of the truth (the single-analysis regime; univariate, 1000 km, not tuned);
 * 2. an offline 3D-Var cycle with it over the train period, whose 6 h (background, truth) pairs give the B
 *    statistics of the cycled 3D-Vars (separable: univariate variances per channel and latitude; balanced:
 *    control-variable statistics, length scales and the background bias);
 * 3. short cycles on the alignment period choose the 3D-Var length scale, the balanced B's length-scale multiplier,
 *    the LETKF's inflation and half-width, then hybrid EnVar's weight and half-width with those (the mean analysis
 *    MSE of each candidate's short cycle, second half).
 * The result is plain numbers ({@link CycleSetup}); {@link classicalAnalysers} rebuilds the methods from it, so a
 * resumed cycle runs the same methods without refitting.
 */
import {
  biasCorrect,
  createBSqrt,
  createBalancedBSqrt,
  estimateBackgroundError,
  estimateBalancedStats,
} from '@alignda/da';
import type { BSqrt, BackgroundErrorStats } from '@alignda/da';
import { AppError } from '@alignda/errors';

import { pickCases } from './cases.js';
import { hybridAnalyser } from './cycle-hybrid.js';
import type { ResolvedCycleOptions } from './cycle-options.js';
import { shortCycle } from './cycle-short.js';
import type { ShortCycleSpec } from './cycle-short.js';
import { letkfAnalyser, rmse, var3dAnalyser } from './cycle-step.js';
import type { CycleAnalyser, CycleWorld, Perturb } from './cycle-step.js';
import type { CycleSetup, CycleTuneRow, PlainErrorStats } from './cycle-types.js';
import { localisationSqrts } from './ensemble.js';
import { balanceSpec } from './evaluate-latent.js';

/** Length scale of the offline cycle's first B, metres: [choice] mid-range of the cycled candidates, not tuned. */
export const FIRST_LENGTH_SCALE_M = 1000e3;

/** B statistics as plain numbers. */
export function plainStats(s: BackgroundErrorStats): PlainErrorStats {
  return {
    stateShape: s.stateShape,
    perLatitude: s.perLatitude,
    variance: Array.from(s.variance),
    bias: Array.from(s.bias),
    ...(s.channelCorrelation === undefined ? {} : { channelCorrelation: Array.from(s.channelCorrelation) }),
    samples: s.samples,
  };
}

/** Plain B statistics back as packages/da's. */
export function typedStats(s: PlainErrorStats): BackgroundErrorStats {
  return {
    stateShape: s.stateShape,
    perLatitude: s.perLatitude,
    variance: Float64Array.from(s.variance),
    bias: Float64Array.from(s.bias),
    ...(s.channelCorrelation === undefined
      ? {}
      : { channelCorrelation: Float64Array.from(s.channelCorrelation) }),
    samples: s.samples,
  };
}

function periodOf(world: CycleWorld, name: 'train' | 'alignment', cycles: number): number {
  const period = world.source.periods[name];
  if (period === undefined)
    throw new AppError('INVALID_ARGUMENT', `the training source has no ${name} period to tune on`);
  const need = cycles * world.steps + 1;
  if (period[1] - period[0] < need)
    throw new AppError(
      'INVALID_ARGUMENT',
      `the training run's ${name} period holds ${period[1] - period[0]} states; ${cycles} cycles need ${need}: use a longer training run or fewer cycles`,
    );
  return period[0];
}

/** Grid search by short cycles: each candidate's mean analysis MSE, the best first of equals. */
async function tuneByCycles<T extends Record<string, number>>(
  candidates: readonly T[],
  build: (c: T) => CycleAnalyser,
  world: CycleWorld,
  spec: Omit<ShortCycleSpec, 'onCycle'>,
  progress: (f: number) => void,
): Promise<{ best: T; table: CycleTuneRow[] }> {
  const table: CycleTuneRow[] = [];
  let best = candidates[0] as T;
  if (candidates.length === 1) return { best, table };
  let bestMse = Infinity;
  for (const [k, c] of candidates.entries()) {
    const mse = await shortCycle(world, build(c), spec);
    table.push({ candidate: c, mse });
    if (mse < bestMse) {
      bestMse = mse;
      best = c;
    }
    progress((k + 1) / candidates.length);
  }
  return { best, table };
}

/** 6 h pairs of the offline 3D-Var cycle, and its scores. */
async function offlinePairs(
  world: CycleWorld,
  o: ResolvedCycleOptions,
  perturb: Perturb,
  progress: (stage: string, f: number) => void,
): Promise<{
  background: Float32Array;
  truth: Float32Array;
  count: number;
  setup: NonNullable<CycleSetup['offline']>;
}> {
  const [C, H, W] = world.shape;
  const n = C * H * W;
  // The first B: 48 h forecasts (in whole intervals) of the truth, the single-analysis table's regime.
  const lead = Math.max(1, Math.round(48 / o.intervalHours)) * world.steps;
  const [lo, hi] = world.source.periods.train;
  const idx = pickCases(lo + lead, hi, o.pairs48, false);
  const bg48 = new Float32Array(idx.length * n);
  const tr48 = new Float32Array(idx.length * n);
  for (const [k, i] of idx.entries()) {
    let x = world.truth(i - lead);
    for (let s = i - lead; s < i; s += world.steps) x = await world.forecast(x, s);
    bg48.set(x, k * n);
    tr48.set(world.truth(i), k * n);
    progress('cycle setup: 48 h pairs', (k + 1) / idx.length);
  }
  const shape4 = [idx.length, C, H, W];
  const stats48 = estimateBackgroundError(
    { data: bg48, shape: shape4 },
    { data: tr48, shape: shape4 },
    {
      perLatitude: true,
    },
  );
  const b48 = createBSqrt(world.source.grid, stats48, { lengthScaleM: FIRST_LENGTH_SCALE_M });
  const count = o.offlineCycles - o.offlineBurnIn;
  const background = new Float32Array(count * n);
  const truth = new Float32Array(count * n);
  let sb = 0;
  let sa = 0;
  const start = periodOf(world, 'train', o.offlineCycles);
  await shortCycle(world, var3dAnalyser('offline-3dvar', world, b48, o.cgTol), {
    start,
    cycles: o.offlineCycles,
    stream: 'offline',
    perturb,
    o,
    onCycle: (k, out, t) => {
      progress('cycle setup: offline 3D-Var cycle', (k + 1) / o.offlineCycles);
      if (k < o.offlineBurnIn) return;
      const j = k - o.offlineBurnIn;
      background.set(out.background, j * n);
      truth.set(t, j * n);
      sb += rmse(out.background, t) / count;
      sa += rmse(out.analysis, t) / count;
    },
  });
  return {
    background,
    truth,
    count,
    setup: { cycles: o.offlineCycles, pairs: count, meanBackgroundRmse: sb, meanAnalysisRmse: sa },
  };
}

/**
 * Fits and tunes the classical methods among `o.methods` on the training world (see the module comment).
 * @throws AppError `INVALID_ARGUMENT` when the training run's periods are too short, `FAILED_PRECONDITION` when the
 *   balanced 3D-Var is asked of a source that declares no balance
 */
export async function fitCycleSetup(
  world: CycleWorld,
  o: ResolvedCycleOptions,
  base: Pick<CycleSetup, 'norm' | 'climStd' | 'threshold'>,
  perturb: Perturb,
  progress: (stage: string, f: number) => void,
): Promise<CycleSetup> {
  const has = (m: string): boolean => (o.methods as readonly string[]).includes(m);
  const [C, H, W] = world.shape;
  const grid = world.source.grid;
  // Hybrid EnVar's B_clim is the balanced B, and its ensemble is cycled with the LETKF's settings.
  const needsBalanced = has('3dvar-bal') || has('hybrid');
  const balance = needsBalanced ? balanceSpec(world.source, base.norm.std) : undefined;
  if (needsBalanced && balance === undefined)
    throw new AppError(
      'FAILED_PRECONDITION',
      `${world.source.name} declares no balance (geostrophic levels and dynamics): the balanced 3D-Var${has('hybrid') ? " (hybrid EnVar's B_clim)" : ''} cannot be built`,
    );
  const tuneStart = periodOf(world, 'alignment', o.tuneCycles);
  const spec = { start: tuneStart, cycles: o.tuneCycles, stream: 'tune', perturb, o };
  let setup: CycleSetup = base;
  if (has('3dvar') || needsBalanced) {
    const pairs = await offlinePairs(world, o, perturb, progress);
    setup = { ...setup, offline: pairs.setup };
    const shape4 = [pairs.count, C, H, W];
    const bg = { data: pairs.background, shape: shape4 };
    const tr = { data: pairs.truth, shape: shape4 };
    if (has('3dvar')) {
      // Univariate: pointwise channel correlations turned wind innovations into grid-scale geopotential increments,
      // whose geostrophic winds blew a trial cycle up (RMSE 27 in 24 cycles).
      const stats = estimateBackgroundError(bg, tr, { perLatitude: true });
      const t = await tuneByCycles(
        o.lengthScalesKm.map((km) => ({ lengthScaleKm: km })),
        (c) =>
          var3dAnalyser(
            '3dvar',
            world,
            createBSqrt(grid, stats, { lengthScaleM: c.lengthScaleKm * 1000 }),
            o.cgTol,
          ),
        world,
        spec,
        (f) => progress('cycle setup: tune 3D-Var', f),
      );
      setup = {
        ...setup,
        var3d: { stats: plainStats(stats), lengthScaleKm: t.best.lengthScaleKm, tuning: t.table },
      };
    }
    if (balance !== undefined) {
      const bal = estimateBalancedStats(bg, tr, grid, balance, { perLatitude: true });
      const scales = Array.from(bal.lengthScalesM, (l) => l / 1000);
      const plain = {
        error: plainStats(bal.error),
        control: plainStats(bal.control),
        lengthScalesKm: scales,
      };
      const t = await tuneByCycles(
        o.multipliers.map((m) => ({ multiplier: m })),
        (c) => balancedAnalyser(world, { ...plain, multiplier: c.multiplier, tuning: [] }, o.cgTol),
        world,
        spec,
        (f) => progress('cycle setup: tune balanced 3D-Var', f),
      );
      setup = { ...setup, balanced: { ...plain, multiplier: t.best.multiplier, tuning: t.table } };
    }
  }
  if (has('letkf') || has('hybrid')) {
    const cands = o.inflations.flatMap((inflation) =>
      o.rtps.flatMap((rtps) => o.halfWidthsKm.map((halfWidthKm) => ({ inflation, rtps, halfWidthKm }))),
    );
    const t = await tuneByCycles(
      cands,
      (c) => letkfOf(world, o, perturb, c),
      world,
      spec,
      (f) => progress('cycle setup: tune LETKF', f),
    );
    setup = { ...setup, letkf: { ...t.best, tuning: t.table } };
  }
  if (has('hybrid')) {
    const cands = o.hybridWeights.flatMap((weight) =>
      o.hybridHalfWidthsKm.map((halfWidthKm) => ({ weight, halfWidthKm })),
    );
    const locSqrt = localisationSqrts(grid);
    const t = await tuneByCycles(
      cands,
      (c) => hybridOf(world, o, perturb, setup, { ...c, tuning: [] }, locSqrt),
      world,
      spec,
      (f) => progress('cycle setup: tune hybrid EnVar', f),
    );
    setup = { ...setup, hybrid: { ...t.best, tuning: t.table } };
  }
  return setup;
}

/** The cycled hybrid EnVar of a setup with its balanced B and LETKF settings. */
function hybridOf(
  world: CycleWorld,
  o: ResolvedCycleOptions,
  perturb: Perturb,
  setup: CycleSetup,
  h: NonNullable<CycleSetup['hybrid']>,
  locSqrt: ReturnType<typeof localisationSqrts>,
): CycleAnalyser {
  const { balanced: b, letkf: l } = setup;
  if (b === undefined || l === undefined)
    throw new AppError('INTERNAL', 'hybrid EnVar needs the balanced B and the LETKF settings in the setup');
  const { bSqrt, correct } = balancedB(world, b);
  return hybridAnalyser(world, {
    members: o.members,
    inflation: l.inflation,
    rtps: l.rtps,
    letkfHalfWidthM: l.halfWidthKm * 1000,
    perturb,
    initialError: o.initialError,
    bSqrt,
    correct,
    weight: h.weight,
    localisation: locSqrt(h.halfWidthKm * 1000),
    cgTol: o.cgTol,
  });
}

function balancedAnalyser(
  world: CycleWorld,
  b: NonNullable<CycleSetup['balanced']>,
  cgTol: number,
): CycleAnalyser {
  const { bSqrt, correct } = balancedB(world, b);
  return var3dAnalyser('3dvar-bal', world, bSqrt, cgTol, correct);
}

/** The balanced B^(1/2) of a setup and its background bias correction. */
function balancedB(
  world: CycleWorld,
  b: NonNullable<CycleSetup['balanced']>,
): { bSqrt: BSqrt; correct: (bg: Float32Array) => Float64Array } {
  const balance = balanceSpec(world.source, world.norm.std);
  if (balance === undefined)
    throw new AppError(
      'FAILED_PRECONDITION',
      `${world.source.name} declares no balance for the balanced 3D-Var`,
    );
  const error = typedStats(b.error);
  const bSqrt = createBalancedBSqrt(world.source.grid, typedStats(b.control), balance, {
    kind: 'gaussian',
    lengthScalesM: b.lengthScalesKm.map((km) => km * 1000 * b.multiplier),
  });
  return { bSqrt, correct: (bg) => biasCorrect(bg, error) };
}

function letkfOf(
  world: CycleWorld,
  o: ResolvedCycleOptions,
  perturb: Perturb,
  c: { readonly inflation: number; readonly rtps: number; readonly halfWidthKm: number },
): CycleAnalyser {
  return letkfAnalyser(world, {
    members: o.members,
    inflation: c.inflation,
    rtps: c.rtps,
    halfWidthM: c.halfWidthKm * 1000,
    perturb,
    initialError: o.initialError,
  });
}

/** The classical methods of `o.methods`, rebuilt from the setup on the scored world. */
export function classicalAnalysers(
  world: CycleWorld,
  setup: CycleSetup,
  o: ResolvedCycleOptions,
  perturb: Perturb,
): CycleAnalyser[] {
  const out: CycleAnalyser[] = [];
  for (const m of o.methods) {
    if (m === '3dvar' && setup.var3d !== undefined)
      out.push(
        var3dAnalyser(
          '3dvar',
          world,
          createBSqrt(world.source.grid, typedStats(setup.var3d.stats), {
            lengthScaleM: setup.var3d.lengthScaleKm * 1000,
          }),
          o.cgTol,
        ),
      );
    if (m === '3dvar-bal' && setup.balanced !== undefined)
      out.push(balancedAnalyser(world, setup.balanced, o.cgTol));
    if (m === 'letkf' && setup.letkf !== undefined) out.push(letkfOf(world, o, perturb, setup.letkf));
    if (m === 'hybrid' && setup.hybrid !== undefined)
      out.push(hybridOf(world, o, perturb, setup, setup.hybrid, localisationSqrts(world.source.grid)));
  }
  return out;
}

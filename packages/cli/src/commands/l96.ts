import {
  L96_CONFIGS,
  L96_DEFAULT_SEED,
  L96_SOURCE,
  L96_TUNE_SEED,
  runL96Benchmark,
  tuneL96Inflation,
} from '@alignda/pipelines';
import type { L96Row } from '@alignda/pipelines';
import type { Command } from 'commander';

import { intArg } from '../args.js';
import { formatTable } from '../format.js';
import { createProgress } from '../progress.js';

/** A row is reproduced when our RMSE is within this fraction of the published one (issue 11, "Done when"). */
const TOLERANCE = 0.15;

interface L96Flags {
  cycles: number;
  seed: number;
  tune: boolean;
  check: boolean;
}

/** The benchmark's table: method, settings, our RMSE and spread, the published figure, the ratio, the verdict. */
function formatRows(rows: readonly L96Row[]): string {
  return formatTable(
    ['method', 'settings', 'rmse', 'spread', 'published', 'ratio', 'within 15 %'],
    rows.map((r) => [
      r.method,
      r.settings,
      r.rmse.toFixed(4),
      r.spread === undefined ? '-' : r.spread.toFixed(4),
      r.published === null ? '-' : String(r.published),
      r.ratio === null ? '-' : r.ratio.toFixed(3),
      r.ratio === null ? '-' : Math.abs(r.ratio - 1) <= TOLERANCE ? 'yes' : 'NO',
    ]),
    '  ',
  );
}

function runBenchmark(opts: L96Flags): void {
  const progress = createProgress();
  const t0 = performance.now();
  const result = runL96Benchmark({
    cycles: opts.cycles,
    seed: opts.seed,
    onProgress: (stage, f) => progress.update(stage, f),
  });
  progress.stop();
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `Lorenz-96 (Nx 40, F 8, RK4 dt 0.05), every variable observed every step with error variance 1: ` +
      `${result.cycles} cycles scored after a ${result.burnIn}-cycle burn-in, seed ${result.seed}, ${secs.toFixed(1)} s`,
  );
  console.log(`published: ${L96_SOURCE.repository} ${L96_SOURCE.path} @ ${L96_SOURCE.commit} (rmse.a)`);
  console.log(formatRows(result.rows));
  const scored = result.rows.filter((r) => r.ratio !== null);
  const within = scored.filter((r) => Math.abs((r.ratio as number) - 1) <= TOLERANCE);
  console.log(`${within.length}/${scored.length} published rows within 15 %`);
  if (opts.check && within.length < scored.length) process.exitCode = 1;
}

function runTuning(opts: L96Flags): void {
  const progress = createProgress();
  const onProgress = (stage: string, f: number): void => progress.update(stage, f);
  const common = { N: 40, cycles: opts.cycles, onProgress };
  const enkf = tuneL96Inflation({ ...common, inflations: [1.01, 1.015, 1.02, 1.03] });
  const letkf = tuneL96Inflation({ ...common, inflations: [1.01, 1.015, 1.02], locRadii: [8, 16] });
  progress.stop();
  console.log(
    `N = 40 tuning on seeds ${L96_TUNE_SEED} and ${L96_TUNE_SEED + 1}, ${opts.cycles} cycles after the 400-cycle ` +
      'burn-in each (rmse.a, mean over the seeds)',
  );
  for (const [name, t] of [
    ['EnKF sqrt', enkf],
    ['LETKF', letkf],
  ] as const) {
    console.log(
      formatTable(
        [name, 'loc_rad', 'infl', 'rmse', 'per seed'],
        t.table.map((r) => [
          r === t.best ? 'best' : '',
          r.locRadius === undefined ? '-' : String(r.locRadius),
          String(r.inflation),
          r.rmse.toFixed(4),
          r.perSeed.map((x) => x.toFixed(4)).join(' '),
        ]),
        '  ',
      ),
    );
  }
}

/**
 * Registers `alignda l96`: DAPPER's published Lorenz-96 configurations (Sakov 2008 setup; EnKF sqrt, LETKF,
 * 3D-Var, OI, climatology) and our N = 40 rows as seeded twin experiments (packages/pipelines `runL96Benchmark`),
 * printed beside the published analysis RMSE with the ratio and whether it is within 15 %.
 */
export function registerL96Command(program: Command): void {
  program
    .command('l96')
    .description(
      "Lorenz-96 twin experiments: DAPPER's Sakov 2008 configurations beside their published analysis RMSE",
    )
    .option('--cycles <n>', 'scored cycles after the 400-cycle burn-in', intArg('--cycles', 1), 10_000)
    .option(
      '--seed <n>',
      'seed of the truth, the observation noise and the ensembles',
      intArg('--seed', 0),
      L96_DEFAULT_SEED,
    )
    .option('--check', 'exit with status 1 unless every published row is within 15 %', false)
    .option(
      '--tune',
      `instead, rerun the N = 40 tuning on its own seeds (${L96_TUNE_SEED}, ${L96_TUNE_SEED + 1}), --cycles each`,
      false,
    )
    .addHelpText(
      'after',
      `\nRows: ${L96_CONFIGS.map((c) => c.id).join(', ')}. Published figures: ${L96_SOURCE.path} @ ${L96_SOURCE.commit.slice(0, 12)}.`,
    )
    .action((opts: L96Flags) => (opts.tune ? runTuning(opts) : runBenchmark(opts)));
}

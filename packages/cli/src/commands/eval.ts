import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { loadConfig } from '@alignda/config';
import { AppError } from '@alignda/errors';
import type { AppErrorCode } from '@alignda/errors';
import { TrainError, loadLatentModels } from '@alignda/nn';
import type { TrainErrorCode } from '@alignda/nn';
import type { Command } from 'commander';
import { intArg, numArg } from '../args.js';
import { Option } from 'commander';

import { analysisMapsPng } from '../experiments/analysis-maps.js';
import {
  LATENT_MODES,
  METHODS,
  METHOD_TITLES,
  geoLevels,
  runLatentEval,
} from '../experiments/latent-eval.js';
import type { LatentEvalResult, Method, MethodScores } from '../experiments/latent-eval.js';
import { recordEvaluation } from '../experiments/record-eval.js';
import { openSource } from '../experiments/sources.js';
import { createStationVerifier } from '../experiments/station-verify.js';
import type { StationScore } from '../experiments/station-verify.js';
import { formatTable, mean, std } from '../format.js';
import { createProgress } from '../progress.js';
import { PRESETS, addSourceOptions, modelDir, sourceChoice } from './train.js';
import type { Preset } from './train.js';

/** Options of `alignda eval`. */
export interface EvalOptions {
  world?: string;
  dataset?: string;
  seed: number;
  years?: number;
  preset: Preset;
  models?: string;
  obsFraction: number;
  noise: number;
  cases: number;
  members: number;
  steps: number;
  corrections: number;
  zeta?: number;
  blend?: number;
  lengthScaleKm?: number;
  sampleSeed: number;
  out?: string;
}

const APP_CODE: Record<TrainErrorCode, AppErrorCode> = {
  CHECKPOINT_MISSING: 'FAILED_PRECONDITION',
  CHECKPOINT_CORRUPT: 'FAILED_PRECONDITION',
  CHECKPOINT_MISMATCH: 'FAILED_PRECONDITION',
  NON_FINITE_LOSS: 'INTERNAL',
};

/** `mean +- std` with a precision that suits the magnitude. */
function pm(xs: readonly number[]): string {
  const m = mean(xs);
  if (!Number.isFinite(m)) return '-';
  const digits = Math.abs(m) >= 100 ? 1 : Math.abs(m) >= 1 ? 3 : 4;
  return `${m.toFixed(digits)} +- ${std(xs).toFixed(digits)}`;
}

/** Share of cases where `a` is below `b` on a metric. */
function wins(res: LatentEvalResult, a: Method, b: Method, metric: (s: MethodScores) => number): string {
  const n = res.cases.filter((c) => metric(c.scores[a]) < metric(c.scores[b])).length;
  return `${n}/${res.cases.length}`;
}

/** The rows of the result table: one per metric, one column per method. */
function tableRows(
  res: LatentEvalResult,
  channels: readonly string[],
  units: readonly string[],
  showGeo: boolean,
): string[][] {
  const col = (f: (s: MethodScores) => number): string[] =>
    METHODS.map((m) => pm(res.cases.map((c) => f(c.scores[m]))));
  const rows: string[][] = [
    ['MSE (normalised)', ...col((s) => s.mse)],
    ['MAE (normalised)', ...col((s) => s.mae)],
  ];
  const keys = channels.length > 1 ? ['z_upper', 'u_upper', 'z_lower', 'u_lower', 't'] : channels;
  for (const name of keys) {
    const c = channels.indexOf(name);
    if (c < 0) continue;
    rows.push([`WRMSE ${name} (${units[c] ?? ''})`, ...col((s) => s.wrmse[c] as number)]);
  }
  rows.push(['48 h forecast MSE', ...col((s) => s.forecastMse)]);
  if (showGeo) {
    rows.push([
      `geostrophic deviation D (truth ${mean(res.cases.map((c) => c.truthGeoDeviation)).toFixed(3)})`,
      ...col((s) => s.geoDeviation),
    ]);
    rows.push(['Geo-Score', ...col((s) => s.geoScore)]);
  }
  if (res.cases[0]?.scores.dps.spread !== undefined)
    rows.push([
      'ensemble spread',
      '-',
      ...LATENT_MODES.map((m) => pm(res.cases.map((c) => c.scores[m].spread ?? Number.NaN))),
      '-',
    ]);
  rows.push(['seconds per analysis', ...col((s) => s.seconds)]);
  return rows;
}

/**
 * Registers `alignda eval`: latent DA (ObsFree, Repaint, DPS) against the background and 3D-Var on held-out cases
 * of the synthetic world or a real dataset, with trained models from `alignda train`. Prints the table, writes JSON
 * and PNG maps of the first case, and on real data verifies every analysis against the station observations.
 */
export function registerEvalCommand(program: Command): void {
  const cmd = program
    .command('eval')
    .description('evaluate ObsFree, Repaint and DPS against the background and 3D-Var on held-out cases');
  addSourceOptions(cmd)
    .addOption(new Option('--preset <preset>', 'which trained models').choices(PRESETS).default('ci'))
    .option('--models <dir>', 'model folder (default: <ALIGNDA_HOME>/models/<source>-<preset>)')
    .option(
      '--obs-fraction <f>',
      'share of grid columns observed',
      numArg('--obs-fraction', 0, 1, true),
      0.01,
    )
    .option(
      '--noise <sigma>',
      'observation noise std, normalised units (0: noise-free)',
      numArg('--noise', 0, 10, false),
      0,
    )
    .option('--cases <n>', 'held-out cases (whole days of 4 on real data)', intArg('--cases', 1, 1000), 8)
    .option(
      '--members <n>',
      'ensemble members per latent analysis (their mean is scored)',
      intArg('--members', 1, 64),
      1,
    )
    .option('--steps <n>', 'sampler predictor steps', intArg('--steps', 1, 4096), 64)
    .option('--corrections <n>', 'Langevin corrections per step', intArg('--corrections', 0, 16), 1)
    .option(
      '--zeta <z>',
      'DPS step scale (default: tuned on held-out alignment-period cases)',
      numArg('--zeta', 0, 100, true),
    )
    .option(
      '--blend <w>',
      'Repaint blend weight (default: tuned on held-out alignment-period cases)',
      numArg('--blend', 0, 1, true),
    )
    .option(
      '--length-scale-km <km>',
      "3D-Var's correlation length scale (default: tuned on the same cases)",
      numArg('--length-scale-km', 0, 20000, true),
    )
    .option(
      '--sample-seed <n>',
      'seed of case picks, observations and sampler noise',
      intArg('--sample-seed', 0, 2 ** 31 - 1),
      7,
    )
    .option('--out <dir>', 'output folder (default: <ALIGNDA_HOME>/eval/<source>-<preset>)')
    .action(async (opts: EvalOptions) => {
      await runEval(opts);
    });
}

/** What {@link runEval} wrote and its summary (mean and std over cases per method and metric). */
export interface EvalOutcome {
  readonly json: string;
  readonly summary: Record<string, unknown>;
  readonly stations: Record<string, StationScore> | null;
}

/** The body of `alignda eval` (also run by the demo). */
export async function runEval(opts: EvalOptions): Promise<EvalOutcome> {
  const config = loadConfig();
  const progress = createProgress();
  // The models first: a missing model folder is reported before any nature run is generated.
  const choice = sourceChoice(opts, opts.preset, (s, f) => progress.update(s, f));
  const name = choice.dataset ?? choice.world ?? 'qg';
  const dir = path.resolve(opts.models ?? modelDir(config.homeDir, name, opts.preset));
  const models = await loadLatentModels(dir).catch((err: unknown) => {
    if (err instanceof TrainError) {
      const how = choice.dataset !== undefined ? `--dataset ${name}` : `--world ${name}`;
      const what =
        err.code === 'CHECKPOINT_MISSING'
          ? `no trained models in ${dir} (${err.message.replace(/ to resume from$/, '')})`
          : err.message;
      throw new AppError(
        APP_CODE[err.code],
        `${what}; train them first: alignda train ${how} --preset ${opts.preset}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  });
  const src = await openSource(config, choice);
  progress.stop();
  const out = path.resolve(opts.out ?? path.join(config.homeDir, 'eval', `${src.name}-${opts.preset}`));
  mkdirSync(out, { recursive: true });
  const stations =
    src.kind === 'dataset'
      ? await createStationVerifier(config.dataDir, src.grid, src.shape, src.validMask)
      : undefined;
  console.log(
    `${src.title}; models ${dir} (VAE ${models.vae.steps}, emulator ${models.emulator.steps}, score ${models.score.steps} steps)`,
  );
  console.log(
    `${opts.cases} test cases, ${(opts.obsFraction * 100).toFixed(2)} % of columns observed, noise ${opts.noise} (R std ${Math.max(opts.noise, 0.02)}), ` +
      `${opts.members} member(s), ${opts.steps} steps x ${opts.corrections} correction(s), 48 h emulator backgrounds`,
  );
  const t0 = performance.now();
  const res = await runLatentEval(src, models, {
    obsFraction: opts.obsFraction,
    noiseStd: opts.noise,
    cases: opts.cases,
    members: opts.members,
    steps: opts.steps,
    corrections: opts.corrections,
    seed: opts.sampleSeed,
    wholeDays: stations !== undefined,
    ...(opts.zeta === undefined ? {} : { zeta: opts.zeta }),
    ...(opts.blend === undefined ? {} : { blend: opts.blend }),
    ...(opts.lengthScaleKm === undefined ? {} : { lengthScaleKm: opts.lengthScaleKm }),
    onProgress: (s, f) => progress.update(s, f),
    onAnalysis: (_k, i, method, field) => {
      if (stations === undefined) return;
      const time = src.timeOf(i);
      stations.add(METHOD_TITLES[method], time, field);
      if (method === 'background') stations.add('reanalysis (truth)', time, src.field(i));
    },
  });
  progress.stop();
  const tuneLine = (
    name: string,
    rows: readonly { value: number; mse: number }[],
    used: number | undefined,
  ): string =>
    `${name} ${used ?? 'default'}${rows.length === 0 ? ' (given)' : ` (tuned: ${rows.map((r) => `${r.value}:${r.mse.toFixed(4)}`).join(' ')})`}`;
  console.log(
    `${tuneLine('DPS zeta', res.latentTuning.dps, res.zeta)}; ${tuneLine('Repaint blend', res.latentTuning.repaint, res.blend)}`,
  );
  const showGeo = geoLevels(src.channels).length > 0;
  console.log(
    `3D-Var length scale ${res.lengthScaleKm} km (${opts.lengthScaleKm !== undefined ? 'given' : `tuned on ${res.tunedOn}-period cases: ${res.tuning.map((r) => `${r.lengthScaleKm}:${r.mse.toFixed(4)}`).join(' ')}`})`,
  );
  console.log(
    formatTable(
      ['', ...METHODS.map((m) => METHOD_TITLES[m])],
      tableRows(res, src.channels, src.units, showGeo),
      '  ',
    ),
  );
  const mseOf = (s: MethodScores): number => s.mse;
  const fcOf = (s: MethodScores): number => s.forecastMse;
  const paired = [
    `cases where (lower MSE): ObsFree < background ${wins(res, 'obsfree', 'background', mseOf)}, Repaint < background ${wins(res, 'repaint', 'background', mseOf)}, ` +
      `DPS < background ${wins(res, 'dps', 'background', mseOf)}, DPS < ObsFree ${wins(res, 'dps', 'obsfree', mseOf)}, DPS < 3D-Var ${wins(res, 'dps', '3dvar', mseOf)}`,
    `cases where the 48 h forecast from DPS beats the one from the background: ${wins(res, 'dps', 'background', fcOf)}`,
  ];
  for (const l of paired) console.log(`  ${l}`);
  let stationScores: Record<string, StationScore> | undefined;
  if (stations !== undefined) {
    stationScores = stations.scores();
    const names = ['reanalysis (truth)', ...METHODS.map((m) => METHOD_TITLES[m])];
    console.log(`station verification (daily means at ${stations.stations.join(', ')}; never assimilated):`);
    console.log(
      formatTable(
        ['', 'station-days', 'bias K', 'scatter K', 'RMSE K'],
        names.map((n) => {
          const s = stationScores?.[n];
          return s === undefined
            ? [n, '0', '-', '-', '-']
            : [n, String(s.count), s.bias.toFixed(2), s.scatter.toFixed(2), s.rmse.toFixed(2)];
        }),
        '  ',
      ),
    );
  }
  // Maps of the first case, first channel, one figure per method.
  const maps: string[] = [];
  for (const m of METHODS) {
    if (m === 'background') continue;
    const file = path.join(out, `case0-${m}.png`);
    writeFileSync(
      file,
      analysisMapsPng({
        truth: res.example.truth,
        background: res.example.analyses.background,
        analysis: res.example.analyses[m],
        channel: 0,
        title: `${src.name} ${res.cases[0]?.time ?? ''}: ${METHOD_TITLES[m]}, ${src.channels[0] ?? ''}`,
        truthTitle: src.kind === 'dataset' ? 'reanalysis (truth)' : 'truth',
        analysisTitle: `${METHOD_TITLES[m]} analysis`,
        ...(src.validMask === undefined ? {} : { mask: src.validMask }),
      }),
    );
    maps.push(file);
  }
  const summary = Object.fromEntries(
    METHODS.map((m) => {
      const get = (f: (s: MethodScores) => number): { mean: number; std: number } => {
        const xs = res.cases.map((c) => f(c.scores[m]));
        return { mean: mean(xs), std: std(xs) };
      };
      return [
        m,
        {
          mse: get((s) => s.mse),
          mae: get((s) => s.mae),
          forecastMse: get((s) => s.forecastMse),
          geoScore: get((s) => s.geoScore),
          wrmse: src.channels.map((_, c) => get((s) => s.wrmse[c] as number)),
          seconds: get((s) => s.seconds),
        },
      ];
    }),
  );
  const json = path.join(out, 'eval.json');
  writeFileSync(
    json,
    JSON.stringify(
      {
        source: src.name,
        title: src.title,
        preset: opts.preset,
        models: dir,
        options: {
          obsFraction: opts.obsFraction,
          noise: opts.noise,
          obsErrorStd: res.obsErrorStd,
          cases: opts.cases,
          members: opts.members,
          steps: opts.steps,
          corrections: opts.corrections,
          sampleSeed: opts.sampleSeed,
          zeta: res.zeta ?? null,
          blend: res.blend ?? null,
        },
        latentTuning: res.latentTuning,
        channels: src.channels,
        units: src.units,
        var3d: { lengthScaleKm: res.lengthScaleKm, tuning: res.tuning },
        tunedOn: res.tunedOn,
        summary,
        stations: stationScores ?? null,
        cases: res.cases,
      },
      (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
      1,
    ),
  );
  console.log(`maps: ${maps.join(', ')}`);
  try {
    const id = await recordEvaluation(config, {
      dir,
      models,
      first: res.cases[0]?.time ?? '',
      last: res.cases.at(-1)?.time ?? '',
      metrics: { source: src.name, preset: opts.preset, summary, stations: stationScores ?? null, json },
    });
    console.log(`registry: evaluation ${id}`);
  } catch (err) {
    // The results are on disk already; a registry that cannot be reached must not lose them.
    console.error(
      `alignda: warning: the evaluation was not recorded in the registry: ${(err as Error).message}`,
    );
  }
  console.log(`results: ${json}; done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { json, summary, stations: stationScores ?? null };
}

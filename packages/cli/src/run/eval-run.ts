/**
 * `alignda eval` as a CLI run: loads the model folder (before any nature run is generated, so a missing folder is
 * reported first), opens the source, runs the latent evaluation with progress bars, prints the table, writes
 * eval.json and maps, verifies against stations on real data, and records the evaluation in the registry.
 * The demo runs it too.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { loadConfig } from '@alignda/config';
import {
  LEAD_STEPS,
  createStationVerifier,
  defaultBackground,
  evaluateLatent,
  geoLevels,
} from '@alignda/pipelines';
import type { BackgroundKind, ObsLayout, Preset, StationScore } from '@alignda/pipelines';
import { openSource, sourceStepHours } from '@alignda/world';

import { recordEvaluation } from '../adapters/record-eval.js';
import { readStations } from '../adapters/stations.js';
import { createProgress } from '../progress.js';
import { sourceChoice } from '../source-options.js';
import type { SourceFlags } from '../source-options.js';
import {
  evalSummary,
  protocolLines,
  calibrationTable,
  evalTable,
  gainsTable,
  methodTitle,
  trendLines,
  pairedLines,
  stationComparisonTable,
  stationComparisons,
  stationTable,
  writeEvalJson,
  writeEvalMaps,
} from './eval-report.js';
import { loadAlignedScores, loadModelFolder } from './model-folder.js';
import { modelDir } from './train-run.js';

/** Options of `alignda eval`. */
export interface EvalRunOptions extends SourceFlags {
  preset: Preset;
  /** Model folder. @defaultValue `<home>/models/<source>-<preset>-<background>` */
  modelDir?: string;
  /** `ref` and the aligned sets (`P`, `M`, `4`) whose `score-aligned-<set>.safetensors` the folder holds. */
  models: string[];
  background?: BackgroundKind;
  obsLayout: ObsLayout;
  obsFraction: number;
  seeds: number;
  /** Ensemble size of the LETKF and hybrid EnVar, 0 to leave both out. */
  ensembleMembers: number;
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

/** What {@link runEval} wrote and its summary (mean and std over cases per method and metric). */
export interface EvalOutcome {
  readonly json: string;
  readonly summary: Record<string, unknown>;
  readonly stations: Record<string, StationScore> | null;
}

/** Runs `alignda eval`. */
export async function runEval(opts: EvalRunOptions): Promise<EvalOutcome> {
  const config = loadConfig();
  const progress = createProgress();
  const choice = sourceChoice(opts, opts.preset, (s, f) => progress.update(s, f));
  const name = choice.dataset ?? choice.world ?? 'qg';
  const background =
    opts.background ?? defaultBackground({ kind: choice.dataset !== undefined ? 'dataset' : 'world' });
  const dir = path.resolve(opts.modelDir ?? modelDir(config.homeDir, name, opts.preset, background));
  const how = choice.dataset !== undefined ? `--dataset ${name}` : `--world ${name}`;
  const { models, background: modelBackground } = await loadModelFolder(
    dir,
    'trained models',
    `alignda train ${how} --preset ${opts.preset}`,
  );
  const aligned = await loadAlignedScores(
    dir,
    opts.models.filter((m) => m !== 'ref'),
    `alignda align ${how} --preset ${opts.preset}`,
  );
  const src = await openSource(config, choice);
  progress.stop();
  const out = path.resolve(opts.out ?? path.join(config.homeDir, 'eval', `${src.name}-${opts.preset}`));
  mkdirSync(out, { recursive: true });
  const stationFile = src.kind === 'dataset' ? await readStations(config.dataDir) : undefined;
  const stations =
    stationFile === undefined
      ? undefined
      : createStationVerifier(stationFile, src.grid, src.shape, src.validMask);
  console.log(
    `${src.title}; models ${dir} (VAE ${models.vae.steps}, emulator ${models.emulator.steps}, score ${models.score.steps} steps)`,
  );
  console.log(
    `${opts.cases} test cases x ${opts.seeds} sampler seed(s), ${opts.members} member(s), ${opts.steps} steps x ${opts.corrections} correction(s)`,
  );
  for (const a of aligned)
    console.log(`aligned ${a.name}: ${a.file} (${a.score.steps} DPO steps from the reference)`);
  const t0 = performance.now();
  const res = await evaluateLatent(src, models, {
    obsFraction: opts.obsFraction,
    obsLayout: opts.obsLayout,
    noiseStd: opts.noise,
    background,
    modelBackground,
    samplerSeeds: opts.seeds,
    ensembleMembers: opts.ensembleMembers,
    cases: opts.cases,
    members: opts.members,
    steps: opts.steps,
    corrections: opts.corrections,
    seed: opts.sampleSeed,
    aligned,
    wholeDays: stations !== undefined,
    ...(opts.zeta === undefined ? {} : { zeta: opts.zeta }),
    ...(opts.blend === undefined ? {} : { blend: opts.blend }),
    ...(opts.lengthScaleKm === undefined ? {} : { lengthScaleKm: opts.lengthScaleKm }),
    onProgress: (s, f) => progress.update(s, f),
    onAnalysis: (_k, i, method, field) => {
      if (stations === undefined) return;
      const time = src.timeOf(i);
      stations.add(methodTitle(method), time, field);
      if (method === 'background') stations.add('reanalysis (truth)', time, src.field(i));
    },
  });
  progress.stop();
  const tuneLine = (
    label: string,
    rows: readonly { value: number; mse: number }[],
    used: number | undefined,
  ): string =>
    `${label} ${used ?? 'default'}${rows.length === 0 ? ' (given)' : ` (tuned: ${rows.map((r) => `${r.value}:${r.mse.toFixed(4)}`).join(' ')})`}`;
  console.log(
    `${tuneLine('DPS zeta', res.latentTuning.dps, res.zeta)}; ${tuneLine('Repaint blend', res.latentTuning.repaint, res.blend)}`,
  );
  console.log(
    `3D-Var length scale ${res.lengthScaleKm} km (${opts.lengthScaleKm !== undefined ? 'given' : `tuned on ${res.tunedOn}-period cases: ${res.tuning.map((r) => `${r.lengthScaleKm}:${r.mse.toFixed(4)}`).join(' ')}`})`,
  );
  if (res.letkf !== undefined)
    console.log(
      `LETKF scale ${res.letkf.best.scale}, half-width ${res.letkf.best.halfWidthKm} km (tuned: ${res.letkf.tuning.map((r) => `${r.scale}/${r.halfWidthKm}:${r.mse.toFixed(4)}`).join(' ')})`,
    );
  if (res.hybrid !== undefined)
    console.log(
      `hybrid EnVar weight ${res.hybrid.best.weight}, half-width ${res.hybrid.best.halfWidthKm} km (tuned: ${res.hybrid.tuning.map((r) => `${r.weight}/${r.halfWidthKm}:${r.mse.toFixed(4)}`).join(' ')})`,
    );
  console.log(evalTable(res, src, geoLevels(src.channels).length > 0));
  for (const l of pairedLines(res, LEAD_STEPS * sourceStepHours(src))) console.log(l);
  if (Object.keys(res.gains).length > 0) console.log(gainsTable(res.gains));
  if (Object.keys(res.calibration).length > 0) console.log(calibrationTable(res.calibration));
  for (const l of trendLines(res.trends)) if (res.trends.length > 0) console.log(l);
  for (const l of protocolLines(res.protocol)) console.log(l);
  let stationScores: Record<string, StationScore> | undefined;
  let stationPairs: ReturnType<typeof stationComparisons> | undefined;
  if (stations !== undefined) {
    stationScores = stations.scores();
    console.log(`station verification (daily means at ${stations.stations.join(', ')}; never assimilated):`);
    console.log(stationTable(stationScores, res.methods));
    stationPairs = stationComparisons(stations, stationScores, res.methods);
    if (stationPairs.length > 0) {
      console.log(
        '  paired over station-days (bootstrap 95 % intervals, sign-flip p of the squared errors):',
      );
      console.log(stationComparisonTable(stationPairs));
    }
  }
  const maps = writeEvalMaps(res, src, out);
  const summary = evalSummary(res, src.channels);
  const json = path.join(out, 'eval.json');
  writeEvalJson(json, {
    source: src.name,
    title: src.title,
    preset: opts.preset,
    models: dir,
    protocol: res.protocol,
    methods: res.methods,
    options: {
      background,
      obsLayout: opts.obsLayout,
      samplerSeeds: opts.seeds,
      obsFraction: opts.obsFraction,
      noise: opts.noise,
      obsErrorStd: res.obsErrorStd,
      cases: opts.cases,
      members: opts.members,
      steps: opts.steps,
      corrections: opts.corrections,
      sampleSeed: opts.sampleSeed,
      models: ['ref', ...res.aligned],
      zeta: res.zeta ?? null,
      blend: res.blend ?? null,
    },
    latentTuning: res.latentTuning,
    channels: src.channels,
    units: src.units,
    var3d: { lengthScaleKm: res.lengthScaleKm, tuning: res.tuning, balanced: res.balanced ?? null },
    letkf: res.letkf ?? null,
    hybrid: res.hybrid ?? null,
    tunedOn: res.tunedOn,
    summary,
    gains: res.gains,
    calibration: res.calibration,
    trends: res.trends,
    stations: stationScores ?? null,
    stationComparisons: stationPairs ?? null,
    stationErrors:
      stations === undefined
        ? null
        : Object.fromEntries(Object.keys(stationScores ?? {}).map((m) => [m, stations.errors(m)])),
    cases: res.cases,
  });
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

/** How the latent evaluation reads on a terminal and on disk: the table, the paired wins, eval.json and maps. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { EVAL_METHODS, LATENT_MODES, mean, std } from '@alignda/pipelines';
import type { EvalMethodId, LatentEvalResult, MethodScores, StationScore } from '@alignda/pipelines';
import type { DaSource } from '@alignda/world';

import { analysisMapsPng } from '../adapters/analysis-maps.js';
import { formatTable, pm } from '../format.js';

/** Column titles of the methods. */
export const METHOD_TITLES: Record<EvalMethodId, string> = {
  background: 'background',
  obsfree: 'ObsFree',
  repaint: 'Repaint',
  dps: 'DPS',
  '3dvar': '3D-Var',
};

const scoresOf = (c: LatentEvalResult['cases'][number], m: EvalMethodId): MethodScores =>
  c.scores[m] as MethodScores;

/** Share of cases where `a` is below `b` on a metric. */
function wins(
  res: LatentEvalResult,
  a: EvalMethodId,
  b: EvalMethodId,
  metric: (s: MethodScores) => number,
): string {
  const n = res.cases.filter((c) => metric(scoresOf(c, a)) < metric(scoresOf(c, b))).length;
  return `${n}/${res.cases.length}`;
}

/** The table: one row per metric, one column per method. */
export function evalTable(res: LatentEvalResult, src: DaSource, showGeo: boolean): string {
  const col = (f: (s: MethodScores) => number): string[] =>
    EVAL_METHODS.map((m) => pm(res.cases.map((c) => f(scoresOf(c, m)))));
  const rows: string[][] = [
    ['MSE (normalised)', ...col((s) => s.mse)],
    ['MAE (normalised)', ...col((s) => s.mae)],
  ];
  const keys = src.channels.length > 1 ? ['z_upper', 'u_upper', 'z_lower', 'u_lower', 't'] : src.channels;
  for (const name of keys) {
    const c = src.channels.indexOf(name);
    if (c < 0) continue;
    rows.push([`WRMSE ${name} (${src.units[c] ?? ''})`, ...col((s) => s.wrmse[c] as number)]);
  }
  rows.push(['48 h forecast MSE', ...col((s) => s.forecastMse)]);
  if (showGeo) {
    rows.push([
      `geostrophic deviation D (truth ${mean(res.cases.map((c) => c.truthGeoDeviation)).toFixed(3)})`,
      ...col((s) => s.geoDeviation),
    ]);
    rows.push(['Geo-Score', ...col((s) => s.geoScore)]);
  }
  if (res.cases[0]?.scores.dps?.spread !== undefined)
    rows.push([
      'ensemble spread',
      '-',
      ...LATENT_MODES.map((m) => pm(res.cases.map((c) => scoresOf(c, m).spread ?? Number.NaN))),
      '-',
    ]);
  rows.push(['seconds per analysis', ...col((s) => s.seconds)]);
  return formatTable(['', ...EVAL_METHODS.map((m) => METHOD_TITLES[m])], rows, '  ');
}

/** The per-case win counts. */
export function pairedLines(res: LatentEvalResult): string[] {
  const mseOf = (s: MethodScores): number => s.mse;
  const fcOf = (s: MethodScores): number => s.forecastMse;
  return [
    `cases where (lower MSE): ObsFree < background ${wins(res, 'obsfree', 'background', mseOf)}, Repaint < background ${wins(res, 'repaint', 'background', mseOf)}, ` +
      `DPS < background ${wins(res, 'dps', 'background', mseOf)}, DPS < ObsFree ${wins(res, 'dps', 'obsfree', mseOf)}, DPS < 3D-Var ${wins(res, 'dps', '3dvar', mseOf)}`,
    `cases where the 48 h forecast from DPS beats the one from the background: ${wins(res, 'dps', 'background', fcOf)}`,
  ];
}

/** The station verification table. */
export function stationTable(scores: Record<string, StationScore>): string {
  const names = ['reanalysis (truth)', ...EVAL_METHODS.map((m) => METHOD_TITLES[m])];
  return formatTable(
    ['', 'station-days', 'bias K', 'scatter K', 'RMSE K'],
    names.map((n) => {
      const s = scores[n];
      return s === undefined
        ? [n, '0', '-', '-', '-']
        : [n, String(s.count), s.bias.toFixed(2), s.scatter.toFixed(2), s.rmse.toFixed(2)];
    }),
    '  ',
  );
}

/** Mean and std over cases per method and metric (the summary of eval.json and the registry). */
export function evalSummary(res: LatentEvalResult, channels: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(
    EVAL_METHODS.map((m) => {
      const get = (f: (s: MethodScores) => number): { mean: number; std: number } => {
        const xs = res.cases.map((c) => f(scoresOf(c, m)));
        return { mean: mean(xs), std: std(xs) };
      };
      return [
        m,
        {
          mse: get((s) => s.mse),
          mae: get((s) => s.mae),
          forecastMse: get((s) => s.forecastMse),
          geoScore: get((s) => s.geoScore),
          wrmse: channels.map((_, c) => get((s) => s.wrmse[c] as number)),
          seconds: get((s) => s.seconds),
        },
      ];
    }),
  );
}

/** Maps of the first case, first channel, one figure per method; returns the files. */
export function writeEvalMaps(res: LatentEvalResult, src: DaSource, out: string): string[] {
  const maps: string[] = [];
  for (const m of EVAL_METHODS) {
    if (m === 'background') continue;
    const file = path.join(out, `case0-${m}.png`);
    const background = res.example.analyses.background;
    const analysis = res.example.analyses[m];
    if (background === undefined || analysis === undefined) continue;
    writeFileSync(
      file,
      analysisMapsPng({
        truth: res.example.truth,
        background,
        analysis,
        channel: 0,
        title: `${src.name} ${res.cases[0]?.time ?? ''}: ${METHOD_TITLES[m]}, ${src.channels[0] ?? ''}`,
        truthTitle: src.kind === 'dataset' ? 'reanalysis (truth)' : 'truth',
        analysisTitle: `${METHOD_TITLES[m]} analysis`,
        ...(src.validMask === undefined ? {} : { mask: src.validMask }),
      }),
    );
    maps.push(file);
  }
  return maps;
}

/** Writes eval.json: the options, the tuning, the summary, station scores and every case's scores. */
export function writeEvalJson(file: string, body: Record<string, unknown>): void {
  writeFileSync(
    file,
    JSON.stringify(body, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1),
  );
}

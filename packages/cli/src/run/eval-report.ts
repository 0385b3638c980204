/** How the latent evaluation reads on a terminal and on disk: the table, the paired wins, eval.json and maps. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import {
  LATENT_MODES,
  LEAD_STEPS,
  gainText,
  mean,
  pairedComparison,
  splitMethodId,
  std,
} from '@alignda/pipelines';
import type {
  AlignmentGains,
  Calibration,
  EvalMethodId,
  LatentEvalResult,
  MethodScores,
  ProtocolCard,
  StationScore,
  StationVerifier,
  Trend,
} from '@alignda/pipelines';
import { sourceStepHours } from '@alignda/world';
import type { DaSource } from '@alignda/world';

import { analysisMapsPng } from '../adapters/analysis-maps.js';
import { formatTable, pm } from '../format.js';

/** Column titles of the reference's rows. */
const METHOD_TITLES: Record<string, string> = {
  background: 'background',
  'background-bc': 'bias-corrected bg',
  vae: 'VAE(truth) floor',
  obsfree: 'ObsFree',
  repaint: 'Repaint',
  dps: 'DPS',
  '3dvar': '3D-Var',
  '3dvar-bal': 'balanced 3D-Var',
  letkf: 'LETKF',
  hybrid: 'hybrid EnVar',
};

/** A row's column title: `DPS` for the reference's DPS, `DPS@M` for DPS with the aligned prior M. */
export function methodTitle(id: EvalMethodId): string {
  const { method, model } = splitMethodId(id);
  const title = METHOD_TITLES[method] ?? method;
  return model === 'ref' ? title : `${title}@${model}`;
}

/** Whether a row is a latent mode (of the reference or of an aligned model). */
const isLatent = (m: EvalMethodId): boolean =>
  (LATENT_MODES as readonly string[]).includes(splitMethodId(m).method);

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
    res.methods.map((m) => pm(res.cases.map((c) => f(scoresOf(c, m)))));
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
  rows.push([`${LEAD_STEPS * sourceStepHours(src)} h forecast MSE`, ...col((s) => s.forecastMse)]);
  if (showGeo) {
    rows.push([
      `geostrophic deviation D (truth ${mean(res.cases.map((c) => c.truthGeoDeviation)).toFixed(3)})`,
      ...col((s) => s.geoDeviation),
    ]);
    rows.push(['Geo-Score', ...col((s) => s.geoScore)]);
  }
  if (res.cases[0]?.scores.dps?.spread !== undefined) {
    const latentCol = (f: (s: MethodScores) => number | undefined): string[] =>
      res.methods.map((m) => (isLatent(m) ? pm(res.cases.map((c) => f(scoresOf(c, m)) ?? Number.NaN)) : '-'));
    rows.push(['single-member MSE', ...latentCol((s) => s.memberMse)]);
    rows.push(['ensemble spread', ...latentCol((s) => s.spread)]);
  }
  rows.push(['seconds per analysis', ...col((s) => s.seconds)]);
  return formatTable(['', ...res.methods.map((m) => methodTitle(m))], rows, '  ');
}

/**
 * Paired comparisons of analysis MSE over cases (sampler seeds averaged within a case first): each latent mode
 * against the background, ObsFree and 3D-Var, with a 95 % bootstrap interval of the ratio and a permutation p-value.
 */
export function comparisonTable(res: LatentEvalResult): string {
  const per = (m: EvalMethodId): number[] => res.cases.map((c) => scoresOf(c, m).mse);
  const pairs: [EvalMethodId, EvalMethodId][] = [];
  for (const m of res.methods.filter((x) => (LATENT_MODES as readonly string[]).includes(x)))
    for (const ref of [
      'background',
      '3dvar',
      ...(res.methods.includes('3dvar-bal') ? ['3dvar-bal'] : []),
      ...(res.methods.includes('letkf') ? ['letkf'] : []),
      ...(res.methods.includes('hybrid') ? ['hybrid'] : []),
      ...(m === 'obsfree' ? [] : ['obsfree']),
    ] as EvalMethodId[])
      pairs.push([m, ref]);
  pairs.push(['3dvar', 'background']);
  if (res.methods.includes('3dvar-bal')) pairs.push(['3dvar-bal', '3dvar']);
  if (res.methods.includes('letkf')) pairs.push(['letkf', '3dvar']);
  if (res.methods.includes('hybrid')) {
    pairs.push(['hybrid', 'letkf']);
    pairs.push(['hybrid', res.methods.includes('3dvar-bal') ? '3dvar-bal' : '3dvar']);
  }
  return formatTable(
    ['analysis MSE', 'ratio', '95 % interval', 'p', 'wins'],
    pairs.map(([a, b]) => {
      const r = pairedComparison(per(a), per(b));
      return [
        `${methodTitle(a)} / ${methodTitle(b)}`,
        r.ratio.toFixed(3),
        `${r.lo.toFixed(3)} .. ${r.hi.toFixed(3)}`,
        r.p < 1e-3 ? '< 0.001' : r.p.toFixed(3),
        `${r.wins}/${r.n}`,
      ];
    }),
    '  ',
  );
}

const METRIC_TITLES: Record<string, string> = {
  mse: 'analysis MSE',
  memberMse: 'single-member MSE',
  forecastMse: '48 h forecast MSE',
  geoScore: 'Geo-Score',
  crps: 'CRPS',
};
const pText = (p: number): string => (p < 1e-3 ? '< 0.001' : p.toFixed(3));

/**
 * The aligned models against the reference, mode by mode and metric by metric: the relative gain (positive =
 * better) with its paired bootstrap 95 % interval, the Wilcoxon p-value and its Holm adjustment over the grid.
 */
export function gainsTable(gains: AlignmentGains): string {
  const rows: string[][] = [];
  for (const [model, byMode] of Object.entries(gains))
    for (const [mode, byMetric] of Object.entries(byMode))
      for (const [metric, g] of Object.entries(byMetric))
        rows.push([
          `${methodTitle(mode as EvalMethodId)}@${model} vs ${methodTitle(mode as EvalMethodId)}`,
          METRIC_TITLES[metric] ?? metric,
          gainText(g),
          pText(g.p),
          pText(g.pHolm),
        ]);
  return formatTable(['aligned vs reference', 'metric', 'gain [95 % interval]', 'p', 'p (Holm)'], rows, '  ');
}

/** Ensemble calibration per latent row: spread-skill ratio, CRPS and the rank histogram's shares. */
export function calibrationTable(cal: Readonly<Record<string, Calibration>>): string {
  return formatTable(
    ['calibration', 'spread-skill', 'CRPS', 'rank histogram (share per rank)'],
    Object.entries(cal).map(([id, c]) => {
      const total = c.rankHistogram.reduce((a, b) => a + b, 0);
      return [
        methodTitle(id as EvalMethodId),
        c.spreadSkill.toFixed(2),
        c.crps.toFixed(4),
        c.rankHistogram.map((n) => (total === 0 ? '-' : (n / total).toFixed(2))).join(' '),
      ];
    }),
    '  ',
  );
}

/** The paper's trends, held / not held / not tested, each with its evidence. */
export function trendLines(trends: readonly Trend[]): string[] {
  return [
    "the paper's trends (METHOD.md section 7):",
    ...trends.map((t) => `  ${t.verdict}: ${t.trend} (${t.detail})`),
  ];
}

/** The protocol card under a table. */
export function protocolLines(card: ProtocolCard): string[] {
  return [
    'protocol:',
    `  observations: ${card.observations}`,
    `  truth: ${card.truth}`,
    `  background: ${card.background}`,
    `  cycled: ${card.cycled}`,
    `  sample: ${card.sample}`,
    ...Object.entries(card.tuning).map(([m, t]) => `  tuning ${m}: ${t}`),
  ];
}

/** The paired comparisons with intervals, and the wins of the forecast `leadHours` long (the background's lead). */
export function pairedLines(res: LatentEvalResult, leadHours: number): string[] {
  const fcOf = (s: MethodScores): number => s.forecastMse;
  return [
    comparisonTable(res),
    `  cases where the ${leadHours} h forecast from DPS beats the one from the background: ${wins(res, 'dps', 'background', fcOf)}`,
  ];
}

/** The station verification table. */
export function stationTable(scores: Record<string, StationScore>, methods: readonly EvalMethodId[]): string {
  const names = ['reanalysis (truth)', ...methods.map((m) => methodTitle(m))];
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

/** One paired station comparison (see `StationVerifier.compare`). */
export type StationComparison = ReturnType<StationVerifier['compare']>;

/**
 * Every method against 3D-Var and against the background, pair by pair over the station-days both have: the RMSE
 * ratio and the bias difference, each with a 95 % paired bootstrap interval, and the permutation p-value.
 */
export function stationComparisons(
  verifier: Pick<StationVerifier, 'compare'>,
  scores: Record<string, StationScore>,
  methods: readonly EvalMethodId[],
): StationComparison[] {
  const out: StationComparison[] = [];
  for (const ref of ['3dvar', 'background'] as const) {
    if (!methods.includes(ref) || !((scores[methodTitle(ref)]?.count ?? 0) > 0)) continue;
    for (const m of methods) {
      if (m === ref || m === 'vae' || (ref === 'background' && m === '3dvar')) continue;
      if (!((scores[methodTitle(m)]?.count ?? 0) > 0)) continue;
      out.push(verifier.compare(methodTitle(m), methodTitle(ref)));
    }
  }
  return out;
}

/** The paired station comparisons as a table. */
export function stationComparisonTable(rows: readonly StationComparison[]): string {
  return formatTable(
    ['station RMSE', 'ratio', '95 % interval', 'p', 'wins', 'bias diff K', '95 % interval'],
    rows.map((c) => [
      `${c.a} / ${c.b}`,
      c.rmseRatio.toFixed(3),
      `${c.rmseLo.toFixed(3)} .. ${c.rmseHi.toFixed(3)}`,
      c.p < 0.001 ? '< 0.001' : c.p.toFixed(3),
      `${c.wins}/${c.count}`,
      `${c.biasDiff >= 0 ? '+' : ''}${c.biasDiff.toFixed(2)}`,
      `${c.biasLo.toFixed(2)} .. ${c.biasHi.toFixed(2)}`,
    ]),
    '  ',
  );
}

/** Mean and std over cases per method and metric (the summary of eval.json and the registry). */
export function evalSummary(res: LatentEvalResult, channels: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(
    res.methods.map((m) => {
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
  for (const m of res.methods) {
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
        title: `${src.name} ${res.cases[0]?.time ?? ''}: ${methodTitle(m)}, ${src.channels[0] ?? ''}`,
        truthTitle: src.kind === 'dataset' ? 'reanalysis (truth)' : 'truth',
        analysisTitle: `${methodTitle(m)} analysis`,
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

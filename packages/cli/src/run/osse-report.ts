/** How the demo's 3D-Var OSSE reads: the tuning table, the verification table, and its JSON summary. */
import { mean, std } from '@alignda/pipelines';
import type { QgOsseResult } from '@alignda/pipelines';

import { formatTable } from '../format.js';

/** Mean verification numbers of the test cases. */
export function osseSummary(osse: QgOsseResult): Record<string, unknown> {
  const c = osse.cases;
  return {
    lengthScaleKm: osse.tuning.best.lengthScaleM / 1000,
    backgroundMse: mean(c.map((x) => x.backgroundMse)),
    analysisMse: mean(c.map((x) => x.analysisMse)),
    forecastFromBackgroundMse: mean(c.map((x) => x.forecastFromBackgroundMse)),
    forecastFromAnalysisMse: mean(c.map((x) => x.forecastFromAnalysisMse)),
    cases: c.length,
  };
}

/** One case as plain JSON. */
export function osseCaseJson(c: QgOsseResult['cases'][number]): Record<string, unknown> {
  return { ...c, backgroundWrmse: Array.from(c.backgroundWrmse), analysisWrmse: Array.from(c.analysisWrmse) };
}

/** The tuning table and the verification table, indented for the demo. */
export function osseReport(
  osse: QgOsseResult,
  channels: readonly string[],
  units: readonly string[],
): string[] {
  const c = osse.cases;
  const pmx = (xs: number[]): string => `${mean(xs).toFixed(4)} +- ${std(xs).toFixed(4)}`;
  return [
    '   length-scale tuning on training cases (analysis MSE, normalised units):',
    formatTable(
      ['L (km)', 'MSE', 'CG iters'],
      osse.tuning.table.map((r) => [
        (r.lengthScaleM / 1000).toFixed(0) + (r === osse.tuning.best ? ' *' : ''),
        r.mse.toFixed(4),
        r.meanIterations.toFixed(1),
      ]),
      '   ',
    ),
    `\n   ${c.length} held-out test cases (mean +- std over cases):`,
    formatTable(
      ['', 'background', '3D-Var analysis'],
      [
        [
          'MSE (normalised, all channels)',
          pmx(c.map((x) => x.backgroundMse)),
          pmx(c.map((x) => x.analysisMse)),
        ],
        [
          'MSE of the 48 h forecast from it',
          pmx(c.map((x) => x.forecastFromBackgroundMse)),
          pmx(c.map((x) => x.forecastFromAnalysisMse)),
        ],
        ...channels.map((name, k) => [
          `WRMSE ${name} (${units[k] ?? ''})`,
          mean(c.map((x) => x.backgroundWrmse[k] ?? Number.NaN)).toPrecision(4),
          mean(c.map((x) => x.analysisWrmse[k] ?? Number.NaN)).toPrecision(4),
        ]),
      ],
      '   ',
    ),
  ];
}

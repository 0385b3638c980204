/**
 * The cycle's time series as a PNG: analysis RMSE per cycle per method (solid) and background RMSE (dashed), with
 * the divergence threshold, drawn by echarts server-side as SVG and rasterised by resvg (the house rule for plots).
 */
import { writeFileSync } from 'node:fs';

import { Resvg } from '@resvg/resvg-js';
import * as echarts from 'echarts';

import type { CycleResult } from '@alignda/pipelines';

/** Method titles in the legend. */
const TITLES: Readonly<Record<string, string>> = {
  '3dvar': '3D-Var',
  '3dvar-bal': 'balanced 3D-Var',
  letkf: 'LETKF',
  hybrid: 'hybrid EnVar',
  dps: 'DPS',
  obsfree: 'ObsFree',
};

/** echarts' default palette, one colour per method so that analysis and background lines pair up. */
const COLOURS = ['#5470c6', '#91cc75', '#ee6666', '#fac858', '#73c0de', '#3ba272'];

/** The SVG of the plot (exported for tests and for a later HTTP door). */
export function cycleRmseSvg(res: CycleResult, width = 1100, height = 520): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  const series = res.methods.flatMap((m, k) => {
    const rs = res.series[m] ?? [];
    const colour = COLOURS[k % COLOURS.length] as string;
    const line = (name: string, ys: number[], dashed: boolean): echarts.SeriesOption => ({
      type: 'line',
      name,
      data: rs.map((r, j) => [r.cycle + 1, ys[j] as number]),
      showSymbol: false,
      lineStyle: { color: colour, width: dashed ? 1 : 2, type: dashed ? 'dashed' : 'solid' },
      itemStyle: { color: colour },
    });
    return [
      line(
        `${TITLES[m] ?? m} analysis`,
        rs.map((r) => r.analysisRmse),
        false,
      ),
      line(
        `${TITLES[m] ?? m} background`,
        rs.map((r) => r.backgroundRmse),
        true,
      ),
    ];
  });
  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: 'DejaVu Sans' },
    title: {
      text: `RMSE per cycle (normalised), ${res.intervalHours} h cycles`,
      subtext: `divergence threshold ${res.setup.threshold.toFixed(3)} (climatological anomaly std)`,
      left: 'center',
    },
    legend: { bottom: 0, type: 'plain', itemGap: 22 },
    grid: { left: 70, right: 30, top: 70, bottom: 80 },
    xAxis: { type: 'value', name: 'cycle', nameLocation: 'middle', nameGap: 28, min: 1, max: res.cycles },
    yAxis: { type: 'log', name: 'RMSE', nameLocation: 'middle', nameGap: 50 },
    series: [
      ...series,
      {
        type: 'line',
        name: 'threshold',
        data: [
          [1, res.setup.threshold],
          [res.cycles, res.setup.threshold],
        ],
        showSymbol: false,
        lineStyle: { color: '#333333', type: 'dotted', width: 1 },
        itemStyle: { color: '#333333' },
      },
    ],
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

/** The plot as PNG bytes (system fonts; DejaVu Sans where the SVG names none). */
export function cycleRmsePng(res: CycleResult): Buffer {
  return new Resvg(cycleRmseSvg(res), {
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    background: '#ffffff',
  })
    .render()
    .asPng();
}

/** Writes the plot as a PNG to `file`. */
export function writeCycleRmsePng(res: CycleResult, file: string): void {
  writeFileSync(file, cycleRmsePng(res));
}

import { writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';

import {
  fieldChannel,
  loadOrGenerateNatureRun,
  natureStats,
  openNatureRun,
  renderPanelsPng,
} from '@alignda/world';
import type { RenderPanel } from '@alignda/world';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { intArg, positiveArg } from '../args.js';

const SPARK = '▁▂▃▄▅▆▇█';

/** A sparkline of `values` averaged into `width` bins. */
function sparkline(values: Float64Array, width: number): string {
  const bins = Math.min(width, values.length);
  const means = Array.from({ length: bins }, (_, b) => {
    const lo = Math.floor((b * values.length) / bins);
    const hi = Math.floor(((b + 1) * values.length) / bins);
    let s = 0;
    for (let i = lo; i < hi; i++) s += values[i] as number;
    return s / Math.max(1, hi - lo);
  });
  const min = Math.min(...means);
  const max = Math.max(...means);
  return means.map((m) => SPARK[Math.round(((m - min) / (max - min || 1)) * (SPARK.length - 1))]).join('');
}

/**
 * Registers `alignda world` (generate | stats | map) on `program`. A run folder is what `generate`
 * prints: `<out>/qg-s<seed>-y<years>-v<version>` (holds nature.zarr and descriptor.json).
 */
export function registerWorldCommand(program: Command): Command {
  const world = program
    .command('world')
    .description('the synthetic two-layer QG atmosphere: nature runs, statistics, maps');

  world
    .command('generate')
    .description(
      'generate (or reuse from the cache) a 6-hourly nature run and store it as Zarr v2 with a dataset descriptor',
    )
    .option('--seed <n>', 'random seed of the initial perturbation', intArg('--seed', 0), 1)
    .option('--years <y>', 'simulated years recorded after spin-up', positiveArg, 1)
    .option('--out <dir>', 'cache folder', '.alignda/worlds')
    .option(
      '--spin-up-days <d>',
      'discarded spin-up, days (default 150; other values get their own cache entry)',
      positiveArg,
    )
    .action((opts: { seed: number; years: number; out: string; spinUpDays?: number }) => {
      const bar = new SingleBar(
        { format: 'nature run |{bar}| {percentage}% {value}/{total} states, eta {eta_formatted}' },
        Presets.shades_classic,
      );
      const t0 = performance.now();
      let started = false;
      const run = loadOrGenerateNatureRun({
        seed: opts.seed,
        years: opts.years,
        dir: opts.out,
        ...(opts.spinUpDays === undefined ? {} : { spinUpDays: opts.spinUpDays }),
        onProgress: (done, total) => {
          if (!started) {
            bar.start(total, 0);
            started = true;
          }
          if (done % 20 === 0 || done === total) bar.update(done);
        },
      });
      if (started) bar.stop();
      const secs = (performance.now() - t0) / 1000;
      console.log(
        `${started ? 'generated' : 'cached'}: ${run.dir} (${run.count} states, ${secs.toFixed(1)} s)`,
      );
      console.log(`descriptor: ${run.descriptorPath}`);
      const p = run.periods;
      console.log(
        `periods (state index [start, end)): train [${p.train.join(', ')}), alignment [${p.alignment.join(', ')}), test [${p.test.join(', ')})`,
      );
    });

  world
    .command('stats')
    .description(
      'per-channel mean and standard deviation, eddy kinetic energy over time, dominant wavelength',
    )
    .requiredOption('--dir <dir>', 'run folder printed by `world generate`')
    .action((opts: { dir: string }) => {
      const run = openNatureRun(resolve(opts.dir));
      const s = natureStats(run);
      console.log(
        `${basename(run.dir)}: ${run.count} states, grid ${run.grid.latDeg.length} x ${run.grid.lonDeg.length}`,
      );
      console.log('channel     units       mean         std');
      for (const c of s.channels)
        console.log(
          `${c.name.padEnd(11)} ${c.units.padEnd(8)} ${c.mean.toFixed(2).padStart(11)} ${c.std.toFixed(2).padStart(11)}`,
        );
      const e = s.eke;
      let mean = 0;
      for (const x of e) mean += x / e.length;
      console.log(
        `EKE (J/kg, zonal-mean removed, both levels): mean ${mean.toFixed(1)}, min ${Math.min(...e).toFixed(1)}, max ${Math.max(...e).toFixed(1)}`,
      );
      console.log(`EKE over time: ${sparkline(e, 60)}`);
      const month = 120; // 30 days of 6-hourly states
      const rows: string[] = [];
      for (let t = 0; t < e.length; t += month) {
        let m = 0;
        const hi = Math.min(e.length, t + month);
        for (let i = t; i < hi; i++) m += (e[i] as number) / (hi - t);
        rows.push(`d${String(t / 4).padStart(3)}:${m.toFixed(0)}`);
      }
      console.log(`EKE 30-day means: ${rows.join(' ')}`);
      console.log(
        `dominant zonal wavenumber of v_upper: ${s.dominantWavenumber} (wavelength ${s.dominantWavelengthKm.toFixed(0)} km)`,
      );
    });

  world
    .command('map')
    .description('write PNG maps of every channel of one state')
    .requiredOption('--dir <dir>', 'run folder printed by `world generate`')
    .option('--time <index>', 'state index', intArg('--time', 0), 0)
    .requiredOption('--out <file>', 'PNG file to write')
    .action((opts: { dir: string; time: number; out: string }) => {
      const run = openNatureRun(resolve(opts.dir));
      const field = run.state(opts.time);
      const panels: RenderPanel[] = field.channels.map((name, c) => ({
        field: fieldChannel(field, c),
        grid: field.grid,
        title: name,
        units: field.units[c],
        colormap: name.startsWith('v_') ? 'diverging' : 'sequential',
      }));
      const hours = run.hours[opts.time] as number;
      writeFileSync(
        opts.out,
        renderPanelsPng(panels, { cols: 2, title: `${basename(run.dir)} state ${opts.time} (+${hours} h)` }),
      );
      console.log(`wrote ${resolve(opts.out)}`);
    });
  return world;
}

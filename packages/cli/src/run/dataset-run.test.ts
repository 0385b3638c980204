import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadConfig } from '@alignda/config';
import { fileModelStore } from '@alignda/nn';
import { trainLatentModels } from '@alignda/pipelines';
import type { Config } from '@alignda/config';
import {
  openSource,
  syntheticDailyDataset,
  writeNetcdfClassic,
  zarrZipOfNetcdf,
  zipEntries,
} from '@alignda/world';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  configRegistry,
  runDatasetAdd,
  runDatasetExample,
  runDatasetList,
  runDatasetShow,
} from './dataset-run.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** A descriptor of the synthetic daily dataset: 2000 the train year, 2001 the test year. */
function descriptor(name: string, format: 'zarr' | 'netcdf', file: string): object {
  return {
    name,
    title: 'Synthetic daily 2 m temperature, 16 x 16, 2000-2001',
    source: { format, path: file },
    variables: [{ channel: 't2m', source: 't2m', units: 'K', role: 'temperature' }],
    grid: { kind: 'latlon', lat: { variable: 'lat' }, lon: { variable: 'lon' } },
    time: { variable: 'time' },
    periods: {
      train: { start: '2000-01-01', end: '2000-10-31' },
      alignment: { start: '2000-11-01', end: '2000-12-31' },
      test: { start: '2001-01-01', end: '2001-12-30' },
    },
  };
}

describe('alignda dataset add / list / show', () => {
  let root: string;
  let config: Config;
  let lines: string[];
  const print = (l: string): void => {
    lines.push(l);
  };
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'alignda-dataset-cli-'));
    config = loadConfig(
      { ALIGNDA_HOME: path.join(root, 'home'), ALIGNDA_DATA_DIR: path.join(root, 'data') },
      { cwd: root },
    );
    lines = [];
    // Two years of a 16 x 16 daily field with a seasonal cycle and noise, as netCDF3 and as a Zarr v2 folder.
    const nc = syntheticDailyDataset({ days: 730, height: 16, width: 16 });
    await mkdir(path.join(config.dataDir, 'mine', 't2m.zarr'), { recursive: true });
    await writeFile(path.join(config.dataDir, 'mine', 't2m.nc'), writeNetcdfClassic(nc));
    for (const [key, bytes] of Object.entries(zipEntries(zarrZipOfNetcdf(nc)))) {
      await mkdir(path.dirname(path.join(config.dataDir, 'mine', 't2m.zarr', key)), { recursive: true });
      await writeFile(path.join(config.dataDir, 'mine', 't2m.zarr', key), bytes);
    }
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('adds a daily dataset from netCDF and from Zarr, recorded with a 24 h step, and lists and shows it', async () => {
    const ncJson = path.join(config.dataDir, 'mine', 'daily-nc.json');
    await writeFile(ncJson, JSON.stringify(descriptor('daily-nc', 'netcdf', 't2m.nc')));
    const e = await runDatasetAdd(ncJson, {}, print, config);
    expect(e.stepHours).toBe(24);
    expect(lines.join('\n')).toContain('times      730: 2000-01-01T00 .. 2001-12-30T00, step 24 h');
    expect(lines.join('\n')).toContain('periods    train 2000-01-01 .. 2000-10-31 (305 steps)');
    // The descriptor may live anywhere; its data must be under the data root.
    const zarrJson = path.join(root, 'daily-zarr.json');
    await writeFile(
      zarrJson,
      JSON.stringify(descriptor('daily-zarr', 'zarr', path.join(config.dataDir, 'mine', 't2m.zarr'))),
    );
    expect((await runDatasetAdd(zarrJson, {}, print, config)).stepHours).toBe(24);

    // The registry of a later process (a new one on the same home) has both, step 24 h.
    const reg = configRegistry(config);
    expect(reg.get('daily-nc').stepHours).toBe(24);
    expect(reg.get('daily-zarr').stepHours).toBe(24);
    const stored = JSON.parse(
      await readFile(path.join(config.homeDir, 'datasets', 'daily-zarr.json'), 'utf8'),
    ) as {
      stepHours: number;
      descriptor: { source: { path: string } };
    };
    expect(stored.stepHours).toBe(24);
    expect(stored.descriptor.source.path).toBe('mine/t2m.zarr');

    lines = [];
    const listed = runDatasetList(print, config);
    expect(listed.map((x) => x.name)).toEqual(['ncep-air', 'ncep-air-nc', 'daily-nc', 'daily-zarr']);
    expect(lines.join('\n')).toMatch(/daily-zarr\s+zarr\s+24 h\s+730\s+2000-01-01T00\s+2001-12-30T00\s+user/);
    lines = [];
    await runDatasetShow('daily-zarr', print, config);
    expect(lines.join('\n')).toContain('grid       16 x 16 stored, 16 x 16 model grid');
  });

  it('refuses a second dataset of the same name unless asked to replace it', async () => {
    const json = path.join(config.dataDir, 'mine', 'daily.json');
    await writeFile(json, JSON.stringify(descriptor('daily', 'netcdf', 't2m.nc')));
    await runDatasetAdd(json, {}, print, config);
    await expect(runDatasetAdd(json, {}, print, config)).rejects.toThrow(
      /dataset daily is already registered .*; replace it explicitly/,
    );
    await expect(runDatasetAdd(json, { replace: true }, print, config)).resolves.toMatchObject({
      stepHours: 24,
    });
  });

  it('refuses a descriptor whose test period runs past the data, registering nothing', async () => {
    const bad = {
      ...descriptor('late', 'netcdf', 't2m.nc'),
      periods: {
        train: { start: '2000-01-01', end: '2000-12-31' },
        test: { start: '2001-01-01', end: '2002-12-31' },
      },
    };
    const json = path.join(config.dataDir, 'mine', 'late.json');
    await writeFile(json, JSON.stringify(bad));
    await expect(runDatasetAdd(json, {}, print, config)).rejects.toThrow(
      "dataset late: periods.test (2001-01-01 .. 2002-12-31) lies outside the data's time range 2000-01-01T00:00 .. 2001-12-30T00:00",
    );
    expect(
      configRegistry(config)
        .list()
        .map((x) => x.name),
    ).not.toContain('late');
  });

  it('writes an example dataset that adds as it is, with a 24 h step', async () => {
    const file = await runDatasetExample(path.join(config.dataDir, 'example'), 'example', print);
    expect(lines.at(-1)).toBe(
      `next: alignda dataset add ${file}   (the folder must be under ALIGNDA_DATA_DIR)`,
    );
    const e = await runDatasetAdd(file, {}, print, config);
    expect([e.name, e.stepHours, e.timeRange?.count]).toEqual(['example', 24, 730]);
  });

  it('opens the added dataset as a source 24 h apart, trains the ci models on it (2 steps each), evaluates them with alignda eval and cycles on its test period with alignda cycle', async () => {
    const file = await runDatasetExample(path.join(config.dataDir, 'example'), 'example', print);
    await runDatasetAdd(file, {}, print, config);
    const src = await openSource(config, { dataset: 'example', seed: 1, years: 1 });
    expect([src.count, src.stepHours, src.shape]).toEqual([730, 24, [1, 16, 16]]);
    expect(src.periods).toEqual({ train: [0, 305], alignment: [305, 366], test: [366, 730] });
    const dir = path.join(config.homeDir, 'models', 'example-ci-emulator');
    await mkdir(dir, { recursive: true });
    const out = await trainLatentModels(src, fileModelStore(dir), { preset: 'ci', steps: 2, seed: 1 });
    expect(out.completed).toBe(true);
    expect(out.background).toBe('emulator');
    // The manifest's lead is the background's: 8 steps of 24 h.
    const manifest = JSON.parse(await readFile(path.join(dir, 'models.json'), 'utf8')) as {
      leadHours: number;
    };
    expect(manifest.leadHours).toBe(192);

    // Evaluated by the command a user runs (a fresh process; no tuning, two cases, few sampler steps: ~20 s on 2 cores).
    const ev = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'packages/cli/src/main.ts'), 'eval', '--dataset', 'example']
        .concat(['--preset', 'ci', '--cases', '2', '--steps', '8', '--zeta', '1', '--blend', '0.5'])
        .concat(['--length-scale-km', '500', '--obs-fraction', '0.02', '--ensemble-members', '4']),
      {
        cwd: repoRoot,
        env: { ...process.env, ALIGNDA_HOME: config.homeDir, ALIGNDA_DATA_DIR: config.dataDir },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(ev.status, ev.stderr).toBe(0);
    expect(ev.stdout).toContain(
      'background: 192 h forecasts of the learned emulator from the truth 192 h earlier',
    );
    expect(ev.stdout).toMatch(/^\s+DPS \/ background\s+\d+\.\d{3}/m);
    expect(ev.stdout).toMatch(/^\s+192 h forecast MSE\s/m);
    expect(ev.stdout).toContain('cases where the 192 h forecast from DPS beats the one from the background');

    // And cycled by the command a user runs: B and tuning from the train and alignment periods, scored on the test
    // period, 24 h emulator backgrounds (a few cycles, one tuning candidate each: ~10 s).
    const cycleOut = path.join(root, 'cycle');
    const cy = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'packages/cli/src/main.ts'), 'cycle', '--dataset', 'example']
        .concat(['--preset', 'ci', '--methods', '3dvar,letkf', '--cycles', '4', '--members', '4'])
        .concat(['--skill-every', '0', '--out', cycleOut, '--tuning'])
        .concat([
          JSON.stringify({
            pairs48: 8,
            offlineCycles: 6,
            offlineBurnIn: 2,
            tuneCycles: 4,
            lengthScalesKm: [1000],
            inflations: [1],
            rtps: [0.5],
            halfWidthsKm: [4000],
          }),
        ]),
      {
        cwd: repoRoot,
        env: { ...process.env, ALIGNDA_HOME: config.homeDir, ALIGNDA_DATA_DIR: config.dataDir },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(cy.status, cy.stderr).toBe(0);
    expect(cy.stdout).toContain('B and tuning: its train and alignment periods');
    expect(cy.stdout).toContain('4 cycles of 24 h, methods 3dvar, letkf, forecast emulator');
    const cycled = JSON.parse(await readFile(path.join(cycleOut, 'cycle.json'), 'utf8')) as {
      intervalHours: number;
      series: Record<string, { stateIndex: number; time: string; analysisRmse: number }[]>;
    };
    expect(cycled.intervalHours).toBe(24);
    // Scored on the test period only (it starts at state 366, 2001-01-01), one day apart.
    expect(cycled.series['3dvar']?.map((r) => [r.stateIndex, r.time.slice(0, 10)])).toEqual([
      [367, '2001-01-02'],
      [368, '2001-01-03'],
      [369, '2001-01-04'],
      [370, '2001-01-05'],
    ]);
    for (const m of ['3dvar', 'letkf'])
      for (const r of cycled.series[m] ?? []) expect(Number.isFinite(r.analysisRmse), m).toBe(true);
  }, 240_000);
});

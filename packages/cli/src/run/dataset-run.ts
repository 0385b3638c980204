/**
 * `alignda dataset` as CLI runs: add (register a descriptor file, checked against its data), list and show the
 * datasets of the registry at `<ALIGNDA_HOME>/datasets`, whose data lies under ALIGNDA_DATA_DIR. The checks and the
 * storing are packages/world's registry; these runs print.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { loadConfig } from '@alignda/config';
import type { Config } from '@alignda/config';
import {
  createDatasetRegistry,
  datasetRegistryDir,
  syntheticDailyDataset,
  writeNetcdfClassic,
  zarrZipOfNetcdf,
  zipEntries,
} from '@alignda/world';
import type { DatasetEntry, DatasetRegistry, OpenedDataset } from '@alignda/world';

import { formatTable } from '../format.js';

/** Where the runs print; tests pass a collector. @defaultValue console.log */
export type Print = (line: string) => void;

/** Options of `alignda dataset add`. */
export interface DatasetAddOptions {
  /** Replace a registered user dataset of the same name. @defaultValue false */
  replace?: boolean;
}

/** The registry of this configuration: the data root and `<homeDir>/datasets`. */
export function configRegistry(config: Config): DatasetRegistry {
  return createDatasetRegistry({ dataDir: config.dataDir, registryDir: datasetRegistryDir(config.homeDir) });
}

const hour = (d: Date | undefined): string => d?.toISOString().slice(0, 13) ?? '?';
const stepWords = (e: DatasetEntry): string => (e.stepHours === undefined ? '-' : `${e.stepHours} h`);

/** Lines describing an opened dataset: source, variables, grid, times and step, periods. */
function describe(e: DatasetEntry, ds: OpenedDataset, dataDir: string): string[] {
  const d = e.descriptor;
  const [, h, w] = ds.shape;
  const src = ds.sourceGrid;
  const rel = path.relative(dataDir, d.source.path);
  const periods = (['train', 'alignment', 'test'] as const).flatMap((p) => {
    const span = d.periods[p];
    if (span === undefined) return [];
    const { start, end } = ds.period(p);
    return [`${p} ${span.start} .. ${span.end} (${end - start} steps)`];
  });
  return [
    `dataset ${e.name}: ${e.title}${e.builtin ? ' (built in)' : ''}`,
    `  source     ${d.source.format} ${rel.startsWith('..') ? d.source.path : `<data root>/${rel}`}`,
    `  variables  ${d.variables.map((v) => `${v.channel} (${v.source}, ${v.units})`).join(', ')}`,
    `  grid       ${src.latDeg.length} x ${src.lonDeg.length} stored, ${h} x ${w} model grid`,
    `  times      ${ds.times.length}: ${hour(ds.times[0])} .. ${hour(ds.times.at(-1))}, step ${stepWords(e)}`,
    `  periods    ${periods.length === 0 ? 'none' : periods.join('; ')}`,
  ];
}

/**
 * Registers the dataset of a descriptor JSON file after checking it against its data (see packages/world's
 * `registerDataset`): nothing is registered when a check fails.
 * @throws DatasetError naming the dataset and the field at fault
 */
export async function runDatasetAdd(
  descriptorFile: string,
  options: DatasetAddOptions = {},
  print: Print = console.log,
  config: Config = loadConfig(),
): Promise<DatasetEntry> {
  const reg = configRegistry(config);
  const entry = await reg.registerDataset(path.resolve(descriptorFile), {
    replace: options.replace ?? false,
  });
  const ds = await reg.open(entry.name);
  print(`registered ${describe(entry, ds, config.dataDir).join('\n')}`);
  print(`next: alignda train --dataset ${entry.name} --preset ci`);
  return entry;
}

/** Prints every dataset, built-ins first, as a table. */
export function runDatasetList(print: Print = console.log, config: Config = loadConfig()): DatasetEntry[] {
  const entries = configRegistry(config).list();
  print(
    formatTable(
      ['name', 'format', 'step', 'times', 'from', 'to', 'kind'],
      entries.map((e) => [
        e.name,
        e.descriptor.source.format,
        stepWords(e),
        e.timeRange === undefined ? '-' : String(e.timeRange.count),
        e.timeRange?.start.slice(0, 13) ?? '-',
        e.timeRange?.end.slice(0, 13) ?? '-',
        e.builtin ? 'built in' : 'user',
      ]),
    ),
  );
  return entries;
}

/**
 * Prints one dataset: source, variables, grids, times, step and periods (opening it: the coordinates are read).
 * @throws DatasetError `UNKNOWN_DATASET`
 */
export async function runDatasetShow(
  name: string,
  print: Print = console.log,
  config: Config = loadConfig(),
): Promise<DatasetEntry> {
  const reg = configRegistry(config);
  const entry = reg.get(name);
  print(describe(entry, await reg.open(name), config.dataDir).join('\n'));
  return entry;
}

/** The descriptor `alignda dataset example` writes beside its files. */
export function exampleDescriptor(name: string): object {
  return {
    name,
    title: 'Synthetic daily 2 m temperature, 16 x 16, 2000-2001 (alignda dataset example)',
    source: { format: 'netcdf', path: 't2m.nc' },
    variables: [
      { channel: 't2m', source: 't2m', units: 'K', longName: '2 m temperature', role: 'temperature' },
    ],
    grid: { kind: 'latlon', lat: { variable: 'lat' }, lon: { variable: 'lon' } },
    time: { variable: 'time' },
    periods: {
      train: { start: '2000-01-01', end: '2000-10-31' },
      alignment: { start: '2000-11-01', end: '2000-12-31' },
      test: { start: '2001-01-01', end: '2001-12-30' },
    },
  };
}

/**
 * Writes a small dataset to try the commands with: two years of a daily 16 x 16 temperature field (a seasonal cycle,
 * a travelling wave and noise; packages/world's `syntheticDailyDataset`) as `t2m.nc` (netCDF3) and `t2m.zarr`
 * (Zarr v2), and its descriptor `<name>.json` (netCDF; set `source` to `{"format": "zarr", "path": "t2m.zarr"}` for
 * the Zarr copy). Put `dir` under ALIGNDA_DATA_DIR to add it.
 */
export async function runDatasetExample(
  dir: string,
  name = 'daily-t2m',
  print: Print = console.log,
): Promise<string> {
  const nc = syntheticDailyDataset();
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 't2m.nc'), writeNetcdfClassic(nc));
  for (const [key, bytes] of Object.entries(zipEntries(zarrZipOfNetcdf(nc)))) {
    await mkdir(path.dirname(path.join(dir, 't2m.zarr', key)), { recursive: true });
    await writeFile(path.join(dir, 't2m.zarr', key), bytes);
  }
  const descriptorFile = path.join(dir, `${name}.json`);
  await writeFile(descriptorFile, `${JSON.stringify(exampleDescriptor(name), null, 2)}\n`);
  print(`wrote ${path.join(dir, 't2m.nc')}, ${path.join(dir, 't2m.zarr')} and ${descriptorFile}`);
  print(`next: alignda dataset add ${descriptorFile}   (the folder must be under ALIGNDA_DATA_DIR)`);
  return descriptorFile;
}

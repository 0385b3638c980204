/**
 * Where the latent DA pipelines get their states: the synthetic QG world (a cached nature run, generated on first
 * use) or a registered real dataset (ncep-air), behind one shape — channels, grid, named periods, `state(i)` in
 * physical units — so `alignda train` and `alignda eval` treat both alike.
 */
import path from 'node:path';

import type { Config } from '@alignda/config';
import { AppError } from '@alignda/errors';
import type { StateSource } from '@alignda/nn';
import type { Field, Grid } from '@alignda/tensor';
import { NATURE_EPOCH_ISO, createDatasetRegistry, loadOrGenerateNatureRun } from '@alignda/world';
import type { NatureRun, OpenedDataset } from '@alignda/world';

/** A state source with what the evaluation needs besides the states. */
export interface DaSource extends StateSource {
  /** `qg` or the dataset's registered name; model folders are `<name>-<preset>`. */
  readonly name: string;
  /** One line describing it, for logs. */
  readonly title: string;
  readonly kind: 'world' | 'dataset';
  readonly grid: Grid;
  readonly units: readonly string[];
  /** [C, H, W] */
  readonly shape: readonly [number, number, number];
  /** 1 where a cell holds data, [H, W]; absent when every cell does. */
  readonly validMask?: Uint8Array;
  /** Number of states (6-hourly). */
  readonly count: number;
  /** The state as a Field (physical units). */
  field(index: number): Field;
  /** ISO time of state `index` (hour precision). */
  timeOf(index: number): string;
  /** The opened dataset, for real data (station verification needs its grid placement). */
  readonly dataset?: OpenedDataset;
  /** The nature run, for the synthetic world (its truth forecast model). */
  readonly nature?: NatureRun;
}

/** Which source: exactly one of a synthetic world and a dataset. */
export interface SourceChoice {
  readonly world?: string;
  readonly dataset?: string;
  /** Nature-run seed (synthetic world). */
  readonly seed: number;
  /** Simulated years (synthetic world). */
  readonly years: number;
  readonly onProgress?: (stage: string, fraction: number) => void;
}

/** The QG nature run as a {@link DaSource} (generated and cached under `<home>/worlds` when missing). */
export function qgSource(config: Config, choice: SourceChoice): DaSource {
  const run = loadOrGenerateNatureRun({
    seed: choice.seed,
    years: choice.years,
    dir: path.join(config.homeDir, 'worlds'),
    onProgress: (done, total) => choice.onProgress?.('nature run', done / total),
  });
  const epoch = Date.parse(NATURE_EPOCH_ISO);
  return {
    name: 'qg',
    title: `world qg seed ${choice.seed}, ${choice.years} y`,
    kind: 'world',
    channels: run.channels,
    units: run.units,
    grid: run.grid,
    shape: [run.channels.length, run.grid.latDeg.length, run.grid.lonDeg.length],
    periods: run.periods,
    count: run.count,
    state: (i) => run.state(i),
    field: (i) => run.state(i),
    timeOf: (i) => new Date(epoch + (run.hours[i] ?? Number.NaN) * 3_600_000).toISOString().slice(0, 13),
    nature: run,
  };
}

/** A registered dataset read whole into memory as a {@link DaSource} (ncep-air: 2920 x 32 x 64, 24 MB). */
export async function datasetSource(config: Config, name: string): Promise<DaSource> {
  const ds = await createDatasetRegistry({ dataDir: config.dataDir }).open(name);
  const fields = await ds.readRange(0, ds.times.length);
  const period = (p: 'train' | 'test'): readonly [number, number] => {
    const { start, end } = ds.period(p);
    return [start, end];
  };
  const get = (i: number): Field => {
    const f = fields[i];
    if (f === undefined) throw new RangeError(`${name}: no state ${i} (0..${fields.length - 1})`);
    return f;
  };
  return {
    name,
    title: `dataset ${name}: ${ds.times.length} times ${ds.times[0]?.toISOString().slice(0, 13)} .. ${ds.times.at(-1)?.toISOString().slice(0, 13)}`,
    kind: 'dataset',
    channels: ds.channels,
    units: ds.units,
    grid: ds.grid,
    shape: ds.shape,
    validMask: ds.validMask,
    periods: { train: period('train'), test: period('test') },
    count: fields.length,
    state: (i) => ({ data: get(i).data, shape: ds.shape }),
    field: get,
    timeOf: (i) => ds.times[i]?.toISOString().slice(0, 13) ?? '?',
    hourOf: (i) => {
      const t = ds.times[i];
      if (t === undefined) throw new RangeError(`${name}: no time ${i} (0..${ds.times.length - 1})`);
      return t.getUTCHours() + t.getUTCMinutes() / 60;
    },
    dataset: ds,
  };
}

/** Opens the chosen source; a clear error when both or neither are named. */
export async function openSource(config: Config, choice: SourceChoice): Promise<DaSource> {
  if ((choice.world === undefined) === (choice.dataset === undefined))
    throw new AppError('INVALID_ARGUMENT', 'give exactly one of --world qg and --dataset <name>');
  if (choice.world !== undefined) {
    if (choice.world !== 'qg')
      throw new AppError('INVALID_ARGUMENT', `unknown world '${choice.world}' (known: qg)`);
    return qgSource(config, choice);
  }
  return datasetSource(config, choice.dataset as string);
}

/**
 * Opens a source of states by name: the synthetic QG world (a cached nature run under `<homeDir>/worlds`, generated
 * on first use) or a registered dataset (ncep-air, read whole into memory), behind the one {@link DaSource} shape,
 * so that training, evaluation and assimilation treat both alike.
 */
import path from 'node:path';

import type { Field } from '@alignda/tensor';

import { DatasetError } from '../dataset/dataset-error.js';
import { createDatasetRegistry, datasetRegistryDir } from '../dataset/registry.js';
import { NATURE_EPOCH_ISO } from '../nature/nature-run.js';
import { loadOrGenerateNatureRun } from '../nature/nature-store.js';
import { createQgCore } from '../qg/core.js';
import { thicknessPerKelvin } from '../qg/output.js';
import type { DaSource } from './state-source.js';

/** The synthetic worlds {@link openSource} knows. */
export const WORLDS = ['qg'] as const;

/** Which source: exactly one of a synthetic world and a dataset. */
export interface SourceChoice {
  /** A synthetic world, one of {@link WORLDS}. */
  readonly world?: string;
  /** A registered dataset's name. */
  readonly dataset?: string;
  /** Nature-run seed (synthetic world). */
  readonly seed: number;
  /** Simulated years (synthetic world). */
  readonly years: number;
  /** Spin-up of a newly generated nature run, days (synthetic world). @defaultValue the nature run's */
  readonly spinUpDays?: number;
  readonly onProgress?: (stage: string, fraction: number) => void;
}

/** Where sources live on this machine. */
export interface SourceDirs {
  /** Nature-run cache: `<homeDir>/worlds`; registered datasets: `<homeDir>/datasets`. */
  readonly homeDir: string;
  /** Root of the registered datasets' files. */
  readonly dataDir: string;
}

/** The QG nature run as a {@link DaSource} (generated and cached under `<homeDir>/worlds` when missing). */
export function qgSource(homeDir: string, choice: SourceChoice): DaSource {
  const run = loadOrGenerateNatureRun({
    seed: choice.seed,
    years: choice.years,
    ...(choice.spinUpDays === undefined ? {} : { spinUpDays: choice.spinUpDays }),
    dir: path.join(homeDir, 'worlds'),
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
    stepHours: (run.hours[1] ?? 6) - (run.hours[0] ?? 0),
    state: (i) => run.state(i),
    field: (i) => run.state(i),
    timeOf: (i) => new Date(epoch + (run.hours[i] ?? Number.NaN) * 3_600_000).toISOString().slice(0, 13),
    nature: run,
    dynamics: {
      coriolis: { kind: 'f0', f0PerS: run.grid.f0PerS },
      hydrostatic: [
        {
          t: run.channels.indexOf('t'),
          zUpper: run.channels.indexOf('z_upper'),
          zLower: run.channels.indexOf('z_lower'),
          thicknessPerKelvin: thicknessPerKelvin(createQgCore(run.params)),
        },
      ],
    },
  };
}

/**
 * A registered dataset read whole into memory as a {@link DaSource} (ncep-air: 2920 x 32 x 64, 24 MB).
 * @param registryDir - folder of the user datasets' entries (see `datasetRegistryDir`); absent: built-ins only
 */
export async function datasetSource(dataDir: string, name: string, registryDir?: string): Promise<DaSource> {
  const ds = await createDatasetRegistry({ dataDir, ...(registryDir === undefined ? {} : { registryDir }) }).open(
    name,
  );
  if (ds.stepHours === undefined)
    throw new DatasetError('SHAPE_MISMATCH', `${name}: one time step only; a source needs a time axis`);
  const fields = await ds.readRange(0, ds.times.length);
  const period = (p: 'train' | 'alignment' | 'test'): readonly [number, number] => {
    const { start, end } = ds.period(p);
    return [start, end];
  };
  // The validation period of tuning and alignment, when the descriptor declares one.
  const alignment = ds.descriptor.periods.alignment === undefined ? {} : { alignment: period('alignment') };
  const get = (i: number): Field => {
    const f = fields[i];
    if (f === undefined)
      throw new DatasetError('OUT_OF_RANGE', `${name}: no state ${i} (0..${fields.length - 1})`);
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
    periods: { train: period('train'), ...alignment, test: period('test') },
    count: fields.length,
    stepHours: ds.stepHours,
    state: (i) => ({ data: get(i).data, shape: ds.shape }),
    field: get,
    timeOf: (i) => ds.times[i]?.toISOString().slice(0, 13) ?? '?',
    hourOf: (i) => {
      const t = ds.times[i];
      if (t === undefined)
        throw new DatasetError('OUT_OF_RANGE', `${name}: no time ${i} (0..${ds.times.length - 1})`);
      return t.getUTCHours() + t.getUTCMinutes() / 60;
    },
    dataset: ds,
  };
}

/**
 * Opens the chosen source.
 * @throws DatasetError `OUT_OF_RANGE` when both or neither of world and dataset are named or the world is unknown,
 *   `UNKNOWN_DATASET` for an unregistered dataset
 */
export async function openSource(dirs: SourceDirs, choice: SourceChoice): Promise<DaSource> {
  if ((choice.world === undefined) === (choice.dataset === undefined))
    throw new DatasetError('OUT_OF_RANGE', 'give exactly one of --world qg and --dataset <name>');
  if (choice.world !== undefined) {
    if (!(WORLDS as readonly string[]).includes(choice.world))
      throw new DatasetError('OUT_OF_RANGE', `unknown world '${choice.world}' (known: ${WORLDS.join(', ')})`);
    return qgSource(dirs.homeDir, choice);
  }
  return datasetSource(dirs.dataDir, choice.dataset as string, datasetRegistryDir(dirs.homeDir));
}

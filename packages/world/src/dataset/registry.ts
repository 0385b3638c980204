import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { DatasetError } from './dataset-error.js';
import { parseDatasetDescriptor } from './descriptor.js';
import type { DatasetDescriptor } from './descriptor.js';
import { ncepAirDescriptor } from './ncep-air.js';
import { openDataset } from './open-dataset.js';
import type { OpenedDataset } from './open-dataset.js';

/** One registry row. */
export interface DatasetEntry {
  readonly name: string;
  readonly title: string;
  /** True for datasets shipped with the platform. */
  readonly builtin: boolean;
  /** The descriptor with `source.path` made absolute. */
  readonly descriptor: DatasetDescriptor;
}

/** Options of {@link createDatasetRegistry}. */
export interface DatasetRegistryOptions {
  /**
   * Folder of the shared real data (holding `ncep-air/`).
   * @defaultValue `../shared/data` resolved against the working directory (the repository root)
   */
  readonly dataDir?: string;
}

/** Named datasets: the built-ins and those a user registered with a descriptor file. */
export interface DatasetRegistry {
  readonly dataDir: string;
  list(): DatasetEntry[];
  /** @throws DatasetError `UNKNOWN_DATASET` */
  get(name: string): DatasetEntry;
  /** Opens a registered dataset for reading. */
  open(name: string): Promise<OpenedDataset>;
  /**
   * Registers a Zarr v2 or netCDF3 file from a descriptor JSON file (`source.path` relative to the
   * descriptor's folder or absolute). The descriptor is validated against the file: variables present,
   * shapes consistent, no NaN in the first time step.
   * @throws DatasetError with a one-line message naming the dataset and field
   */
  registerDataset(descriptorPath: string): Promise<DatasetEntry>;
  /** Registers an already-parsed descriptor (relative paths against `baseDir`), validated the same way. */
  registerDescriptor(descriptor: DatasetDescriptor, baseDir: string): Promise<DatasetEntry>;
}

/**
 * Reads and validates a descriptor JSON file (schema only; see {@link DatasetRegistry.registerDataset}
 * for the checks against the data file).
 */
export async function loadDescriptorFile(descriptorPath: string): Promise<DatasetDescriptor> {
  const label = path.basename(descriptorPath).replace(/\.json$/, '');
  let text: string;
  try {
    text = await readFile(descriptorPath, 'utf8');
  } catch (err) {
    throw new DatasetError('SOURCE_NOT_FOUND', `descriptor ${label}: cannot read ${descriptorPath}`, {
      cause: err,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DatasetError(
      'DESCRIPTOR_INVALID',
      `descriptor ${label}: not valid JSON (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
  return parseDatasetDescriptor(json, label);
}

/**
 * Opens a dataset and reads its first time step, so that a bad descriptor or file fails now, with a
 * clear message, rather than in the middle of a training run.
 */
export async function validateDataset(descriptor: DatasetDescriptor): Promise<OpenedDataset> {
  const ds = await openDataset(descriptor);
  if (ds.times.length === 0)
    throw new DatasetError('SHAPE_MISMATCH', `dataset ${descriptor.name}: no time steps`);
  await ds.read(0);
  return ds;
}

/** Creates a registry holding the built-in datasets (`ncep-air`, and `ncep-air-nc` from the netCDF copy). */
export function createDatasetRegistry(opts: DatasetRegistryOptions = {}): DatasetRegistry {
  const dataDir = path.resolve(opts.dataDir ?? path.resolve(process.cwd(), '../shared/data'));
  const entries = new Map<string, DatasetEntry>();
  for (const d of [ncepAirDescriptor(dataDir, 'zarr'), ncepAirDescriptor(dataDir, 'netcdf')]) {
    entries.set(d.name, { name: d.name, title: d.title, builtin: true, descriptor: d });
  }
  const get = (name: string): DatasetEntry => {
    const e = entries.get(name);
    if (e === undefined) {
      throw new DatasetError(
        'UNKNOWN_DATASET',
        `dataset ${name} is not registered (known: ${[...entries.keys()].join(', ')})`,
      );
    }
    return e;
  };
  const registerDescriptor = async (
    descriptor: DatasetDescriptor,
    baseDir: string,
  ): Promise<DatasetEntry> => {
    if (entries.get(descriptor.name)?.builtin) {
      throw new DatasetError(
        'DATASET_EXISTS',
        `dataset ${descriptor.name}: the name belongs to a built-in dataset`,
      );
    }
    const abs: DatasetDescriptor = {
      ...descriptor,
      source: { ...descriptor.source, path: path.resolve(baseDir, descriptor.source.path) },
    };
    await validateDataset(abs);
    const entry = { name: abs.name, title: abs.title, builtin: false, descriptor: abs };
    entries.set(abs.name, entry);
    return entry;
  };
  return {
    dataDir,
    list: () => [...entries.values()],
    get,
    open: (name) => openDataset(get(name).descriptor),
    async registerDataset(descriptorPath) {
      const d = await loadDescriptorFile(descriptorPath);
      return registerDescriptor(d, path.dirname(path.resolve(descriptorPath)));
    },
    registerDescriptor,
  };
}

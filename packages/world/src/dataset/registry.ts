import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { relativeToDataRoot, resolveUnderDataRoot } from './data-root.js';
import { DatasetError } from './dataset-error.js';
import { parseDatasetDescriptor, parseIsoUtc } from './descriptor.js';
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
  /** Hours between time steps, read from the time axis when registered (6 for ncep-air). */
  readonly stepHours: number | undefined;
  /** First and last valid time (ISO, UTC) and the number of time steps, when known (user datasets). */
  readonly timeRange?: { readonly start: string; readonly end: string; readonly count: number };
  /** When the dataset was registered (ISO), user datasets only. */
  readonly addedAt?: string;
}

/** Options of {@link createDatasetRegistry}. */
export interface DatasetRegistryOptions {
  /**
   * Folder of the shared real data (holding `ncep-air/`): the data root every user dataset's path must lie under.
   * @defaultValue `../shared/data` resolved against the working directory (the repository root)
   */
  readonly dataDir?: string;
  /**
   * Folder of the user datasets' entries, one `<name>.json` each, read when the registry is created and written
   * when a dataset is registered (see {@link datasetRegistryDir}).
   * @defaultValue none: user datasets live in memory only
   */
  readonly registryDir?: string;
}

/** Options of a registration. */
export interface RegisterOptions {
  /** Replace a user dataset of the same name. @defaultValue false (the name taken is an error) */
  readonly replace?: boolean;
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
   * Registers a Zarr v2 store or a netCDF file (classic or netCDF-4) from a descriptor JSON file (`source.path`
   * relative to the descriptor's folder or absolute, and under the data root either way). The descriptor is
   * validated against the file (see {@link validateDataset}); nothing is registered when a check fails.
   * @throws DatasetError with a one-line message naming the dataset and field
   */
  registerDataset(descriptorPath: string, opts?: RegisterOptions): Promise<DatasetEntry>;
  /** Registers an already-parsed descriptor (relative paths against `baseDir`), validated the same way. */
  registerDescriptor(
    descriptor: DatasetDescriptor,
    baseDir: string,
    opts?: RegisterOptions,
  ): Promise<DatasetEntry>;
}

/** Where a home folder (ALIGNDA_HOME) keeps its registered datasets' entries: `<homeDir>/datasets`. */
export function datasetRegistryDir(homeDir: string): string {
  return path.join(homeDir, 'datasets');
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
  return parseDescriptorJson(text, label);
}

/** Parses descriptor JSON text; `label` names it in messages when it has no valid name. */
function parseDescriptorJson(text: string, label: string): DatasetDescriptor {
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

const PERIOD_NAMES = ['train', 'alignment', 'test'] as const;

/**
 * Checks the descriptor's periods against the data: train and test present (training and evaluation read them),
 * each inside the data's time range.
 */
function checkPeriods(ds: OpenedDataset): void {
  const d = ds.descriptor;
  const first = ds.times[0]?.getTime() ?? Number.NaN;
  const last = ds.times.at(-1)?.getTime() ?? Number.NaN;
  const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 16);
  for (const name of PERIOD_NAMES) {
    const p = d.periods[name];
    if (p === undefined) {
      if (name === 'alignment') continue;
      throw new DatasetError(
        'DESCRIPTOR_INVALID',
        `dataset ${d.name}: periods.${name} is required (training and evaluation read the train and test periods)`,
      );
    }
    const lo = parseIsoUtc(p.start);
    const hi = parseIsoUtc(p.end);
    if (lo < first || hi > last) {
      throw new DatasetError(
        'OUT_OF_RANGE',
        `dataset ${d.name}: periods.${name} (${p.start} .. ${p.end}) lies outside the data's time range ${iso(first)} .. ${iso(last)}`,
      );
    }
    ds.period(name);
  }
}

/**
 * Opens a dataset and reads its first time step, so that a bad descriptor or file fails now, with a
 * clear message, rather than in the middle of a training run: coordinates present and 1-D, times strictly
 * increasing and uniformly spaced with CF units, variables present with a supported element type and the
 * dimensionality the descriptor implies, periods inside the data.
 */
export async function validateDataset(descriptor: DatasetDescriptor): Promise<OpenedDataset> {
  const ds = await openDataset(descriptor);
  if (ds.times.length === 0)
    throw new DatasetError('SHAPE_MISMATCH', `dataset ${descriptor.name}: no time steps`);
  await ds.read(0);
  checkPeriods(ds);
  return ds;
}

/** What a registry entry file holds (`<registryDir>/<name>.json`). */
interface StoredEntry {
  readonly version: 1;
  readonly stepHours: number | null;
  readonly timeRange: { readonly start: string; readonly end: string; readonly count: number };
  readonly addedAt: string;
  /** The descriptor as given, `source.path` relative to the data root. */
  readonly descriptor: DatasetDescriptor;
}

function loadEntries(registryDir: string, dataDir: string): DatasetEntry[] {
  if (!existsSync(registryDir)) return [];
  const out: DatasetEntry[] = [];
  for (const f of readdirSync(registryDir).sort()) {
    if (!f.endsWith('.json')) continue;
    const file = path.join(registryDir, f);
    let stored: StoredEntry;
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as StoredEntry;
    } catch (err) {
      throw new DatasetError('MALFORMED_INPUT', `dataset registry entry ${file} is not valid JSON`, {
        cause: err,
      });
    }
    const d = parseDatasetDescriptor(stored.descriptor, f.replace(/\.json$/, ''));
    const abs = resolveUnderDataRoot(dataDir, dataDir, d.source.path, d.name);
    out.push({
      name: d.name,
      title: d.title,
      builtin: false,
      descriptor: { ...d, source: { ...d.source, path: abs } },
      stepHours: stored.stepHours ?? undefined,
      timeRange: stored.timeRange,
      addedAt: stored.addedAt,
    });
  }
  return out;
}

/** Writes an entry file atomically (a temporary file renamed over it), so a reader never sees half of one. */
async function storeEntry(registryDir: string, dataDir: string, entry: DatasetEntry): Promise<void> {
  const d = entry.descriptor;
  const stored: StoredEntry = {
    version: 1,
    stepHours: entry.stepHours ?? null,
    timeRange: entry.timeRange ?? { start: '', end: '', count: 0 },
    addedAt: entry.addedAt ?? new Date().toISOString(),
    descriptor: { ...d, source: { ...d.source, path: relativeToDataRoot(dataDir, d.source.path) } },
  };
  await mkdir(registryDir, { recursive: true });
  const file = path.join(registryDir, `${entry.name}.json`);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(stored, null, 2)}\n`);
  await rename(tmp, file);
}

/**
 * Creates a registry holding the built-in datasets (`ncep-air`, and `ncep-air-nc` from the netCDF copy) and the
 * user datasets stored under `registryDir`.
 * @throws DatasetError when a stored entry is unreadable or its path has left the data root
 */
export function createDatasetRegistry(opts: DatasetRegistryOptions = {}): DatasetRegistry {
  const dataDir = path.resolve(opts.dataDir ?? path.resolve(process.cwd(), '../shared/data'));
  const registryDir = opts.registryDir === undefined ? undefined : path.resolve(opts.registryDir);
  const entries = new Map<string, DatasetEntry>();
  for (const d of [ncepAirDescriptor(dataDir, 'zarr'), ncepAirDescriptor(dataDir, 'netcdf')]) {
    entries.set(d.name, { name: d.name, title: d.title, builtin: true, descriptor: d, stepHours: 6 });
  }
  if (registryDir !== undefined) {
    for (const e of loadEntries(registryDir, dataDir)) if (!entries.has(e.name)) entries.set(e.name, e);
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
    ropts: RegisterOptions = {},
  ): Promise<DatasetEntry> => {
    const taken = entries.get(descriptor.name);
    if (taken?.builtin) {
      throw new DatasetError(
        'DATASET_EXISTS',
        `dataset ${descriptor.name}: the name belongs to a built-in dataset`,
      );
    }
    if (taken !== undefined && ropts.replace !== true) {
      throw new DatasetError(
        'DATASET_EXISTS',
        `dataset ${descriptor.name} is already registered (from ${taken.descriptor.source.path}); replace it explicitly`,
      );
    }
    const sourcePath = resolveUnderDataRoot(dataDir, baseDir, descriptor.source.path, descriptor.name);
    const abs: DatasetDescriptor = { ...descriptor, source: { ...descriptor.source, path: sourcePath } };
    const ds = await validateDataset(abs);
    const entry: DatasetEntry = {
      name: abs.name,
      title: abs.title,
      builtin: false,
      descriptor: abs,
      stepHours: ds.stepHours,
      timeRange: {
        start: ds.times[0]?.toISOString() ?? '',
        end: ds.times.at(-1)?.toISOString() ?? '',
        count: ds.times.length,
      },
      addedAt: new Date().toISOString(),
    };
    if (registryDir !== undefined) await storeEntry(registryDir, dataDir, entry);
    entries.set(abs.name, entry);
    return entry;
  };
  return {
    dataDir,
    list: () => [...entries.values()],
    get,
    open: (name) => openDataset(get(name).descriptor),
    async registerDataset(descriptorPath, ropts) {
      const d = await loadDescriptorFile(descriptorPath);
      return registerDescriptor(d, path.dirname(path.resolve(descriptorPath)), ropts);
    },
    registerDescriptor,
  };
}

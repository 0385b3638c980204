import path from 'node:path';
import { parseArgs } from 'node:util';
import { AppError } from '@alignda/errors';
import { DEFAULT_DRAIN_GRACE_MS } from './grpc-service.js';

/** The start-up settings of a gRPC service process, from its flags and environment (a flag wins). */
export interface ServiceArgs {
  /** --host / GRPC_HOST. @defaultValue '127.0.0.1' (loopback; set 0.0.0.0 in a container) */
  readonly host: string;
  /** --port / GRPC_PORT; 0 picks a free port. @defaultValue the service's own port */
  readonly port: number;
  /** --model-dir / ALIGNDA_MODEL_DIR, absolute: the model folder (`alignda train`'s). Undefined when not given. */
  readonly modelDir: string | undefined;
  /**
   * --model-version / ALIGNDA_MODEL_VERSION: the version id the service answers to and reports.
   * @defaultValue the model folder's name
   */
  readonly modelVersion: string;
  /** --world / ALIGNDA_WORLD: the synthetic world the fields live on (`qg`); exclusive with dataset. */
  readonly world: string | undefined;
  /** --dataset / ALIGNDA_DATASET: the registered dataset the fields live on; exclusive with world. */
  readonly dataset: string | undefined;
  /** --world-seed / ALIGNDA_WORLD_SEED: the world's nature-run seed. @defaultValue 1 (as `alignda train`) */
  readonly worldSeed: number;
  /** --world-years / ALIGNDA_WORLD_YEARS: the world's nature-run length, years. @defaultValue 1 */
  readonly worldYears: number;
  /** --forecast-address / ALIGNDA_FORECAST_ADDRESS: `host:port` of the forecast service, when one is used. */
  readonly forecastAddress: string | undefined;
  /**
   * --drain-grace-ms / ALIGNDA_DRAIN_GRACE_MS: how long running calls may finish after SIGTERM, ms.
   * @defaultValue {@link DEFAULT_DRAIN_GRACE_MS}
   */
  readonly drainGraceMs: number;
}

/** What a service asks of {@link parseServiceArgs}. */
export interface ServiceArgsSpec {
  /** The service's port when neither --port nor GRPC_PORT is given. */
  readonly defaultPort: number;
  /** Whether the service cannot start without --model-dir. @defaultValue false */
  readonly requireModelDir?: boolean;
}

const FLAGS = {
  host: { env: 'GRPC_HOST' },
  port: { env: 'GRPC_PORT' },
  'model-dir': { env: 'ALIGNDA_MODEL_DIR' },
  'model-version': { env: 'ALIGNDA_MODEL_VERSION' },
  world: { env: 'ALIGNDA_WORLD' },
  dataset: { env: 'ALIGNDA_DATASET' },
  'world-seed': { env: 'ALIGNDA_WORLD_SEED' },
  'world-years': { env: 'ALIGNDA_WORLD_YEARS' },
  'forecast-address': { env: 'ALIGNDA_FORECAST_ADDRESS' },
  'drain-grace-ms': { env: 'ALIGNDA_DRAIN_GRACE_MS' },
} as const;
type Flag = keyof typeof FLAGS;

/**
 * Parses a service's flags (`--port 50051`, `--model-dir models/qg-ci`, ...) with the environment as fallback and
 * checks them once, at boot.
 * @param argv - the arguments after the script, e.g. `process.argv.slice(2)`
 * @param cwd - what relative paths are resolved from. @defaultValue process.cwd()
 * @throws AppError CONFIG_INVALID naming every bad flag or variable, an unknown flag, both --world and --dataset,
 *   or a missing model folder the service needs
 */
export function parseServiceArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  spec: ServiceArgsSpec,
  cwd = process.cwd(),
): ServiceArgs {
  let values: Partial<Record<Flag, string>>;
  try {
    const options = Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }]));
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `invalid arguments: ${(err as Error).message}`, { cause: err });
  }
  const problems: string[] = [];
  const read = (flag: Flag): string | undefined => {
    const v = values[flag] ?? env[FLAGS[flag].env];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (flag: Flag, fallback: number, min: number, max: number): number => {
    const raw = read(flag);
    if (raw === undefined) return fallback;
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(n >= min && n <= max)) {
      problems.push(
        `--${flag} / ${FLAGS[flag].env} = ${JSON.stringify(raw)}: expected an integer in [${min}, ${max}]`,
      );
      return fallback;
    }
    return n;
  };
  const rawDir = read('model-dir');
  const modelDir = rawDir === undefined ? undefined : path.resolve(cwd, rawDir);
  if (modelDir === undefined && spec.requireModelDir === true)
    problems.push(
      '--model-dir / ALIGNDA_MODEL_DIR: a model folder is required (train one with `alignda train`)',
    );
  const world = read('world');
  const dataset = read('dataset');
  if (world !== undefined && dataset !== undefined) problems.push('--world and --dataset: give at most one');
  const args: ServiceArgs = {
    host: read('host') ?? '127.0.0.1',
    port: int('port', spec.defaultPort, 0, 65535),
    modelDir,
    modelVersion: read('model-version') ?? (modelDir === undefined ? 'none' : path.basename(modelDir)),
    world,
    dataset,
    worldSeed: int('world-seed', 1, 0, 2 ** 31 - 1),
    worldYears: int('world-years', 1, 1, 1000),
    forecastAddress: read('forecast-address'),
    drainGraceMs: int('drain-grace-ms', DEFAULT_DRAIN_GRACE_MS, 0, 3_600_000),
  };
  if (problems.length > 0)
    throw new AppError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`);
  return Object.freeze(args);
}

/** Which source of states a service's fields live on, shaped as `SourceChoice` of @alignda/world. */
export interface ServiceSourceChoice {
  readonly world?: string;
  readonly dataset?: string;
  readonly seed: number;
  readonly years: number;
}

/**
 * The source a service opens: --world or --dataset when given, else the one the model folder was trained on (its
 * manifest's `source`: `qg` is the world, any other name a dataset).
 * @param manifestSource - the model folder's manifest `source`, when there is one
 * @throws AppError CONFIG_INVALID when neither a flag nor a manifest names a source
 */
export function serviceSourceChoice(args: ServiceArgs, manifestSource?: string): ServiceSourceChoice {
  const common = { seed: args.worldSeed, years: args.worldYears };
  if (args.world !== undefined) return { ...common, world: args.world };
  if (args.dataset !== undefined) return { ...common, dataset: args.dataset };
  if (manifestSource === 'qg') return { ...common, world: manifestSource };
  if (manifestSource !== undefined) return { ...common, dataset: manifestSource };
  throw new AppError(
    'CONFIG_INVALID',
    'invalid configuration: no source of states: give --world qg or --dataset <name> (ALIGNDA_WORLD / ALIGNDA_DATASET), or a model folder with a models.json',
  );
}

/**
 * `alignda up` as a CLI run: the whole platform on this machine, every service its own child process (ingest,
 * encoder, sampler, forecast, reward, orchestrator, cycler, trainer, gateway), wired through environment variables, supervised
 * (supervisor.ts: an unexpected exit is restarted with a growing delay), and stopped together on Ctrl-C / SIGTERM. Redis comes from
 * REDIS_URL or, when nothing answers there, a `redis-server` started for the run; the registry is migrated once
 * before the services start, and a synthetic world's nature run generated once (not by five services at a time).
 * `alignda serve <service>` (serve-run.ts) runs one service the same way, in the foreground.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { loadConfig } from '@alignda/config';
import type { Config } from '@alignda/config';
import { openDatabase } from '@alignda/db';
import { AppError } from '@alignda/errors';
import { fileModelStore } from '@alignda/nn';
import { defaultBackground } from '@alignda/pipelines';
import type { BackgroundKind, Preset } from '@alignda/pipelines';
import { ensureRedis, freePort, localRedisProblem } from '@alignda/queue';
import { openSource } from '@alignda/world';

import { createProgress } from '../progress.js';
import { SERVICE_NAMES, createSupervisor } from './supervisor.js';
import type { Running, ServiceName } from './supervisor.js';
import { modelDir } from './train-run.js';

export { SERVICE_NAMES, serviceCommand } from './supervisor.js';
export type { ServiceName } from './supervisor.js';

/**
 * Absolute ALIGNDA_HOME, DATABASE_URL and ALIGNDA_DATA_DIR of `config`: a child resolves relative defaults from its
 * own directory, and every process must see the same registry and files.
 */
export function configEnv(config: Config): NodeJS.ProcessEnv {
  return {
    ALIGNDA_HOME: config.homeDir,
    DATABASE_URL: config.databaseUrl,
    ALIGNDA_DATA_DIR: config.dataDir,
    REDIS_URL: config.redisUrl,
  };
}

/** Options of `alignda up`. */
export interface UpRunOptions {
  world?: string;
  dataset?: string;
  preset: Preset;
  /** Model folder. @defaultValue `<home>/models/<source>-<preset>-<background>` */
  modelDir?: string;
  background?: BackgroundKind;
  /** The gateway's port; 0 = a free one. @defaultValue HTTP_PORT, else 8080 */
  httpPort?: number;
  /**
   * gRPC ports base..base+5 (ingest, encoder, sampler, forecast, reward, orchestrator), then one per extra sampler
   * replica. @defaultValue free ports
   */
  grpcPortBase?: number;
  /** Sampler replicas, each consuming the `sample` queue. @defaultValue 1 */
  samplers?: number;
  /** How long the services may take to answer health checks, seconds. */
  startTimeoutS: number;
  /** Folder of the services' log files. @defaultValue `<home>/logs/up` */
  logsDir?: string;
  /**
   * Work to do with the platform in this process (the demo's job): called once every service is healthy, after which
   * the platform stops, as on Ctrl-C. Its failure is thrown once everything has stopped.
   * @defaultValue none: the platform runs until Ctrl-C / SIGTERM
   */
  whileUp?: (platform: UpPlatform) => Promise<void>;
}

/** What {@link UpRunOptions.whileUp} is given of the running platform. */
export interface UpPlatform {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8080`. */
  readonly gatewayUrl: string;
  /** Folder of the services' log files. */
  readonly logsDir: string;
  /** Aborted when the platform stops under the work (Ctrl-C, a service that failed). */
  readonly signal: AbortSignal;
}

/**
 * Why `alignda up` could have no Redis (nothing answers at `url` and no redis-server is installed), with how to get
 * one, or null when it can have one.
 */
export function redisProblem(url: string): Promise<string | null> {
  return localRedisProblem(url);
}

/** The model folder and the source it was trained on. */
async function modelsOf(
  opts: UpRunOptions,
  config: Config,
): Promise<{ dir: string; source: { world: string } | { dataset: string } }> {
  if (opts.world !== undefined && opts.dataset !== undefined)
    throw new AppError('INVALID_ARGUMENT', 'give either --world or --dataset, not both');
  const name = opts.dataset ?? opts.world ?? 'qg';
  const kind = opts.dataset !== undefined ? 'dataset' : 'world';
  const background = opts.background ?? defaultBackground({ kind });
  const dir = path.resolve(opts.modelDir ?? modelDir(config.homeDir, name, opts.preset, background));
  const manifest = await fileModelStore(dir).readManifest();
  if (manifest === undefined)
    throw new AppError(
      'NOT_FOUND',
      `no trained models in ${dir} (no models.json); train them first: alignda train --${kind} ${name} --preset ${opts.preset}`,
    );
  const trained = manifest.source;
  if ((opts.world !== undefined || opts.dataset !== undefined) && trained !== name)
    throw new AppError('INVALID_ARGUMENT', `the models in ${dir} were trained on ${trained}, not ${name}`);
  return { dir, source: trained === 'qg' ? { world: trained } : { dataset: trained } };
}

/** A positive integer from the environment, or `fallback`. */
function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

/** Runs `alignda up` until Ctrl-C / SIGTERM; resolves once everything it started has stopped. */
export async function runUp(opts: UpRunOptions, print: (line: string) => void = console.log): Promise<void> {
  const config = loadConfig();
  const { dir, source } = await modelsOf(opts, config);
  const logsDir = path.resolve(opts.logsDir ?? path.join(config.homeDir, 'logs', 'up'));
  mkdirSync(logsDir, { recursive: true });
  const redis = await ensureRedis(config.redisUrl, {
    logFile: path.join(logsDir, 'redis.log'),
    // An own Redis keeps an append-only file (fsync every second) in the home: queued jobs and cycle steps outlive a
    // restart of it, or of the whole run.
    aofDir: path.join(config.homeDir, 'redis'),
  });
  if (redis.process !== undefined)
    print(`REDIS_URL ${config.redisUrl} does not answer: started redis-server at ${redis.url} for this run`);
  const stopRedis = (): void => {
    redis.process?.kill('SIGTERM');
  };
  // From here on Ctrl-C / SIGTERM stop what this run started, whatever it is doing.
  let stopping = false;
  let failure: AppError | undefined;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  // Tells the caller's work (whileUp) that the platform is going away.
  const halt = new AbortController();
  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    halt.abort();
    wake();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stopAll);
  const unlisten = (): void => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeListener(signal, stopAll);
  };
  try {
    // Migrations once, here, rather than raced by the gateway and the orchestrator.
    await (await openDatabase(config)).$disconnect();
    if ('world' in source) {
      // The world's nature run, generated once into the shared cache (the services read it from there).
      const progress = createProgress();
      await openSource(config, {
        world: source.world,
        seed: envInt('ALIGNDA_WORLD_SEED', 1),
        years: envInt('ALIGNDA_WORLD_YEARS', 1),
        onProgress: (s, f) => progress.update(s, f),
      });
      progress.stop();
    }
  } catch (err) {
    stopRedis();
    unlisten();
    throw err;
  }
  if (stopping) {
    stopRedis();
    unlisten();
    return;
  }

  const grpcNames = SERVICE_NAMES.filter((n) => n !== 'gateway');
  const ports = new Map<ServiceName, number>();
  for (const [i, name] of grpcNames.entries())
    ports.set(name, opts.grpcPortBase === undefined ? await freePort() : opts.grpcPortBase + i);
  const httpPort =
    opts.httpPort === undefined
      ? envInt('HTTP_PORT', 8080)
      : opts.httpPort === 0
        ? await freePort()
        : opts.httpPort;
  const address = (name: ServiceName): string => `127.0.0.1:${ports.get(name) ?? 0}`;
  // Extra sampler replicas: each its own gRPC port (for direct Sample calls and health); all take the sample queue.
  const samplers = opts.samplers ?? 1;
  const replicaPorts: number[] = [];
  for (let k = 1; k < samplers; k++)
    replicaPorts.push(
      opts.grpcPortBase === undefined ? await freePort() : opts.grpcPortBase + grpcNames.length + k - 1,
    );
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    ...configEnv(config),
    REDIS_URL: redis.url,
    ALIGNDA_MODEL_DIR: dir,
    ALIGNDA_WORLD: 'world' in source ? source.world : '',
    ALIGNDA_DATASET: 'dataset' in source ? source.dataset : '',
    GRPC_HOST: '127.0.0.1',
  };
  const envOf = (name: ServiceName): NodeJS.ProcessEnv => ({
    ...base,
    ...(name === 'gateway' ? { HTTP_PORT: String(httpPort) } : { GRPC_PORT: String(ports.get(name)) }),
    ...(name === 'reward' ? { ALIGNDA_FORECAST_ADDRESS: address('forecast') } : {}),
    ...(name === 'orchestrator'
      ? {
          ALIGNDA_INGEST_ADDRESS: address('ingest'),
          ALIGNDA_ENCODER_ADDRESS: address('encoder'),
          ALIGNDA_SAMPLER_ADDRESS: address('sampler'),
          ALIGNDA_FORECAST_ADDRESS: address('forecast'),
          ALIGNDA_REWARD_ADDRESS: address('reward'),
        }
      : {}),
  });

  const gatewayUrl = `http://127.0.0.1:${httpPort}`;
  const supervisor = createSupervisor({
    logsDir,
    print,
    restartsPerMinute: envInt('ALIGNDA_UP_RESTARTS_PER_MINUTE', 3),
    onFatal: (err) => {
      failure ??= err;
      stopAll();
    },
  });
  const services: Running[] = SERVICE_NAMES.map((name) =>
    supervisor.launch(name, name, envOf(name), name === 'gateway' ? gatewayUrl : address(name)),
  );
  for (const [k, port] of replicaPorts.entries())
    services.push(
      supervisor.launch(
        'sampler',
        `sampler-${k + 2}`,
        { ...envOf('sampler'), GRPC_PORT: String(port) },
        `127.0.0.1:${port}`,
      ),
    );

  const late = await supervisor.waitReady(Date.now() + opts.startTimeoutS * 1000, () => stopping);
  if (late !== undefined && late.length > 0) {
    const names = late.map((s) => `${s.label} (log ${s.logFile})`).join(', ');
    failure ??= new AppError('DEADLINE_EXCEEDED', `no answer within ${opts.startTimeoutS} s from ${names}`);
    stopAll();
  }
  if (!stopping) {
    for (const s of services)
      print(`  ${s.label.padEnd(13)} ${s.address.padEnd(24)} pid ${s.child.pid ?? '?'}`);
    print(`logs in ${logsDir}`);
    print(
      `gateway ${gatewayUrl} (API docs at ${gatewayUrl}/docs; keys: alignda keys create --name <n> --scopes submit,read)`,
    );
    if (opts.whileUp === undefined) print('Ctrl-C stops every service');
  }
  // The caller's work, then the same stop as Ctrl-C; its error (kept, not left unhandled) is thrown after the stop.
  const work =
    stopping || opts.whileUp === undefined
      ? undefined
      : opts.whileUp({ gatewayUrl, logsDir, signal: halt.signal }).then(
          () => undefined,
          (err: unknown) => ({ err }),
        );
  void work?.finally(stopAll);

  await stopped;
  print('stopping the services');
  // The orchestrator lets a running job finish for its drain grace (10 s) before it requeues it.
  await supervisor.stop(20_000);
  stopRedis();
  unlisten();
  if (failure !== undefined) throw failure;
  const failed = await work;
  if (failed !== undefined) throw failed.err;
  print('stopped');
}

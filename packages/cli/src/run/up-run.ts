/**
 * `alignda up` as a CLI run: the whole platform on this machine, every service its own child process (ingest,
 * encoder, sampler, forecast, reward, orchestrator, gateway), wired through environment variables, supervised
 * (an unexpected exit is restarted, a few times), and stopped together on Ctrl-C / SIGTERM. Redis comes from
 * REDIS_URL or, when nothing answers there, a `redis-server` started for the run; the registry is migrated once
 * before the services start, and a synthetic world's nature run generated once (not by five services at a time).
 * `alignda serve <service>` (serve-run.ts) runs one service the same way, in the foreground.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadConfig } from '@alignda/config';
import type { Config } from '@alignda/config';
import { openDatabase } from '@alignda/db';
import { AppError } from '@alignda/errors';
import { fileModelStore } from '@alignda/nn';
import { defaultBackground } from '@alignda/pipelines';
import type { BackgroundKind, Preset } from '@alignda/pipelines';
import { probeRedis } from '@alignda/queue';
import { checkHealth } from '@alignda/rpc';
import { openSource } from '@alignda/world';

import { createProgress } from '../progress.js';
import { modelDir } from './train-run.js';

/** The services, in the order they are listed; all start at once and each is waited for. */
export const SERVICE_NAMES = [
  'ingest',
  'encoder',
  'sampler',
  'forecast',
  'reward',
  'orchestrator',
  'gateway',
] as const;
/** One of {@link SERVICE_NAMES}. */
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The repository the CLI runs from: the services' entry points live beside it. */
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** How a service process is started: node with tsx's loader on its `src/main.ts` (what `npm run` scripts do). */
export function serviceCommand(name: ServiceName, args: readonly string[] = []): readonly string[] {
  const main = path.join(REPO_ROOT, 'services', name, 'src', 'main.ts');
  return ['--import', import.meta.resolve('tsx'), main, ...args];
}

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

/** A free TCP port on 127.0.0.1 (taken from the kernel, then released for a child to bind). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The last lines of a log file, for an error message. */
function tail(file: string, lines = 12): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Why Redis cannot be had (nothing answers: `err`; no redis-server to start one) and how to get it. */
function noRedisMessage(err: unknown): string {
  return `${err instanceof Error ? err.message : String(err)}; no redis-server is installed to start one: install Redis (apt-get install redis-server, brew install redis) or start one (docker compose up -d redis), or set REDIS_URL`;
}

const redisServerInstalled = (): boolean => spawnSync('redis-server', ['--version']).status === 0;

/**
 * Why `alignda up` could have no Redis (nothing answers at `url` and no redis-server is installed), with how to get
 * one, or null when it can have one.
 */
export async function redisProblem(url: string): Promise<string | null> {
  try {
    await probeRedis(url, 1500);
    return null;
  } catch (err) {
    return redisServerInstalled() ? null : noRedisMessage(err);
  }
}

/** Redis for the run: REDIS_URL when it answers, else a `redis-server` of our own on a free port. */
async function ensureRedis(url: string, logFile: string): Promise<{ url: string; process?: ChildProcess }> {
  try {
    await probeRedis(url, 1500);
    return { url };
  } catch (err) {
    if (!redisServerInstalled()) throw new AppError('UNAVAILABLE', noRedisMessage(err), { cause: err });
  }
  const port = await freePort();
  const fd = openSync(logFile, 'a');
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  const own = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (
      await probeRedis(own, 500).then(
        () => true,
        () => false,
      )
    )
      return { url: own, process: child };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new AppError(
    'UNAVAILABLE',
    `the redis-server started on port ${port} did not answer (log: ${logFile})`,
  );
}

/** One supervised service. */
interface Running {
  readonly name: ServiceName;
  /** The name it is listed, logged and restarted under: the service's, `sampler-2` for a second replica. */
  readonly label: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
  /** `host:port` (gRPC) or the gateway's base URL. */
  readonly address: string;
  child: ChildProcess;
  restarts: number[];
}

/** Starts `name` (listed as `label`) with its log appended to `logFile`. */
function startChild(name: ServiceName, label: string, env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  writeSync(fd, `--- alignda up: ${label} starting at ${new Date().toISOString()} ---\n`);
  const child = spawn(process.execPath, serviceCommand(name), { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

/** Whether a started service answers: gRPC health SERVING, or the gateway's /readyz 200. */
async function healthy(s: Running): Promise<boolean> {
  if (s.name === 'gateway')
    return fetch(`${s.address}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status === 200,
      () => false,
    );
  return checkHealth(s.address, '', { deadlineMs: 1000 }).then(
    (status) => status === 'SERVING',
    () => false,
  );
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
  const redis = await ensureRedis(config.redisUrl, path.join(logsDir, 'redis.log'));
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
  const launch = (name: ServiceName, label: string, env: NodeJS.ProcessEnv, at: string): Running => {
    const logFile = path.join(logsDir, `${label}.log`);
    return {
      name,
      label,
      env,
      logFile,
      address: at,
      child: startChild(name, label, env, logFile),
      restarts: [],
    };
  };
  const services: Running[] = SERVICE_NAMES.map((name) =>
    launch(name, name, envOf(name), name === 'gateway' ? gatewayUrl : address(name)),
  );
  for (const [k, port] of replicaPorts.entries())
    services.push(
      launch(
        'sampler',
        `sampler-${k + 2}`,
        { ...envOf('sampler'), GRPC_PORT: String(port) },
        `127.0.0.1:${port}`,
      ),
    );

  // Supervision: a service that exits on its own is started again (at most 3 times a minute, with a growing delay);
  // past that, or before it ever answered, the whole run stops with its log's tail.
  let ready = false;
  const watch = (s: Running): void => {
    s.child.once('exit', (code, signal) => {
      if (stopping) return;
      const why = `${s.label} exited (${signal ?? `status ${code}`})`;
      const now = Date.now();
      s.restarts = s.restarts.filter((t) => now - t < 60_000);
      if (!ready || s.restarts.length >= 3) {
        failure = new AppError('UNAVAILABLE', `${why}; its log (${s.logFile}) ends:\n${tail(s.logFile)}`);
        stopAll();
        return;
      }
      s.restarts.push(now);
      const delayMs = 1000 * 2 ** (s.restarts.length - 1);
      print(`${why}: restarting it in ${delayMs / 1000} s (log ${s.logFile})`);
      setTimeout(() => {
        if (stopping) return;
        s.child = startChild(s.name, s.label, s.env, s.logFile);
        watch(s);
      }, delayMs);
    });
  };
  services.forEach(watch);

  const deadline = Date.now() + opts.startTimeoutS * 1000;
  const waiting = new Set(services);
  while (waiting.size > 0 && !stopping) {
    for (const s of [...waiting]) if (await healthy(s)) waiting.delete(s);
    if (waiting.size === 0) break;
    if (Date.now() > deadline) {
      const late = [...waiting].map((s) => `${s.label} (log ${s.logFile})`).join(', ');
      failure = new AppError('DEADLINE_EXCEEDED', `no answer within ${opts.startTimeoutS} s from ${late}`);
      stopAll();
      break;
    }
    await sleep(300);
  }
  if (!stopping) {
    ready = true;
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
  await Promise.all(
    services.map(
      (s) =>
        new Promise<void>((resolve) => {
          const c = s.child;
          if (c.exitCode !== null || c.signalCode !== null) {
            resolve();
            return;
          }
          // The orchestrator lets a running job finish for its drain grace (10 s) before it requeues it.
          const kill = setTimeout(() => c.kill('SIGKILL'), 20_000);
          c.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
  stopRedis();
  unlisten();
  if (failure !== undefined) throw failure;
  const failed = await work;
  if (failed !== undefined) throw failed.err;
  print('stopped');
}

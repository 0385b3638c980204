/**
 * The platform the fuzzer sends to, every service its own process on 127.0.0.1: the gateway alone (no orchestrator, so
 * an accepted job stays queued) and the five gRPC services (the sampler without its queue worker), over a throw-away
 * home (the ci models and the QG world's nature run, made as a user makes them), a SQLite registry and a Redis
 * database of its own. Built from bench/platform-stack.ts (Redis, home, gateway) and packages/rpc's service harness
 * (spawnServiceMain); a crashed process can be started again.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Client, credentials } from '@grpc/grpc-js';

import { createApiKey, openDatabase } from '@alignda/db';
import { EncoderServiceClient, createGrpcClient, unaryCall } from '@alignda/rpc';
import type { DescribeModelResponse } from '@alignda/rpc';

import {
  REPO,
  ensureRedis,
  freePort,
  obliterateQueues,
  pickRedisDb,
  prepareHome,
  startGateway,
} from '../../bench/platform-stack.js';
import type { BenchRedis } from '../../bench/platform-stack.js';
import { spawnServiceMain } from '../../packages/rpc/src/internal/testing.js';
import type { SpawnedService } from '../../packages/rpc/src/internal/testing.js';
import type { FuzzKeys } from '../../services/gateway/src/fuzz-requests.js';
import { GRPC_TARGETS } from './grpc-cases.js';
import type { GrpcTarget } from './grpc-cases.js';

/** Options of {@link startFuzzStack}. */
export interface FuzzStackOptions {
  /** Redis to use (a database of its own is picked on it). @defaultValue REDIS_URL, else redis://127.0.0.1:6379 */
  readonly redisUrl?: string;
  /** A home with the ci models and the nature run, kept between runs; made when missing. @defaultValue a fresh one */
  readonly home?: string;
  /** Progress lines (what is being made or started). @defaultValue none */
  readonly log?: (line: string) => void;
  /** How long each process may take to start, ms. @defaultValue 120000 */
  readonly startTimeoutMs?: number;
}

/** A process of the stack, as the fuzzer sees it. */
export interface StackProcess {
  /** `host:port` of a gRPC service; the gateway's base URL. */
  readonly address: string;
  /** Whether the process is still running. */
  alive(): boolean;
  /** The end of what it wrote (stdout and stderr; the gateway's: its log file's name). */
  output(): string;
}

/** A running stack; {@link FuzzStack.close} stops every process it started, whatever happened. */
export interface FuzzStack {
  /** The served model (channels, units, grid, field and latent shapes). */
  readonly model: DescribeModelResponse;
  /** The source the services serve (`qg`). */
  readonly datasetId: string;
  /** Keys of the gateway's registry. */
  readonly keys: FuzzKeys;
  /** The process of a target as it is now. */
  process(target: 'gateway' | GrpcTarget): StackProcess;
  /** Starts a target's process again (after a crash); its address may change. */
  restart(target: 'gateway' | GrpcTarget): Promise<void>;
  close(): Promise<void>;
}

/** Arguments of each gRPC service's main.ts (services/<name>/src/main.ts). */
function serviceArgs(target: GrpcTarget, modelDir: string, forecastPort: number): string[] {
  // The forecast service on a port chosen here, so that the reward service can be given it and all start at once.
  const port = ['--port', target === 'forecast' ? String(forecastPort) : '0'];
  const forecast = `127.0.0.1:${forecastPort}`;
  switch (target) {
    case 'ingest':
      return [...port, '--world', 'qg'];
    case 'reward':
      return [...port, '--world', 'qg', '--forecast-address', forecast];
    case 'encoder':
    case 'sampler':
    case 'forecast':
      return [...port, '--model-dir', modelDir];
  }
}

/** Whether a child process is still running. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the stack. Throws (having stopped what it started) when Redis cannot be had (the message says how to get
 * it), the home cannot be made or a process does not start.
 */
export async function startFuzzStack(options: FuzzStackOptions = {}): Promise<FuzzStack> {
  const log = options.log ?? ((): void => undefined);
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  const root = mkdtempSync(path.join(tmpdir(), 'alignda-fuzz-'));
  const home = options.home ?? path.join(root, 'home');
  mkdirSync(home, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  // Once closing, nothing is started again (a target still sending would take its killed process for a crash).
  let closing = false;
  const close = async (): Promise<void> => {
    closing = true;
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const redis: BenchRedis = await ensureRedis(
      options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      path.join(root, 'redis.log'),
    );
    if (redis.started !== undefined) {
      const started = redis.started;
      log(`no Redis answered: started redis-server at ${redis.serverUrl} for this run`);
      stops.push(() => {
        started.kill('SIGTERM');
        return Promise.resolve();
      });
    }
    const redisUrl = await pickRedisDb(redis.serverUrl);
    stops.push(() => obliterateQueues(redisUrl));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ALIGNDA_HOME: home,
      DATABASE_URL: `file:${path.join(root, 'alignda.db')}`,
      REDIS_URL: redisUrl,
      ALIGNDA_EXECUTION_PROVIDER: 'cpu',
      ALIGNDA_SAMPLER_QUEUE: 'off',
      LOG_LEVEL: 'info',
    };
    for (const k of [
      'HTTP_PORT',
      'GRPC_PORT',
      'GRPC_HOST',
      'ALIGNDA_MODEL_DIR',
      'ALIGNDA_WORLD_YEARS',
      'ALIGNDA_DATASET',
    ])
      delete env[k];

    log(`preparing ${home} (ci models, nature run) ...`);
    const made = await prepareHome(env, home);
    if (made.length > 0) log(`made ${made.join(' and ')}`);

    // The registry (migrated here, once) and the gateway's keys.
    const db = await openDatabase({ databaseUrl: env.DATABASE_URL ?? '', startupProbeTimeoutMs: 5000 });
    const keys: FuzzKeys = {
      exempt: (await createApiKey(db, { name: 'fuzz', scopes: ['submit', 'read'], rateLimitExempt: true }))
        .token,
      read: (await createApiKey(db, { name: 'fuzz-read', scopes: ['read'] })).token,
    };
    await db.$disconnect();

    const modelDir = path.join(home, 'models', 'qg-ci-model');
    const grpc = new Map<GrpcTarget, SpawnedService>();
    const forecastPort = await freePort();
    const startService = async (target: GrpcTarget): Promise<void> => {
      const s = await spawnServiceMain(
        `services/${target}/src/main.ts`,
        serviceArgs(target, modelDir, forecastPort),
        { cwd: REPO, env, timeoutMs },
      );
      if (closing) {
        s.child.kill('SIGKILL'); // started while the stack closed: the stop loop has passed
        return;
      }
      grpc.set(target, s);
    };
    stops.push(async () => {
      await Promise.all(
        [...grpc.values()].map(async (s) => {
          if (s.child.exitCode !== null || s.child.signalCode !== null) return;
          s.child.kill('SIGTERM');
          const late = setTimeout(() => s.child.kill('SIGKILL'), 10_000);
          await s.exited;
          clearTimeout(late);
        }),
      );
    });
    let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
    const gatewayLog = path.join(root, 'gateway.log');
    const startGw = async (): Promise<void> => {
      const started = await startGateway(env, gatewayLog, timeoutMs);
      if (closing) await started.stop();
      else gateway = started;
    };
    stops.push(() => gateway?.stop() ?? Promise.resolve());

    log('starting the gateway and the gRPC services ...');
    await Promise.all([startGw(), ...GRPC_TARGETS.map(startService)]);

    const encoder = grpc.get('encoder');
    if (encoder === undefined) throw new Error('the encoder did not start');
    const client = createGrpcClient(EncoderServiceClient, encoder.address, { defaultDeadlineMs: 30_000 });
    const model = await unaryCall(client.describeModel.bind(client), { modelVersion: '' });
    client.close();

    return {
      model,
      datasetId: 'qg',
      keys,
      process(target) {
        if (target === 'gateway') {
          const gw = gateway;
          return {
            address: gw?.url ?? 'http://127.0.0.1:1',
            alive: () => gw !== undefined && running(gw.pid),
            output: () => `(see ${gatewayLog})`,
          };
        }
        const s = grpc.get(target);
        return {
          address: s?.address ?? '127.0.0.1:1',
          alive: () => s !== undefined && s.child.exitCode === null && s.child.signalCode === null,
          output: () => s?.output().slice(-4000) ?? '',
        };
      },
      async restart(target) {
        if (closing) throw new Error(`the stack is closing: ${target} is not started again`);
        if (target === 'gateway') {
          await gateway?.stop();
          await startGw();
        } else await startService(target);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A raw gRPC client of `address` that sends and receives bytes as they are (no size limit of its own). */
export function rawGrpcClient(address: string): Client {
  return new Client(address, credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
  });
}

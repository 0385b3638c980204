/**
 * `npm run bench -- platform [--jobs K] [--members M] [--steps S] [--concurrency J] [--single-runs R] [--rate Q]
 *  [--duration D] [--connections N] [--warmup-s W] [--parts 1,2,3] [--home DIR] [--redis-db N] [--quick]`
 *
 * Issue 13's "Speed" criteria, measured in one run on this machine:
 *
 * 1. Throughput: K DPS jobs of M members (default 8 x 8, 64 steps) submitted at once over HTTP to `alignda up` with
 *    one sampler replica, then to a fresh `alignda up` with two; analyses per minute = K / (first POST to the last
 *    job's finishedAt), each platform warmed first (every replica has sampled an M-member job). The orchestrator runs
 *    J jobs at once (ALIGNDA_ORCHESTRATOR_CONCURRENCY, default 4: enough to keep two replicas fed). Over each run the
 *    CPU seconds of every process of the platform are read from /proc/<pid>/stat (the pids `alignda up` prints, and
 *    its own), Redis's from INFO cpu: S = the sampler processes' CPU per job, N = everything else's (orchestrator,
 *    encoder, forecast, reward, ingest, gateway, `up`, Redis). The bound on the 2 / 1 ratio is
 *    B = min(2, C·S/(S+N)) / min(1, C·S/(S+N)) with C = os.availableParallelism() (derived in platform-cpu.ts,
 *    `samplerRatioBound`: each replica is one onnxruntime thread, so n replicas finish at most n/S jobs a second, and
 *    all processes together at most C/(S+N)); S and N are the 2-replica run's. Target: ratio >= min(1.8, 0.9 B).
 * 2. Latency of one job: the same M-member request through HTTP, the queue and gRPC (POST to the job's finishedAt,
 *    on the warm 1-replica platform with nothing else queued) and through packages/pipelines' `runAssimilationJob`
 *    in this process (what `alignda assimilate` runs, without process start, model loading or the file write; the
 *    same model folder and nature run), R pairs interleaved after one warm-up of each; target: median ratio <= 1.1.
 *    A second table splits both by stage (the orchestrator's `result.timings`, runAssimilationJob's `timings`).
 * 3. Gateway POST latency: the gateway alone (`alignda serve gateway`'s process: Redis and the registry, no workers)
 *    under Q = 200 POSTs a second for D = 30 s from autocannon in this process (N = 10 connections; see
 *    platform-load.ts for how autocannon spreads the rate), after a W = 3 s warm-up; the key is exempt from the rate
 *    limit and GATEWAY_MAX_WAITING_JOBS is raised past Q·D so every submission is accepted; afterwards the queue is
 *    obliterated and the Job rows deleted. Target: p99 < 50 ms, no connection errors, timeouts or non-2xx answers
 *    other than 429 (reported apart). The gateway's own times of the same requests (its request log) are printed
 *    beside the client's, and the rate reached beside the rate asked.
 *
 * Everything runs on CPU (ALIGNDA_EXECUTION_PROVIDER=cpu, one onnxruntime thread per session) in a throw-away
 * ALIGNDA_HOME with the ci preset's models (30 training steps: a job's cost does not depend on the weights) and the
 * one-year QG nature run, both made by the CLI first (about a minute; `--home DIR` keeps and reuses them), SQLite as
 * the registry, and a Redis database of its own (REDIS_URL's server, or a redis-server the bench starts when none
 * answers). `--quick`: 4 jobs of 16 steps, 2 pairs, 5 s of load after 1 s. The machine's busy CPU outside the
 * platform and the bench (other users of a shared machine) is printed beside every figure: it competes for the cores.
 * The SQLite registry runs in WAL mode (packages/db's openDatabase); the table's header says the file's journal mode.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { loadConfig } from '@alignda/config';
import { createApiKey, openDatabase } from '@alignda/db';
import { fileModelStore } from '@alignda/nn';
import { defaultBackground, parseAssimilationRequest, runAssimilationJob } from '@alignda/pipelines';
import type { BackgroundKind } from '@alignda/pipelines';
import { QueueName } from '@alignda/queue';
import { openSource } from '@alignda/world';

import { cpuDelta, cpuSnapshot } from './platform-cpu.js';
import type { CpuDelta } from './platform-cpu.js';
import { postLoad } from './platform-load.js';
import type { LoadResult } from './platform-load.js';
import { printReport } from './platform-report.js';
import type { LoadRun, PlatformOptions, SinglePair, ThroughputRun } from './platform-report.js';
import {
  JobClient,
  ensureRedis,
  obliterateQueues,
  pickRedisDb,
  prepareHome,
  startGateway,
  startUp,
} from './platform-stack.js';
import type { UpHandle } from './platform-stack.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** A progress line on stderr, rewritten in place on a TTY; on other streams only its last state is written. */
function status(label: string): (text: string, last: boolean) => void {
  return (text, last) => {
    if (process.stderr.isTTY) process.stderr.write(`\r  ${label}: ${text}   ${last ? '\n' : ''}`);
    else if (last) process.stderr.write(`  ${label}: ${text}\n`);
  };
}

/** The job every part submits: the e2e test's three observations, M members, S steps. */
function jobRequest(members: number, steps: number, seed: number): Record<string, unknown> {
  return {
    source: { world: 'qg' },
    validTime: '2001-01-23T00:00Z',
    method: 'dps',
    members,
    steps,
    seed,
    observations: {
      cells: [
        { channel: 't', row: 10, col: 10, value: 250, sigma: 0.5 },
        { channel: 't', row: 20, col: 40, value: 245, sigma: 0.5 },
        { channel: 'u_upper', row: 5, col: 3, value: 12, sigma: 2 },
      ],
    },
  };
}

/**
 * Submits one job per replica at once until every replica has sampled one (sessions of M members built, code paths
 * warm); at most 4 rounds. Returns the rounds taken.
 */
async function warmUp(
  client: JobClient,
  up: UpHandle,
  redisUrl: string,
  request: (seed: number) => unknown,
): Promise<number> {
  const replicas = [...up.pids].filter(([label]) => label.startsWith('sampler')).map(([, pid]) => pid);
  const seen = new Set<number>();
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const samples = new Queue(QueueName.sample, { connection });
  const show = status('warm-up');
  try {
    for (let round = 1; round <= 4; round++) {
      show(`round ${round}, ${seen.size}/${replicas.length} replicas warm`, false);
      const ids = await Promise.all(replicas.map((_, i) => client.submit(request(900 + round * 10 + i))));
      await client.waitAll(ids, 250);
      for (const id of ids) {
        const by = (await samples.getJob(`${id}.sample`))?.processedBy ?? '';
        seen.add(Number(by.split(':').at(-1)));
      }
      if (replicas.every((pid) => seen.has(pid))) {
        show(`${round} round(s), every replica warm`, true);
        return round;
      }
    }
    show(`not every replica took a job (${seen.size}/${replicas.length})`, true);
    return 4;
  } finally {
    await samples.close();
    connection.disconnect();
  }
}

/** Part 1: K jobs at once, timed, with the platform's CPU accounting. */
async function throughput(
  client: JobClient,
  up: UpHandle,
  redis: Redis,
  samplers: number,
  jobs: number,
  warmupRounds: number,
  request: (seed: number) => unknown,
): Promise<ThroughputRun> {
  const show = status(`${samplers} sampler(s), ${jobs} jobs`);
  const before = up.output();
  const a = await cpuSnapshot(up.pids, redis);
  const t0 = Date.now();
  const ids = await Promise.all(Array.from({ length: jobs }, (_, i) => client.submit(request(i + 1))));
  const views = await client.waitAll(ids, 1000, (done, total) =>
    show(`${done}/${total} done, ${((Date.now() - t0) / 1000).toFixed(0)} s`, done === total),
  );
  const b = await cpuSnapshot(up.pids, redis);
  const end = Math.max(...views.map((v) => Date.parse(v.timings.finishedAt ?? '')));
  const wallS = (end - t0) / 1000;
  const restarts = [
    ...up
      .output()
      .slice(before.length)
      .matchAll(/^(\S+) exited \(/gm),
  ].map((m) => m[1] ?? '');
  return {
    samplers,
    jobs,
    wallS,
    perMinute: (60 * jobs) / wallS,
    cpu: cpuDelta(a, b),
    warmupRounds,
    restarts,
  };
}

/** Part 2: R interleaved pairs after one warm-up of the in-process path (the platform is warm already). */
async function singleAnalysis(
  client: JobClient,
  env: NodeJS.ProcessEnv,
  request: Record<string, unknown>,
  runs: number,
): Promise<SinglePair[]> {
  const config = loadConfig(env);
  const store = fileModelStore(path.join(config.homeDir, 'models', 'qg-ci-model'));
  const models = await store.loadAll();
  const manifest = await store.readManifest();
  const source = await openSource(config, { world: 'qg', seed: 1, years: 1 });
  const parsed = parseAssimilationRequest(request);
  const options = {
    background: defaultBackground(source),
    ...(manifest === undefined ? {} : { modelBackground: manifest.background as BackgroundKind }),
  };
  const inProcess = async (): Promise<{ s: number; stages: Record<string, number> }> => {
    const t0 = performance.now();
    const res = await runAssimilationJob(source, models, parsed, options);
    return { s: (performance.now() - t0) / 1000, stages: { ...res.timings } };
  };
  const viaHttp = async (): Promise<{ s: number; stages: Record<string, number> }> => {
    const t0 = Date.now();
    const id = await client.submit(request);
    const [view] = await client.waitAll([id], 100);
    const timings = (view?.result as { timings?: Record<string, number> } | null)?.timings ?? {};
    const startedS = (Date.parse(view?.timings.startedAt ?? '') - t0) / 1000;
    return { s: (Date.parse(view?.timings.finishedAt ?? '') - t0) / 1000, stages: { ...timings, startedS } };
  };
  const show = status('one analysis, HTTP vs in process');
  show('warm-up of the in-process path', false);
  await inProcess();
  const pairs: SinglePair[] = [];
  for (let i = 0; i < runs; i++) {
    show(`pair ${i + 1}/${runs}`, false);
    // Alternate which path goes first, so a drift of the machine's load favours neither.
    if (i % 2 === 0) {
      const http = await viaHttp();
      const local = await inProcess();
      pairs.push({
        httpS: http.s,
        inProcessS: local.s,
        httpStages: http.stages,
        inProcessStages: local.stages,
      });
    } else {
      const local = await inProcess();
      const http = await viaHttp();
      pairs.push({
        httpS: http.s,
        inProcessS: local.s,
        httpStages: http.stages,
        inProcessStages: local.stages,
      });
    }
  }
  show(`${runs} pairs`, true);
  return pairs;
}

/** Waits until the queue's waiting count stops changing (the gateway has answered what it had in hand); at most 15 s. */
async function settle(queue: Queue): Promise<number> {
  let last = await queue.getWaitingCount();
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await queue.getWaitingCount();
    if (now === last) return now;
    last = now;
  }
  return last;
}

/**
 * The gateway's own times of the load's POSTs (`responseTimeMs` of its `request completed` lines with the load's
 * correlation id), sorted; empty when its log has none (another LOG_LEVEL).
 */
function serverTimes(logFile: string, correlationId: string): number[] {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  const times: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes(correlationId) || !line.includes('"request completed"')) continue;
    const entry = JSON.parse(line) as { reqId?: string; method?: string; responseTimeMs?: number };
    if (entry.reqId === correlationId && entry.method === 'POST' && typeof entry.responseTimeMs === 'number')
      times.push(entry.responseTimeMs);
  }
  return times.sort((a, b) => a - b);
}

/** Part 3: the gateway alone under the POST load; queue and rows removed afterwards. */
async function gatewayLoad(
  env: NodeJS.ProcessEnv,
  redisUrl: string,
  redis: Redis,
  token: string,
  o: { rate: number; durationS: number; connections: number; warmupS: number; body: string },
): Promise<LoadRun> {
  const logFile = path.join(env.ALIGNDA_HOME ?? '', 'logs', 'bench-gateway.log');
  const gateway = await startGateway(
    { ...env, GATEWAY_MAX_WAITING_JOBS: String(Math.max(100_000, 2 * o.rate * (o.durationS + o.warmupS))) },
    logFile,
    120_000,
  );
  // The warm-up's rows and the load's carry their own correlation ids: the gateway's log lines tell them apart.
  const correlationId = `bench-platform-${randomUUID()}`;
  const warmupId = `${correlationId}-warm-up`;
  const queue = new Queue(QueueName.assimilate, { connection: redis });
  let run: { load: LoadResult; cpu: CpuDelta; queued: number };
  try {
    const common = { url: gateway.url, token, body: o.body, rate: o.rate, connections: o.connections };
    const show = status(`gateway load, ${o.rate}/s`);
    show(`warm-up ${o.warmupS} s`, false);
    await postLoad({ ...common, correlationId: warmupId, durationS: o.warmupS });
    const pids = new Map([['gateway', gateway.pid]]);
    const queuedBefore = await settle(queue);
    const a = await cpuSnapshot(pids, redis);
    const load = await postLoad({
      ...common,
      correlationId,
      durationS: o.durationS,
      onTick: (s, n) => show(`${s}/${o.durationS} s, ${n} responses`, false),
    });
    const queuedAfter = await settle(queue);
    const b = await cpuSnapshot(pids, redis);
    show(`${load.responses} responses in ${load.durationS} s`, true);
    run = { load, cpu: cpuDelta(a, b), queued: queuedAfter - queuedBefore };
  } finally {
    await queue.close();
    await gateway.stop();
  }
  await obliterateQueues(redisUrl);
  const db = await openDatabase(loadConfig(env));
  try {
    const { count } = await db.job.deleteMany({
      where: { correlationId: { in: [correlationId, warmupId] } },
    });
    return { ...run, deleted: count, serverMs: serverTimes(logFile, correlationId) };
  } finally {
    await db.$disconnect();
  }
}

/** Parses the flags of the module comment; `--quick` changes the defaults of the flags not given. */
function parseOptions(args: readonly string[]): PlatformOptions {
  const { values: v } = parseArgs({
    args: [...args],
    options: {
      jobs: { type: 'string' },
      members: { type: 'string', default: '8' },
      steps: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      'single-runs': { type: 'string' },
      rate: { type: 'string', default: '200' },
      duration: { type: 'string' },
      connections: { type: 'string', default: '10' },
      'warmup-s': { type: 'string' },
      parts: { type: 'string', default: '1,2,3' },
      home: { type: 'string' },
      'redis-db': { type: 'string' },
      quick: { type: 'boolean', default: false },
    },
  });
  const q = v.quick;
  const int = (name: string, raw: string | undefined, fallback: string, min: number, max: number): number => {
    const n = Number(raw ?? fallback);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be an integer in [${min}, ${max}], got '${raw}'`);
    return n;
  };
  const parts = new Set(v.parts.split(',').map((p) => int('parts', p.trim(), '', 1, 3)));
  return {
    jobs: int('jobs', v.jobs, q ? '4' : '8', 2, 1000),
    members: int('members', v.members, '8', 1, 64),
    steps: int('steps', v.steps, q ? '16' : '64', 1, 4096),
    concurrency: int('concurrency', v.concurrency, '4', 1, 64),
    singleRuns: int('single-runs', v['single-runs'], q ? '2' : '3', 1, 100),
    rate: int('rate', v.rate, '200', 1, 100_000),
    durationS: int('duration', v.duration, q ? '5' : '30', 1, 3600),
    connections: int('connections', v.connections, '10', 1, 10_000),
    warmupS: int('warmup-s', v['warmup-s'], q ? '1' : '3', 1, 600),
    parts,
    ...(v.home === undefined ? {} : { home: path.resolve(v.home) }),
    ...(v['redis-db'] === undefined ? {} : { redisDb: int('redis-db', v['redis-db'], '', 0, 15) }),
  };
}

/** Runs the platform benchmark; see the module comment. */
export async function main(args: readonly string[]): Promise<void> {
  const o = parseOptions(args);
  const home = o.home ?? mkdtempSync(path.join(tmpdir(), 'alignda-bench-platform-'));
  mkdirSync(path.join(home, 'logs'), { recursive: true });
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async (): Promise<void> => {
    for (const f of cleanups.splice(0).reverse())
      await f().catch((err: unknown) => log(`clean-up: ${String(err)}`));
  };
  const onSigint = (): void => {
    log('interrupted: stopping what the bench started');
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  if (o.home === undefined)
    cleanups.push(() => Promise.resolve(rmSync(home, { recursive: true, force: true })));
  try {
    const redisServer = await ensureRedis(
      process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      path.join(home, 'logs', 'bench-redis.log'),
    );
    const started = redisServer.started;
    if (started !== undefined) cleanups.push(() => Promise.resolve(void started.kill('SIGTERM')));
    const redisUrl = await pickRedisDb(redisServer.serverUrl, o.redisDb);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ALIGNDA_HOME: home,
      ALIGNDA_DATA_DIR: path.join(home, 'no-data'),
      DATABASE_URL: `file:${path.join(home, 'alignda.db')}`,
      REDIS_URL: redisUrl,
      ALIGNDA_EXECUTION_PROVIDER: 'cpu',
      ALIGNDA_ORCHESTRATOR_CONCURRENCY: String(o.concurrency),
      LOG_LEVEL: 'info',
    };
    for (const k of [
      'ALIGNDA_DEBUG',
      'HTTP_PORT',
      'GRPC_PORT',
      'ALIGNDA_MODEL_DIR',
      'ALIGNDA_WORLD_YEARS',
      'ALIGNDA_WORLD_SEED',
      'ALIGNDA_INTRA_OP_THREADS',
      'ALIGNDA_SAMPLER_TRANSPORT',
    ])
      delete env[k];
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    cleanups.push(() => Promise.resolve(redis.disconnect()));
    cleanups.push(() => obliterateQueues(redisUrl));
    log(
      `platform bench: home ${home}${o.home === undefined ? ' (removed at the end)' : ''}; Redis ${redisUrl}`,
    );

    log('preparing the ci models and the one-year nature run (the CLI; skipped when the home has them)...');
    const made = await prepareHome(env, home);
    const db = await openDatabase(loadConfig(env));
    const { token, journalMode } = await (async () => {
      // WAL is a property of the file: every process that opens it afterwards gets it.
      const [mode] = await db.$queryRawUnsafe<{ journal_mode: string }[]>('PRAGMA journal_mode');
      const key = await createApiKey(db, {
        name: 'bench-platform',
        scopes: ['submit', 'read'],
        rateLimitExempt: true,
      });
      return { token: key.token, journalMode: mode?.journal_mode ?? '?' };
    })().finally(() => db.$disconnect());
    const request = (seed: number): Record<string, unknown> => jobRequest(o.members, o.steps, seed);
    const load0 = loadavg();

    const runs: ThroughputRun[] = [];
    let pairs: SinglePair[] | undefined;
    const platformRuns = o.parts.has(1) ? [1, 2] : o.parts.has(2) ? [1] : [];
    for (const samplers of platformRuns) {
      log(`starting alignda up --samplers ${samplers}...`);
      const up = await startUp(env, samplers, 300_000);
      cleanups.push(up.stop);
      try {
        const client = new JobClient(up.url, token);
        const rounds = await warmUp(client, up, redisUrl, request);
        if (o.parts.has(1)) runs.push(await throughput(client, up, redis, samplers, o.jobs, rounds, request));
        if (o.parts.has(2) && samplers === 1)
          pairs = await singleAnalysis(client, env, request(5), o.singleRuns);
      } finally {
        await up.stop();
        const at = cleanups.indexOf(up.stop);
        if (at >= 0) cleanups.splice(at, 1);
        await obliterateQueues(redisUrl);
      }
    }

    let load: LoadRun | undefined;
    if (o.parts.has(3)) {
      log('starting the gateway alone...');
      load = await gatewayLoad(env, redisUrl, redis, token, {
        rate: o.rate,
        durationS: o.durationS,
        connections: o.connections,
        warmupS: o.warmupS,
        body: JSON.stringify(request(5)),
      });
    }

    printReport({
      o,
      made,
      runs,
      ...(pairs === undefined ? {} : { pairs }),
      ...(load === undefined ? {} : { load }),
      load0,
      load1: loadavg(),
      redisUrl,
      journalMode,
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
    await cleanUp();
  }
}

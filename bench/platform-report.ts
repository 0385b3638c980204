/**
 * The platform benchmark's results (bench/platform.ts) and their report: one table per part of issue 13's "Speed"
 * criteria, each with its target and whether it was met.
 */
import { availableParallelism, cpus } from 'node:os';

import { median, table } from './engine-harness.js';
import { samplerRatioBound, samplerRatioTarget } from './platform-cpu.js';
import type { CpuDelta } from './platform-cpu.js';
import { quantile } from './platform-load.js';
import type { LoadResult } from './platform-load.js';

/** Issue 13's targets. */
export const TARGET_SINGLE_RATIO = 1.1;
export const TARGET_P99_MS = 50;

/** One throughput run (part 1). */
export interface ThroughputRun {
  readonly samplers: number;
  readonly jobs: number;
  /** First POST to the last job's finishedAt, seconds. */
  readonly wallS: number;
  readonly perMinute: number;
  readonly cpu: CpuDelta;
  /** Warm-up rounds until every replica had sampled a job. */
  readonly warmupRounds: number;
  /** Services `up` restarted during the run (their CPU is then undercounted). */
  readonly restarts: string[];
}

/** S and N of a run, CPU seconds per job (see the module comment). */
export function perJob(run: ThroughputRun): { s: number; n: number; byProcess: Map<string, number> } {
  const byProcess = new Map<string, number>();
  for (const [label, v] of run.cpu.processes) byProcess.set(label, v / run.jobs);
  byProcess.set('Redis (whole server)', run.cpu.redis / run.jobs);
  let s = 0;
  let n = 0;
  for (const [label, v] of byProcess) {
    if (!Number.isFinite(v)) continue;
    if (label.startsWith('sampler')) s += v;
    else n += v;
  }
  return { s, n, byProcess };
}

/** One pair of part 2: seconds through the platform and in process. */
export interface SinglePair {
  readonly httpS: number;
  readonly inProcessS: number;
  /** The orchestrator's seconds per stage (the job's `result.timings`) and `startedS`: POST to the job's start. */
  readonly httpStages: Readonly<Record<string, number>>;
  /** runAssimilationJob's seconds per stage (its `timings`). */
  readonly inProcessStages: Readonly<Record<string, number>>;
}

/** Part 3's measurements. */
export interface LoadRun {
  readonly load: LoadResult;
  readonly cpu: CpuDelta;
  /** Jobs waiting on the queue after the load (every 202 should be one). */
  readonly queued: number;
  /** Job rows deleted afterwards. */
  readonly deleted: number;
  /** The gateway's own time of each POST of the load (its request log), ms, sorted. */
  readonly serverMs: readonly number[];
}

/** The bench's options, parsed and checked. */
export interface PlatformOptions {
  readonly jobs: number;
  readonly members: number;
  readonly steps: number;
  readonly concurrency: number;
  readonly singleRuns: number;
  readonly rate: number;
  readonly durationS: number;
  readonly connections: number;
  readonly warmupS: number;
  readonly parts: ReadonlySet<number>;
  readonly home?: string;
  readonly redisDb?: number;
}

/** Everything the report shows. */
export interface PlatformReport {
  readonly o: PlatformOptions;
  /** What the bench made before it started (models, nature run). */
  readonly made: readonly string[];
  readonly runs: readonly ThroughputRun[];
  readonly pairs?: readonly SinglePair[];
  readonly load?: LoadRun;
  /** Load averages before the first and after the last measurement. */
  readonly load0: readonly number[];
  readonly load1: readonly number[];
  readonly redisUrl: string;
  /** The SQLite file's journal mode (`PRAGMA journal_mode`). */
  readonly journalMode: string;
}

const f = (v: number, d = 2): string => (Number.isFinite(v) ? v.toFixed(d) : '-');
const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');

/** Part 1's tables and verdict. */
function throughputSection(runs: readonly ThroughputRun[], cores: number): string[] {
  const out = ['### 1. Analyses per minute: 2 sampler replicas / 1', ''];
  const rows = runs.map((r) => {
    const { s, n } = perJob(r);
    const platform = (s + n) * r.jobs;
    return [
      String(r.samplers),
      String(r.jobs),
      f(r.wallS, 1),
      f(r.perMinute, 1),
      f(s),
      f(n),
      f(platform / (r.cpu.wallS * cores)),
      f(r.cpu.self / r.cpu.wallS),
      f(r.cpu.outside / r.cpu.wallS),
    ];
  });
  out.push(
    table([
      [
        'samplers',
        'jobs',
        'wall s',
        'analyses/min',
        'S: sampler CPU s/job',
        'N: other CPU s/job',
        'platform CPU / (wall x cores)',
        'bench CPU (cores)',
        'outside CPU (cores)',
      ],
      ...rows,
    ]),
  );
  out.push(
    '',
    `Each run after a warm-up of one job per replica, repeated until every replica had sampled one (${runs.map((r) => `${r.warmupRounds} round(s)`).join(', ')}); wall = first POST to the last job's finishedAt; "platform CPU" includes Redis.`,
    '',
  );
  const labels = [...new Set(runs.flatMap((r) => [...perJob(r).byProcess.keys()]))];
  out.push('CPU seconds per job, by process:', '');
  out.push(
    table([
      ['process', ...runs.map((r) => `${r.samplers} sampler(s)`)],
      ...labels.map((l) => [l, ...runs.map((r) => f(perJob(r).byProcess.get(l) ?? Number.NaN, 3))]),
      ['total (S + N)', ...runs.map((r) => f(perJob(r).s + perJob(r).n, 3))],
    ]),
  );
  for (const r of runs)
    if (r.restarts.length > 0)
      out.push(
        '',
        `WARNING: during the ${r.samplers}-sampler run up restarted ${r.restarts.join(', ')}: CPU undercounted.`,
      );
  const one = runs.find((r) => r.samplers === 1);
  const two = runs.find((r) => r.samplers === 2);
  if (one === undefined || two === undefined) return out;
  const ratio = two.perMinute / one.perMinute;
  const { s, n } = perJob(two);
  const bound = samplerRatioBound(s, n, cores);
  const target = samplerRatioTarget(bound);
  const one1 = perJob(one);
  const wall = Math.min(2, cores / (s + n) / (one.perMinute / 60));
  const effective = Math.max(0, cores - (two.cpu.outside + two.cpu.self) / two.cpu.wallS);
  out.push(
    '',
    `Ratio 2 / 1 sampler(s): ${f(ratio, 3)} (${f(two.perMinute, 1)} / ${f(one.perMinute, 1)} analyses per minute).`,
    `Bound from the CPU per job of the 2-replica run: C = ${cores} cores, S = ${f(s, 3)} s, N = ${f(n, 3)} s, C·S/(S+N) = ${f((cores * s) / (s + n), 3)}, B = min(2, C·S/(S+N)) / min(1, C·S/(S+N)) = ${f(bound, 3)} (with the 1-replica run's S and N: ${f(samplerRatioBound(one1.s, one1.n, cores), 3)}).`,
    `Target: ratio >= min(1.8, 0.9 B) = ${f(target, 3)}: ${met(ratio >= target)} (ratio / B = ${f(ratio / bound, 3)}).`,
    `For reading on a shared machine: with C the cores other users left during the 2-replica run (C - outside - bench = ${f(effective, 2)}), B would be ${f(samplerRatioBound(s, n, effective), 3)}.`,
    `The CPU wall alone: C/(S+N) of the 2-replica run = ${f((60 * cores) / (s + n), 1)} analyses/min, ${f(wall, 3)} x the 1-replica run's measured rate (ratio / that = ${f(ratio / wall, 3)}); unlike B it takes the 1-replica rate as measured rather than 1/S (a replica's process uses a little more than one core: its GC and I/O threads), and the CPU per job rises when both cores are busy (S+N ${f(one1.s + one1.n, 3)} s with 1 replica, ${f(s + n, 3)} s with 2).`,
  );
  return out;
}

/** Part 2's stage rows: label, the platform's stages summed, the in-process stages summed (medians over the pairs). */
const SINGLE_STAGES: readonly (readonly [string, readonly string[], readonly string[]])[] = [
  ['POST to job started (HTTP, Job row, BullMQ, worker pick-up)', ['startedS'], []],
  ['model sessions (in process: built or taken from the cache)', [], ['sessionsS']],
  ['ingest.Submit (QC)', ['ingestS'], []],
  ['48 h background forecast', ['backgroundS'], ['backgroundS']],
  ['ingest.Check (O-B)', ['checkS'], []],
  ['encode the background', ['encodeS'], ['encodeS']],
  ['sample + decode', ['sampleS', 'decodeS'], ['analysisS']],
  ['forecast.Rollout (48 h skill)', ['forecastS'], []],
  ['reward.Score', ['scoreS'], []],
  ['store (netCDF, map.png, rows)', ['storeS'], []],
];

/** Part 2's tables and verdict. */
function singleSection(pairs: readonly SinglePair[]): string[] {
  const http = median(pairs.map((p) => p.httpS));
  const local = median(pairs.map((p) => p.inProcessS));
  const ratio = http / local;
  const runsOf = (xs: number[]): string => xs.map((x) => f(x)).join(', ');
  const sum = (stages: Readonly<Record<string, number>>, keys: readonly string[]): number =>
    keys.reduce((a, k) => a + (stages[k] ?? Number.NaN), 0);
  const med = (keys: readonly string[], of: (p: SinglePair) => Readonly<Record<string, number>>): string =>
    keys.length === 0 ? '-' : f(median(pairs.map((p) => sum(of(p), keys))));
  const stageRows = SINGLE_STAGES.map(([label, platform, inProcess]) => [
    label,
    med(platform, (p) => p.httpStages),
    med(inProcess, (p) => p.inProcessStages),
  ]);
  const allPlatform = SINGLE_STAGES.flatMap(([, keys]) => keys);
  const allLocal = SINGLE_STAGES.flatMap(([, , keys]) => keys);
  return [
    '### 2. One analysis: HTTP, queue and gRPC / one process',
    '',
    table([
      ['path', 'median s', 'runs s'],
      [
        'POST -> BullMQ -> orchestrator -> ingest, encoder, sampler (sample queue), forecast, reward -> stored (POST to finishedAt)',
        f(http),
        runsOf(pairs.map((p) => p.httpS)),
      ],
      [
        'runAssimilationJob in this process (models and nature run loaded)',
        f(local),
        runsOf(pairs.map((p) => p.inProcessS)),
      ],
    ]),
    '',
    `Ratio of medians ${f(ratio, 3)} (median of the per-pair ratios ${f(median(pairs.map((p) => p.httpS / p.inProcessS)), 3)}); target <= ${TARGET_SINGLE_RATIO}: ${met(ratio <= TARGET_SINGLE_RATIO)}.`,
    '',
    "Where the time goes (medians over the pairs, seconds; the platform's stages are the orchestrator's `result.timings`):",
    '',
    table([
      ['stage', 'platform', 'in process'],
      ...stageRows,
      [
        'rest (end to end less the rows above)',
        f(median(pairs.map((p) => p.httpS - sum(p.httpStages, allPlatform)))),
        f(median(pairs.map((p) => p.inProcessS - sum(p.inProcessStages, allLocal)))),
      ],
      ['end to end', f(http), f(local)],
    ]),
  ];
}

/** Part 3's table and verdict. */
function loadSection(o: PlatformOptions, run: LoadRun): string[] {
  const { load, cpu } = run;
  const count = (pred: (status: number) => boolean): number =>
    [...load.statuses].reduce((a, [st, c]) => a + (pred(st) ? c : 0), 0);
  const ok = count((st) => st >= 200 && st < 300);
  const limited = count((st) => st === 429);
  const other = load.responses - ok - limited;
  const errors = load.errors + other;
  const cores = (v: number): string => `${f(v, 1)} s (${f(v / cpu.wallS)} cores)`;
  const otherCodes = [...load.statuses].filter(([st]) => st !== 429 && (st < 200 || st >= 300));
  const server = run.serverMs;
  const achieved = load.responses / load.durationS;
  return [
    `### 3. Gateway POST latency at ${o.rate} requests/s for ${o.durationS} s (gateway, Redis and SQLite; no workers)`,
    '',
    table([
      ['responses', 'per s', '2xx', '429', 'other non-2xx', 'connection errors', 'timeouts'],
      [
        String(load.responses),
        f(achieved, 1),
        String(ok),
        String(limited),
        otherCodes.length === 0 ? '0' : otherCodes.map(([st, c]) => `${c} x ${st}`).join(', '),
        String(load.errors),
        String(load.timeouts),
      ],
    ]),
    '',
    table([
      ['latency, ms', 'count', 'p50', 'p90', 'p99', 'max'],
      [
        'client: request written to response read (autocannon)',
        String(load.responses),
        f(load.p50),
        f(load.p90),
        f(load.p99),
        f(load.max),
      ],
      [
        "gateway: its own request time (request log's responseTimeMs)",
        String(server.length),
        f(quantile(server, 0.5)),
        f(quantile(server, 0.9)),
        f(quantile(server, 0.99)),
        f(server.at(-1) ?? Number.NaN),
      ],
    ]),
    '',
    `autocannon in the bench's process: ${o.connections} connections, overall rate ${o.rate}/s (each connection sends its ${f(o.rate / o.connections, 1)} a second back to back, then waits for the next second), after a ${o.warmupS} s warm-up.`,
    `CPU during the load: gateway ${cores(cpu.processes.get('gateway') ?? Number.NaN)}, ${f((1000 * (cpu.processes.get('gateway') ?? Number.NaN)) / Math.max(1, load.responses), 2)} ms per request; Redis ${cores(cpu.redis)}; the bench (autocannon) ${cores(cpu.self)}; outside ${cores(cpu.outside)}.`,
    `Afterwards ${run.queued} more jobs were waiting on the assimilate queue (${ok} accepted; the requests in flight when autocannon stopped were answered but not counted); the queue was obliterated and ${run.deleted} Job rows deleted (warm-up included).`,
    `Target: p99 < ${TARGET_P99_MS} ms (the client's) and 0 errors (connection errors, timeouts, non-2xx other than 429): ${met(load.p99 < TARGET_P99_MS && errors === 0)}.`,
    ...(achieved < 0.95 * o.rate
      ? [
          `The load reached ${f(achieved, 1)} requests/s, not the ${o.rate}/s asked: the gateway did not keep up (each connection waits for its answer), so these are the latencies of a saturated gateway.`,
        ]
      : []),
  ];
}

/** Prints the report on stdout. */
export function printReport(r: PlatformReport): void {
  const { o } = r;
  const cores = availableParallelism();
  const lines = [
    '',
    `## Platform benchmark (issue 13, "Speed"): ${cores} cores (${cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}`,
    '',
    `${o.jobs} DPS jobs of ${o.members} members x ${o.steps} steps (1 correction) on the QG world (7 x 32 x 64), ci preset models; orchestrator concurrency ${o.concurrency}; onnxruntime on CPU, 1 thread per session; Redis ${r.redisUrl}; SQLite registry, journal mode ${r.journalMode}.`,
    `Load average (1, 5, 15 min) before ${r.load0.map((x) => x.toFixed(2)).join(', ')}, after ${r.load1.map((x) => x.toFixed(2)).join(', ')}; "outside" = the machine's busy CPU not used by the platform, Redis or the bench (other users of the machine).${r.made.length > 0 ? ` Made first: ${r.made.join(', ')}.` : ''}`,
  ];
  if (r.runs.length > 0) lines.push('', ...throughputSection(r.runs, cores));
  if (r.pairs !== undefined) lines.push('', ...singleSection(r.pairs));
  if (r.load !== undefined) lines.push('', ...loadSection(o, r.load));
  for (const line of lines) console.log(line);
}

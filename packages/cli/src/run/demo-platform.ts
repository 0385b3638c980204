/**
 * The demo's platform step: the platform started as `alignda up` starts it (every service its own process, from this
 * process through runUp), one assimilation submitted over HTTP to the gateway with an API key made for it, polled
 * with a progress bar until it ends, its result summary printed, and the platform stopped. Without Redis (nothing at
 * REDIS_URL and no redis-server to start) the step is skipped with the line that says how to get one.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { createApiKey } from '@alignda/db';
import type { Db } from '@alignda/db';
import { AppError } from '@alignda/errors';
import type { AssimilationRequestInput } from '@alignda/pipelines';
import { createRng } from '@alignda/tensor';
import { NATURE_EPOCH_ISO } from '@alignda/world';
import type { NatureRun } from '@alignda/world';

import { fmt } from '../format.js';
import { createProgress } from '../progress.js';
import { redisProblem, runUp } from './up-run.js';

/** Options of {@link runPlatformStep}. */
export interface PlatformStepOptions {
  /** The registry the gateway reads its keys from (the key is made here). */
  readonly db: Db;
  readonly redisUrl: string;
  /** The models the services load (the demo's ci set). */
  readonly modelDir: string;
  /** The nature run those models were trained on: the job's time, its observations of the truth, seed and years. */
  readonly run: DemoRun & Pick<NatureRun, 'seed' | 'years'>;
  /** ALIGNDA_HOME: the job's files are named relative to it. */
  readonly homeDir: string;
  /** Folder of the services' logs. */
  readonly logsDir: string;
  /** Ensemble members. @defaultValue 2: a spread, in seconds on 2 cores */
  readonly members?: number;
  /** Sampler steps. @defaultValue 16 */
  readonly steps?: number;
  /** Observed grid values. @defaultValue 64 */
  readonly observations?: number;
  readonly print: (line: string) => void;
}

/** What the step did, for the demo's summary.json. */
export type PlatformStepSummary =
  | { readonly skipped: string }
  | { readonly jobId: string; readonly state: string; readonly seconds: number; readonly result: unknown };

/** The job resource's fields the step reads (services/gateway job-view.ts). */
export interface JobView {
  readonly id: string;
  readonly state: string;
  readonly progress: number;
  readonly stage: string | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly result: unknown;
}

const FINISHED = ['succeeded', 'failed', 'cancelled'];
/** How long the job may take once submitted, ms: seconds normally; the platform's own retries fit well inside. */
const JOB_TIMEOUT_MS = 300_000;

/** What {@link demoRequest} reads of a nature run (a `NatureRun` of @alignda/world has it). */
export interface DemoRun {
  readonly channels: readonly string[];
  readonly periods: { readonly test: readonly [number, number] };
  /** Hours since NATURE_EPOCH_ISO of every state. */
  readonly hours: ArrayLike<number>;
  /** State `index`, [C, H, W] in physical units. */
  state(index: number): { readonly data: Float32Array; readonly shape: readonly [number, number, number] };
}

/**
 * A request for a test-period time of `run`: `count` grid values of the truth (every channel), each with noise of a
 * tenth of its channel's spread at that time and that sigma, in physical units.
 */
export function demoRequest(
  run: DemoRun,
  opts: { members: number; steps: number; count: number; seed: number },
): AssimilationRequestInput {
  const [lo, hi] = run.periods.test;
  const index = Math.floor((lo + hi) / 2);
  const truth = run.state(index);
  const [C = 0, H = 0, W = 0] = truth.shape;
  const sigma = run.channels.map((_, c) => {
    const v = truth.data.subarray(c * H * W, (c + 1) * H * W);
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    return 0.1 * Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length) || 0.1;
  });
  const rng = createRng(opts.seed);
  const taken = new Set<number>();
  const cells = [];
  while (cells.length < Math.min(opts.count, C * H * W)) {
    const at = rng.int(C * H * W);
    if (taken.has(at)) continue;
    taken.add(at);
    const c = Math.floor(at / (H * W));
    const s = sigma[c] ?? 0.1;
    cells.push({
      channel: run.channels[c] ?? '',
      row: Math.floor(at / W) % H,
      col: at % W,
      value: (truth.data[at] ?? 0) + s * rng.normal(),
      sigma: s,
    });
  }
  const validTime = new Date(Date.parse(NATURE_EPOCH_ISO) + (run.hours[index] ?? 0) * 3_600_000);
  return {
    source: { world: 'qg' },
    validTime: `${validTime.toISOString().slice(0, 16)}Z`,
    method: 'dps',
    members: opts.members,
    steps: opts.steps,
    seed: opts.seed,
    observations: { cells },
  };
}

/**
 * The lines that summarise a succeeded job's result (the orchestrator's summary; absent fields are left out), its
 * files named relative to `homeDir` made absolute.
 */
export function resultLines(view: JobView, seconds: number, homeDir: string): string[] {
  const r = (view.result ?? {}) as {
    method?: string;
    members?: number;
    steps?: number;
    validTime?: string;
    qc?: { total: number; passed: number; grossErrors: number };
    diagnostics?: { omb?: { rms: number }; oma?: { rms: number } };
    verification?: {
      analysis?: { mseNormalised: number | null };
      forecast48h?: { mseNormalised: number | null };
    };
    artifacts?: { analysis?: string; map?: string };
    timings?: { totalS?: number };
  };
  const own =
    r.timings?.totalS === undefined ? '' : ` (${r.timings.totalS.toFixed(1)} s in the orchestrator)`;
  const lines = [
    `job ${view.id} succeeded ${seconds.toFixed(1)} s after it was posted${own}: ` +
      `${r.method ?? '?'}, ${r.members ?? '?'} members, ${r.steps ?? '?'} steps, valid ${r.validTime ?? '?'}`,
  ];
  if (r.qc !== undefined)
    lines.push(
      `observations ${r.qc.total}, ${r.qc.passed} through QC, ${r.qc.grossErrors} gross errors flagged`,
    );
  if (r.diagnostics?.omb !== undefined && r.diagnostics.oma !== undefined)
    lines.push(`O-B rms ${fmt(r.diagnostics.omb.rms)}, O-A rms ${fmt(r.diagnostics.oma.rms)} (normalised)`);
  const a = r.verification?.analysis?.mseNormalised;
  const f = r.verification?.forecast48h?.mseNormalised;
  if (a !== undefined && a !== null) {
    const forecast = f === undefined || f === null ? '' : `, its 48 h forecast's ${fmt(f)}`;
    lines.push(`analysis MSE against the truth ${fmt(a)}${forecast} (normalised)`);
  }
  if (r.artifacts?.analysis !== undefined)
    lines.push(`analysis (netCDF): ${path.resolve(homeDir, r.artifacts.analysis)}`);
  if (r.artifacts?.map !== undefined) lines.push(`map: ${path.resolve(homeDir, r.artifacts.map)}`);
  return lines;
}

/** GET the job until it ends, the progress bar following its stage and fraction. */
async function follow(url: string, token: string, signal: AbortSignal): Promise<JobView> {
  const progress = createProgress();
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  try {
    for (;;) {
      const got = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal });
      if (got.status !== 200)
        throw new AppError('UNAVAILABLE', `GET ${url} answered ${got.status}: ${await got.text()}`);
      const view = (await got.json()) as JobView;
      if (FINISHED.includes(view.state)) return view;
      progress.update(`job ${view.state}${view.stage === null ? '' : `: ${view.stage}`}`, view.progress);
      if (Date.now() > deadline)
        throw new AppError(
          'DEADLINE_EXCEEDED',
          `job ${view.id} still ${view.state} after ${JOB_TIMEOUT_MS / 1000} s`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    progress.stop();
  }
}

/** POSTs `request` to the gateway, follows the job to its end and prints its result; throws unless it succeeded. */
async function oneJob(
  gatewayUrl: string,
  token: string,
  request: AssimilationRequestInput,
  signal: AbortSignal,
  opts: Pick<PlatformStepOptions, 'homeDir' | 'logsDir' | 'print'>,
): Promise<PlatformStepSummary> {
  const t0 = performance.now();
  const posted = await fetch(`${gatewayUrl}/v1/assimilations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(request),
    signal,
  });
  const body = (await posted.json()) as { url?: string };
  if (posted.status !== 202 || body.url === undefined)
    throw new AppError(
      'INTERNAL',
      `POST /v1/assimilations answered ${posted.status}: ${JSON.stringify(body)}`,
    );
  opts.print(`POST ${gatewayUrl}/v1/assimilations: 202, job ${body.url}`);
  const view = await follow(`${gatewayUrl}${body.url}`, token, signal);
  const seconds = (performance.now() - t0) / 1000;
  if (view.state !== 'succeeded')
    throw new AppError(
      'INTERNAL',
      `the platform's job ${view.id} ended ${view.state}: ${view.error?.code ?? ''} ${view.error?.message ?? ''}`,
    );
  for (const line of resultLines(view, seconds, opts.homeDir)) opts.print(line);
  // The map, as a user gets it: GET .../map.png (the gateway draws it from the stored netCDF).
  const map = await fetch(`${gatewayUrl}${body.url}/map.png`, {
    headers: { authorization: `Bearer ${token}` },
    signal,
  });
  if (map.status === 200) {
    const file = path.resolve(opts.logsDir, '..', 'platform-map.png');
    writeFileSync(file, Buffer.from(await map.arrayBuffer()));
    opts.print(`map (GET ${body.url}/map.png): ${file}`);
  } else opts.print(`GET ${body.url}/map.png answered ${map.status}`);
  return { jobId: view.id, state: view.state, seconds, result: view.result };
}

/**
 * Runs the step.
 * @throws the AppError of a platform that does not start, or of a job that does not succeed
 */
export async function runPlatformStep(opts: PlatformStepOptions): Promise<PlatformStepSummary> {
  const { print } = opts;
  const missing = await redisProblem(opts.redisUrl);
  if (missing !== null) {
    print(`skipped: ${missing}`);
    return { skipped: missing };
  }
  if (!Number.isInteger(opts.run.years) || opts.run.years < 1) {
    const why = `the services open whole years of nature run, and the demo's is ${opts.run.years} y`;
    print(`skipped: ${why}`);
    return { skipped: why };
  }
  const { token } = await createApiKey(opts.db, {
    name: 'demo',
    scopes: ['submit', 'read'],
    rateLimitExempt: true,
  });
  const request = demoRequest(opts.run, {
    members: opts.members ?? 2,
    steps: opts.steps ?? 16,
    count: opts.observations ?? 64,
    seed: 7,
  });
  let summary: PlatformStepSummary | undefined;
  // The services (children of runUp, which hands them this environment) open the nature run the models know.
  const saved = { seed: process.env.ALIGNDA_WORLD_SEED, years: process.env.ALIGNDA_WORLD_YEARS };
  process.env.ALIGNDA_WORLD_SEED = String(opts.run.seed);
  process.env.ALIGNDA_WORLD_YEARS = String(opts.run.years);
  try {
    await runUp(
      {
        preset: 'ci',
        modelDir: opts.modelDir,
        httpPort: 0,
        startTimeoutS: 300,
        logsDir: path.resolve(opts.logsDir),
        whileUp: async ({ gatewayUrl, signal }) => {
          summary = await oneJob(gatewayUrl, token, request, signal, opts);
        },
      },
      print,
    );
  } finally {
    for (const [name, value] of [
      ['ALIGNDA_WORLD_SEED', saved.seed],
      ['ALIGNDA_WORLD_YEARS', saved.years],
    ] as const)
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  }
  if (summary === undefined) throw new AppError('CANCELLED', 'the platform stopped before the job ended');
  return summary;
}

/**
 * The chaos run on a started stack: `trials` SIGKILLs of a random service process of `alignda up` (a service drawn
 * uniformly, then one of its processes), each once the platform answers again and after a random pause (so that the
 * kill lands anywhere in the work), while jobs and cycles are kept in flight; then the work left is waited for, and the
 * scenarios: Redis killed and started again on the same port and append-only file in the middle of a cycle, and the
 * registry's PostgreSQL server (the run's own) restarted in the middle of a cycle (with --postgres-restart). Returns the figures;
 * `formatReport` prints them.
 */
import { createRng } from '@alignda/tensor';

import { cycleOk, formatTable, jobsOk, tallyCycle, tallyJobs } from './chaos-check.js';
import type { CycleTally, JobTally, Series } from './chaos-check.js';
import type { ChaosStack } from './chaos-stack.js';
import { Workload } from './chaos-workload.js';
import type { CycleSettings } from './chaos-workload.js';

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  readonly trials: number;
  readonly seed: number;
  readonly settings: CycleSettings;
  /** The fault-free series every cycle must equal. */
  readonly reference: Series;
  /** Jobs kept unfinished during the trials. @defaultValue 2 */
  readonly jobsInFlight?: number;
  /** Cycles kept unfinished during the trials. @defaultValue 2 */
  readonly cyclesInFlight?: number;
  /**
   * Jobs submitted at most during the trials, spread over them (by trial k, at most `maxJobs * k / trials` more than
   * the in-flight count), so that the last kills too meet jobs in flight. @defaultValue 2 per trial, at least 4
   */
  readonly maxJobs?: number;
  /** Pause between the platform answering again and the next kill, ms: drawn in [min, max]. @defaultValue [500, 4000] */
  readonly pauseMs?: readonly [number, number];
  /** How long a killed service may take to answer again, ms. @defaultValue 120000 */
  readonly recoveryTimeoutMs?: number;
  /** How long the work left after the trials (and each scenario's) may take, ms. @defaultValue 600000 */
  readonly finishTimeoutMs?: number;
  /** The services that may be killed. @defaultValue every service */
  readonly only?: readonly string[];
  readonly redisRestart: boolean;
  readonly postgresRestart: boolean;
  readonly log: (line: string) => void;
}

/** One kill. */
export interface Kill {
  readonly trial: number;
  readonly service: string;
  readonly pid: number;
  /** ms until every service answered again; undefined when it never did within the timeout. */
  readonly recoveryMs: number | undefined;
}

/** The figures of a run. */
export interface ChaosReport {
  readonly kills: readonly Kill[];
  readonly jobs: readonly JobTally[];
  readonly cycles: readonly CycleTally[];
  /** The scenarios' faults: the steps their cycle had recorded when the fault came (of `steps`). */
  readonly faults: readonly { readonly scenario: string; readonly atStep: number; readonly steps: number }[];
  /** Scenarios skipped, and why. */
  readonly skipped: readonly string[];
  /** Whether `alignda up` was still running at the end (it gives up on a service it cannot keep up). */
  readonly upAlive: boolean;
  /** The exits `alignda up` reported that were not the run's SIGKILLs (a service that fell over on its own). */
  readonly otherExits: readonly string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `done()` or `timeoutMs`; resolves with whether it was done. */
async function until(
  done: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 500,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** Runs the trials and scenarios; see the module comment. */
export async function runChaos(stack: ChaosStack, o: ChaosOptions): Promise<ChaosReport> {
  const rng = createRng(o.seed);
  const log = o.log;
  const recoveryTimeoutMs = o.recoveryTimeoutMs ?? 120_000;
  const finishTimeoutMs = o.finishTimeoutMs ?? 600_000;
  const [pauseMin, pauseMax] = o.pauseMs ?? [500, 4000];
  const work = new Workload({
    gatewayUrl: stack.gatewayUrl,
    token: stack.token,
    db: stack.db,
    seed: o.seed,
    settings: o.settings,
    log,
  });
  const kills: Kill[] = [];
  const skipped: string[] = [];
  const faults: { scenario: string; atStep: number; steps: number }[] = [];

  // The work in flight, topped up every second while the trials run.
  let topping = true;
  let trial = 0;
  const jobsInFlight = o.jobsInFlight ?? 2;
  const maxJobs = o.maxJobs ?? Math.max(4, 2 * o.trials);
  const topUpLoop = (async (): Promise<void> => {
    while (topping) {
      const allowed = Math.min(maxJobs, jobsInFlight + Math.ceil((maxJobs * trial) / Math.max(1, o.trials)));
      await work.topUp(jobsInFlight, o.cyclesInFlight ?? 2, allowed, 'kills');
      await sleep(1000);
    }
  })();

  try {
    if (o.trials > 0) {
      // The first cycle running before the first kill.
      await until(() => work.cycles.length > 0 && work.jobs.length > 0, 60_000);
      for (let t = 1; t <= o.trials && stack.upAlive(); t++) {
        trial = t;
        if (!(await until(() => stack.healthy(), recoveryTimeoutMs))) {
          log(`trial ${t}: the platform does not answer; stopping the trials`);
          break;
        }
        await sleep(pauseMin + rng.uniform() * (pauseMax - pauseMin));
        const processes = stack.processes().filter((p) => o.only === undefined || o.only.includes(p.service));
        const services = [...new Set(processes.map((p) => p.service))];
        const service = services[rng.int(services.length)] ?? '';
        const of = processes.filter((p) => p.service === service);
        const victim = of[rng.int(of.length)];
        if (victim === undefined) continue;
        const at = Date.now();
        try {
          process.kill(victim.pid, 'SIGKILL');
        } catch {
          continue; // it exited meanwhile: no kill this trial
        }
        const back = await until(
          async () => !stack.processes().some((p) => p.pid === victim.pid) && (await stack.healthy()),
          recoveryTimeoutMs,
          250,
        );
        const recoveryMs = back ? Date.now() - at : undefined;
        kills.push({ trial: t, service, pid: victim.pid, recoveryMs });
        const [jobs, cycles] = [work.jobs.length, work.cycles.length];
        log(
          `trial ${t}/${o.trials}: SIGKILL ${service} (pid ${victim.pid}): ${
            back ? `answering again after ${((recoveryMs ?? 0) / 1000).toFixed(1)} s` : 'NOT BACK'
          }; ${jobs} jobs and ${cycles} cycles submitted`,
        );
        if (!back) break;
      }
    }
    topping = false;
    await topUpLoop;

    log('trials over: waiting for the jobs and cycles in flight ...');
    const settled = async (): Promise<boolean> =>
      (await work.unfinishedJobs().catch(() => 1)) === 0 &&
      (await work.unfinishedCycles().catch(() => 1)) === 0;
    if (!(await until(settled, finishTimeoutMs, 2000))) log('some work is still unfinished at the deadline');

    const scenario = async (name: string, fault: () => Promise<string | null>): Promise<void> => {
      log(`scenario ${name}: a cycle and two jobs, the fault after the cycle's first step ...`);
      const id = await retry(() => work.startCycle(name));
      for (let i = 0; i < 2; i++) await retry(async () => ((await work.submitJob(name)) ? true : undefined));
      if (id === undefined) throw new Error(`scenario ${name}: the cycle could not be started`);
      const mid = await until(async () => (await work.stepsDone(id)) >= 1, finishTimeoutMs, 100);
      const done = await work.stepsDone(id);
      if (!mid || done >= o.settings.cycles) log(`scenario ${name}: the fault comes after step ${done}`);
      const problem = await fault();
      if (problem !== null) {
        skipped.push(`${name}: ${problem}`);
        log(`scenario ${name} SKIPPED: ${problem}`);
      } else {
        faults.push({ scenario: name, atStep: done, steps: o.settings.cycles });
        log(
          `scenario ${name}: fault done at step ${done} of ${o.settings.cycles}; waiting for the cycle ...`,
        );
      }
      if (!(await until(settled, finishTimeoutMs, 2000))) log(`scenario ${name}: unfinished at the deadline`);
    };

    if (o.redisRestart && stack.upAlive())
      await scenario('redis-restart', async () => {
        await stack.restartRedis(1000);
        return null;
      });
    if (o.postgresRestart && stack.upAlive())
      await scenario('postgres-restart', () => Promise.resolve(stack.restartPostgres()));

    const jobs = await tallyJobs(stack.db, stack.redisUrl, work.jobs);
    const cycles: CycleTally[] = [];
    for (const c of work.cycles) {
      const view = await fetch(`${stack.gatewayUrl}/v1/cycles/${c.id}`, {
        headers: { authorization: `Bearer ${stack.token}` },
        signal: AbortSignal.timeout(10_000),
      }).then(
        async (r) =>
          r.status === 200 ? ((await r.json()) as { state?: unknown; series?: unknown }) : undefined,
        () => undefined,
      );
      cycles.push(await tallyCycle(stack.db, c, o.settings.cycles, view, o.reference));
    }
    const otherExits = stack.up
      .output()
      .split('\n')
      .filter((l) => / exited \(/.test(l) && !l.includes('(SIGKILL)'));
    return { kills, jobs, cycles, faults, skipped, upAlive: stack.upAlive(), otherExits };
  } finally {
    topping = false;
    await topUpLoop;
  }
}

/** `f()` until it gives a value (every second, up to 2 minutes: the gateway may be restarting). */
async function retry<T>(f: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined || Date.now() > deadline) return v;
    await sleep(1000);
  }
}

/** Whether the run reached every figure. */
export function passed(r: ChaosReport): boolean {
  return (
    r.upAlive &&
    r.kills.every((k) => k.recoveryMs !== undefined) &&
    r.jobs.every(jobsOk) &&
    r.cycles.length > 0 &&
    r.cycles.every(cycleOk)
  );
}

/** The report's tables: kills per service, jobs per part of the run, one row per cycle; then what missed. */
export function formatReport(r: ChaosReport): string {
  const services = [...new Set(r.kills.map((k) => k.service))].sort();
  const kills = formatTable(
    ['service', 'kills', 'back', 'slowest back (s)'],
    services.map((s) => {
      const of = r.kills.filter((k) => k.service === s);
      const back = of.filter((k) => k.recoveryMs !== undefined);
      return [
        s,
        of.length,
        back.length,
        (Math.max(0, ...back.map((k) => k.recoveryMs ?? 0)) / 1000).toFixed(1),
      ];
    }),
  );
  const jobs = formatTable(
    ['jobs', 'submitted', 'succeeded', 'failed', 'cancelled', 'lost', 'unfinished', 'duplicated analyses'],
    r.jobs.map((t) => [
      t.scenario,
      t.submitted,
      t.succeeded,
      t.failed,
      t.cancelled,
      t.lost,
      t.unfinished,
      t.duplicatedAnalyses,
    ]),
  );
  const cycles = formatTable(
    ['cycle', 'part', 'state', 'steps recorded', 'duplicated steps', 'gaps', 'series = reference'],
    r.cycles.map((c) => [
      c.name,
      c.scenario,
      c.state,
      `${c.recorded}/${c.steps}`,
      c.duplicated,
      c.gaps,
      c.seriesEqual ? 'yes' : 'NO',
    ]),
  );
  const sum = (f: (c: CycleTally) => number): number => r.cycles.reduce((a, c) => a + f(c), 0);
  const jsum = (f: (t: JobTally) => number): number => r.jobs.reduce((a, t) => a + f(t), 0);
  const totals =
    `totals: ${r.kills.length} kills (${r.kills.filter((k) => k.recoveryMs === undefined).length} not back); ` +
    `jobs ${jsum((t) => t.submitted)} submitted, ${jsum((t) => t.succeeded)} succeeded, ${jsum((t) => t.failed)} failed, ` +
    `${jsum((t) => t.lost)} lost, ${jsum((t) => t.unfinished)} unfinished, ${jsum((t) => t.duplicatedAnalyses)} duplicated analyses; ` +
    `cycles ${r.cycles.length}, ${sum((c) => c.duplicated)} duplicated steps, ${sum((c) => c.gaps)} gaps, ` +
    `${r.cycles.filter((c) => !c.seriesEqual).length} series unlike the reference, ${r.cycles.filter((c) => c.state !== 'succeeded').length} not succeeded`;
  const notes = r.jobs.flatMap((t) => t.notes.map((n) => `  ${t.scenario}: ${n}`));
  return [
    r.kills.length > 0 ? kills : '(no kills)',
    '',
    jobs,
    '',
    cycles,
    '',
    totals,
    ...r.faults.map(
      (f) => `${f.scenario}: the fault came with ${f.atStep} of ${f.steps} steps of its cycle recorded`,
    ),
    ...(notes.length > 0 ? ['', 'notes:', ...notes] : []),
    ...(r.otherExits.length > 0
      ? ['', 'exits not caused by a kill (restarted by alignda up):', ...r.otherExits.map((l) => `  ${l}`)]
      : []),
    ...(r.skipped.length > 0 ? ['', 'skipped:', ...r.skipped.map((s) => `  ${s}`)] : []),
    ...(r.upAlive ? [] : ['', 'alignda up gave up (a service it could not keep up): see its output']),
  ].join('\n');
}

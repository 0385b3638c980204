/**
 * `npm run chaos [-- --trials 100] [--seed S] [--steps 8] [--samplers 2] [--home DIR] [--only SERVICE,...]
 * [--no-redis-restart] [--postgres-restart]`: the platform under faults. Starts `alignda up` on 127.0.0.1 over a redis-server of its own
 * (append-only file) and a throw-away registry and home; keeps small DPS assimilation jobs and simulated-time cycles
 * (3D-Var and the LETKF, `--steps` steps each, all with the same settings and seeds) in flight while it SIGKILLs a
 * random service process (of the `--only` ones) `--trials` times, each once the platform answers again; then, as scenarios, kills Redis and
 * starts it again on the same port and file in the middle of a cycle, and (with `--postgres-restart`, which puts the
 * registry on a PostgreSQL server of the run's own, never the machine's) restarts PostgreSQL in the middle of a cycle.
 *
 * Prints the seed first (the same `--seed` draws the same kills), then the tables: kills per service and how long the
 * platform took to answer again; jobs submitted, succeeded, failed, cancelled, lost, unfinished and duplicated
 * analyses; per cycle its state, steps recorded, duplicated steps, gaps and whether its series equals the fault-free
 * reference (`alignda cycle` with the same settings). Exits 0 when every figure is reached (0 lost, 0 duplicated, no
 * gap, every series equal, every service back), 1 when one is missed, 2 on bad arguments, 3 when the platform cannot
 * be started (no redis-server: it says how to get one).
 */
import { parseArgs } from 'node:util';

import { makeReference, readReferenceSeries } from './chaos-check.js';
import { formatReport, passed, runChaos } from './chaos-run.js';
import { startChaosStack } from './chaos-stack.js';
import type { ChaosStack } from './chaos-stack.js';
import { cycleSettings } from './chaos-workload.js';

const USAGE =
  'usage: npm run chaos -- [--trials N (default 100)] [--seed S] [--steps K (default 8)] [--samplers N (default 2)] [--home DIR] [--only SERVICE,...] [--no-redis-restart] [--postgres-restart]';

/** A non-negative integer flag, or `fallback` when unset. */
function count(raw: string | undefined, flag: string, fallback: number, min = 0): number {
  if (raw === undefined) return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(Number.isSafeInteger(n) && n >= min))
    throw new Error(`--${flag} ${JSON.stringify(raw)}: expected an integer >= ${min}`);
  return n;
}

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      options: {
        trials: { type: 'string' },
        seed: { type: 'string' },
        steps: { type: 'string' },
        samplers: { type: 'string' },
        home: { type: 'string' },
        only: { type: 'string' },
        'redis-restart': { type: 'boolean', default: true },
        'postgres-restart': { type: 'boolean', default: false },
      },
      allowNegative: true,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? values[k] : undefined);
  let trials: number;
  let seed: number;
  let steps: number;
  let samplers: number;
  try {
    trials = count(str('trials'), 'trials', 100);
    seed = count(str('seed'), 'seed', Math.floor(Math.random() * 2 ** 31));
    steps = count(str('steps'), 'steps', 8, 2);
    samplers = count(str('samplers'), 'samplers', 2, 1);
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const redisRestart = values['redis-restart'] === true;
  const postgresRestart = values['postgres-restart'] === true;
  const home = str('home');
  const only = str('only')
    ?.split(',')
    .map((x) => x.trim());
  const known = ['ingest', 'encoder', 'sampler', 'forecast', 'reward', 'orchestrator', 'cycler', 'gateway'];
  const unknown = only?.filter((x) => !known.includes(x)) ?? [];
  if (unknown.length > 0 || only?.length === 0) {
    console.error(`--only ${JSON.stringify(str('only'))}: expected some of ${known.join(',')}\n${USAGE}`);
    return 2;
  }
  const replay = `npm run chaos -- --trials ${trials} --seed ${seed} --steps ${steps} --samplers ${samplers}${
    redisRestart ? '' : ' --no-redis-restart'
  }${postgresRestart ? ' --postgres-restart' : ''}${only === undefined ? '' : ` --only ${only.join(',')}`}`;
  console.log(`chaos: ${trials} trials, seed ${seed} (replay with: ${replay})`);
  const log = (line: string): void => console.log(`chaos: ${line}`);
  const started = Date.now();
  const settings = cycleSettings(steps);
  let referenceFile = '';
  let stack: ChaosStack;
  try {
    stack = await startChaosStack({
      ...(home === undefined ? {} : { home }),
      samplers,
      postgres: postgresRestart,
      log,
      prepare: async (env, dir) => {
        log(`the fault-free reference: alignda cycle, ${steps} steps ...`);
        referenceFile = await makeReference(env, dir, settings);
      },
    });
  } catch (err) {
    console.error(`chaos: cannot start the platform: ${err instanceof Error ? err.message : String(err)}`);
    return 3;
  }
  // Ctrl-C stops the processes the run started.
  const interrupt = (): void => {
    void stack.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    log(
      `platform up after ${((Date.now() - started) / 1000).toFixed(0)} s (registry ${stack.registry}, Redis ${stack.redisUrl}, gateway ${stack.gatewayUrl}); trials ...`,
    );
    const unknown = only?.filter((x) => !stack.services.includes(x)) ?? [];
    if (unknown.length > 0 || only?.length === 0) {
      console.error(`--only ${JSON.stringify(str('only'))}: expected some of ${stack.services.join(',')}`);
      return 2;
    }
    const t0 = Date.now();
    const report = await runChaos(stack, {
      trials,
      seed,
      settings,
      reference: readReferenceSeries(referenceFile),
      redisRestart,
      postgresRestart,
      ...(only === undefined ? {} : { only }),
      log,
    });
    console.log(`\n${formatReport(report)}\n`);
    const ok = passed(report);
    console.log(
      `chaos: ${report.kills.length} kills in ${((Date.now() - t0) / 1000).toFixed(0)} s (seed ${seed}): ${
        ok
          ? '0 lost, 0 duplicated, no gap, every series equal to the reference, every service back'
          : 'FIGURES MISSED (see the tables)'
      }`,
    );
    return ok ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
    await stack.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);

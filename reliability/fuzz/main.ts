/**
 * `npm run fuzz [-- --cases 10000] [--seed S] [--home DIR] [--timeout-ms 15000] [--time-limit-s 900]`: generated bad
 * requests to the gateway (HTTP) and bad messages to each gRPC service (ingest, encoder, sampler, forecast, reward),
 * every service its own process on 127.0.0.1, the cases split evenly over the six targets and sent one at a time per
 * target (each with a deadline; the whole run stops at the time limit). Prints the seed first (a failure replays with
 * the same `--seed`), then a table per target: cases, clear answers (a 4xx problem+json or INVALID_ARGUMENT), justified
 * ones (another code, or OK, that the fault calls for, listed with the reason below the table), accepted, crashes (a
 * process that exited), 5xx, other gRPC codes, answers that were not clear; and for a target that failed, its first
 * failing cases and the first one shrunk by fast-check. Exits 1 when any case failed, 2 on bad arguments, 3 when the
 * platform cannot be started (no Redis: it says how to get one).
 */
import { parseArgs } from 'node:util';

import { failures, formatTable, fuzzAll } from './fuzz-run.js';
import { startFuzzStack } from './fuzz-stack.js';

const USAGE =
  'usage: npm run fuzz -- [--cases N (default 10000)] [--seed S] [--home DIR] [--timeout-ms MS per request (15000)] [--time-limit-s S (900)]';

/** A positive integer flag, or undefined when unset. */
function positiveInt(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(Number.isSafeInteger(n) && n >= 0))
    throw new Error(`--${flag} ${JSON.stringify(raw)}: expected an integer >= 0`);
  return n;
}

async function main(): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      options: {
        cases: { type: 'string' },
        seed: { type: 'string' },
        home: { type: 'string' },
        'timeout-ms': { type: 'string' },
        'time-limit-s': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  let cases: number;
  let seed: number;
  let timeoutMs: number;
  let timeLimitS: number;
  try {
    cases = positiveInt(values.cases, 'cases') ?? 10_000;
    // fast-check seeds are 32-bit integers.
    seed = positiveInt(values.seed, 'seed') ?? Math.floor(Math.random() * 2 ** 31);
    timeoutMs = positiveInt(values['timeout-ms'], 'timeout-ms') ?? 15_000;
    timeLimitS = positiveInt(values['time-limit-s'], 'time-limit-s') ?? 900;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  console.log(
    `fuzz: ${cases} cases, seed ${seed} (replay with: npm run fuzz -- --cases ${cases} --seed ${seed})`,
  );
  const started = Date.now();
  let stack;
  try {
    stack = await startFuzzStack({
      ...(values.home === undefined ? {} : { home: values.home }),
      log: (line) => console.log(`fuzz: ${line}`),
    });
  } catch (err) {
    console.error(`fuzz: cannot start the platform: ${err instanceof Error ? err.message : String(err)}`);
    return 3;
  }
  // Ctrl-C stops the processes the run started.
  const interrupt = (): void => {
    void stack.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    console.log(`fuzz: platform up after ${((Date.now() - started) / 1000).toFixed(0)} s; sending ...`);
    const sent = Date.now();
    const tallies = await fuzzAll(stack, { cases, seed, timeoutMs, timeLimitMs: timeLimitS * 1000 });
    console.log(`\n${formatTable(tallies)}\n`);
    const justified = tallies.flatMap((t) =>
      [...t.justified].map(([key, j]) => `  ${t.target}: ${key.split(':')[0] ?? ''} x ${j.count}: ${j.why}`),
    );
    if (justified.length > 0)
      console.log(
        `justified answers (a code other than INVALID_ARGUMENT, or OK, that the fault calls for):\n${justified.join('\n')}\n`,
      );
    const failed = tallies.filter((t) => failures(t) > 0);
    for (const t of failed) {
      console.log(
        `${t.target}: first failures:\n${t.failed.map((f) => `  ${f.slice(0, 400)}`).join('\n')}\n`,
      );
      const c = t.counterexample;
      if (c === undefined) continue;
      console.log(
        `${t.target}: shrunk counterexample:\n  ${c.what}\n  answer: ${c.answer}\n  replay: ${c.replay}\n`,
      );
    }
    const total = tallies.reduce((a, t) => a + t.cases, 0);
    if (total < cases)
      console.log(`fuzz: stopped at the ${timeLimitS} s limit after ${total} of ${cases} cases`);
    console.log(
      `fuzz: ${total} cases in ${((Date.now() - sent) / 1000).toFixed(1)} s (seed ${seed}): ${
        failed.length === 0
          ? '0 crashes, 0 5xx, every answer a clear 4xx or INVALID_ARGUMENT (or a justified code)'
          : `failures on ${failed.map((t) => t.target).join(', ')}`
      }`,
    );
    return failed.length === 0 ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
    await stack.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`fuzz: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);

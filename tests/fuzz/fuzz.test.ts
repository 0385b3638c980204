/**
 * `npm run fuzz` in short, for CI: 1,000 generated bad requests split over the gateway (HTTP) and the five gRPC
 * services, each its own process on 127.0.0.1 (reliability/fuzz). Fails when a case crashes a process, gets a 5xx, a
 * gRPC code other than INVALID_ARGUMENT (or one its fault justifies), or an answer that is not a clear problem; the
 * message holds the table and the first failing case of each target, shrunk, with the seed that replays it.
 * ALIGNDA_FUZZ_SEED picks the seed (default 1); ALIGNDA_FUZZ_HOME keeps the models and nature run between runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { failures, formatTable, fuzzAll } from '../../reliability/fuzz/fuzz-run.js';
import type { TargetTally } from '../../reliability/fuzz/fuzz-run.js';
import { startFuzzStack } from '../../reliability/fuzz/fuzz-stack.js';
import type { FuzzStack } from '../../reliability/fuzz/fuzz-stack.js';
import { TEST_REDIS_URL, redisProblem } from '../../services/gateway/src/test-harness.js';

const CASES = 1000;
const SEED = Number(process.env.ALIGNDA_FUZZ_SEED ?? 1);
const problem = await redisProblem();
const SKIP =
  problem === null
    ? ''
    : ` (SKIPPED: no Redis at ${TEST_REDIS_URL}: ${problem}; start one (apt-get install redis-server, docker compose up -d redis) or set REDIS_URL)`;

/** The report a failure shows: the table, the first failures and the shrunk counterexample of each failing target. */
function report(tallies: readonly TargetTally[]): string {
  const failed = tallies.filter((t) => failures(t) > 0);
  return [
    `seed ${SEED} (replay: npm run fuzz -- --cases ${CASES} --seed ${SEED})`,
    formatTable(tallies),
    ...failed.map(
      (t) =>
        `${t.target}: ${t.failed.join('\n  ')}\n  shrunk: ${t.counterexample?.what ?? ''} -> ${t.counterexample?.answer ?? ''}`,
    ),
  ].join('\n');
}

describe.skipIf(problem !== null)(
  `the platform under ${CASES} fuzzed bad requests, seed ${SEED}${SKIP}`,
  () => {
    let stack: FuzzStack | undefined;

    beforeAll(async () => {
      stack = await startFuzzStack({
        redisUrl: TEST_REDIS_URL,
        ...(process.env.ALIGNDA_FUZZ_HOME === undefined ? {} : { home: process.env.ALIGNDA_FUZZ_HOME }),
      });
    }, 300_000);

    afterAll(async () => {
      await stack?.close();
    }, 60_000);

    it('crashes no process, answers no 5xx, and answers every bad request a clear 4xx or INVALID_ARGUMENT (or a code its fault justifies)', async () => {
      if (stack === undefined) throw new Error('the platform did not start');
      const tallies = await fuzzAll(stack, { cases: CASES, seed: SEED, timeLimitMs: 90_000 });
      const text = report(tallies);
      expect(
        tallies.reduce((a, t) => a + t.cases, 0),
        text,
      ).toBe(CASES);
      for (const t of tallies) {
        expect(failures(t), `${t.target}\n${text}`).toBe(0);
        // Not vacuous: every target refused bad input, not merely survived it.
        expect(t.verdicts.refused, `${t.target}\n${text}`).toBeGreaterThan(0.5 * t.cases);
      }
    }, 120_000);
  },
);

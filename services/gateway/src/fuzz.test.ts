import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL, redisProblem, startGateway, validBody } from './test-harness.js';
import type { TestGateway } from './test-harness.js';

const problem = await redisProblem();
const SKIP =
  problem === null
    ? ''
    : ` (SKIPPED: no Redis at ${TEST_REDIS_URL}: ${problem}; set REDIS_URL or install redis-server)`;

/** Sets `value` at `path` in a copy of `body` (creating objects on the way), or deletes it when `value` is undefined. */
function mutate(body: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(body);
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node[key] = next !== null && typeof next === 'object' ? next : {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path.at(-1) ?? 'method';
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** Paths into a valid body, arrays included (observations/cells/0/sigma). */
const PATHS = [
  ['source'],
  ['source', 'world'],
  ['source', 'dataset'],
  ['validTime'],
  ['observations'],
  ['observations', 'cells'],
  ['observations', 'points'],
  ['observations', 'cells', '0'],
  ['observations', 'cells', '0', 'channel'],
  ['observations', 'cells', '0', 'row'],
  ['observations', 'cells', '0', 'value'],
  ['observations', 'cells', '0', 'sigma'],
  ['method'],
  ['members'],
  ['steps'],
  ['seed'],
  ['modelVersion'],
  ['extra'],
];

/** Raw request bodies: valid ones with one field changed or removed, arbitrary JSON, and non-JSON text. */
const bodies = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...PATHS), fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }))
      .map(([path, value]) => JSON.stringify(mutate(validBody(), path, value))),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        members: fc.integer({ min: -2, max: 70 }),
        steps: fc.integer({ min: -1, max: 5000 }),
        seed: fc.oneof(fc.nat(), fc.double()),
      })
      .map((over) => JSON.stringify(validBody(over))),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 64 }) },
);

describe.skipIf(problem !== null)(`POST /v1/assimilations under fuzzed bodies${SKIP}`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ limits: { maxWaitingJobs: 100_000 } });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('never answers 5xx, and a refused body creates no Job row and no BullMQ job', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const before = await gw.counts();
        const res = await fetch(`${gw.base}/v1/assimilations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${gw.tokens.exempt}`, 'content-type': 'application/json' },
          body,
        });
        await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, body).toBeLessThan(500);
        const after = await gw.counts();
        if (res.status >= 400) expect(after, body).toEqual(before);
        else expect(after, body).toEqual({ rows: before.rows + 1, queued: before.queued + 1 });
      }),
      { numRuns: 100 },
    );
    // Both outcomes were exercised: the property was not vacuous.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(202) ?? 0).toBeGreaterThan(0);
  });
});

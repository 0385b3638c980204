import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES, QueueName } from '@alignda/queue';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import { QUEUE_BOARD_PATH } from './routes/queue-board.js';
import { TEST_REDIS_URL, redisProblem, startGateway, validBody } from './test-harness.js';
import type { TestGateway } from './test-harness.js';

const problem = await redisProblem();
const SKIP =
  problem === null
    ? ''
    : ` (SKIPPED: no Redis at ${TEST_REDIS_URL}: ${problem}; set REDIS_URL or install redis-server)`;

/** GET `path` of `gw` with `token` (none when null). */
async function get(gw: TestGateway, path: string, token: string | null): Promise<Response> {
  return fetch(`${gw.base}${path}`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
}

describe.skipIf(problem !== null)(`the queue board at /admin/queues${SKIP}`, () => {
  let gw: TestGateway;
  let jobId = '';
  beforeAll(async () => {
    gw = await startGateway();
    const res = await fetch(`${gw.base}/v1/assimilations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.tokens.submit}`, 'content-type': 'application/json' },
      body: JSON.stringify(validBody()),
    });
    expect(res.status).toBe(202);
    jobId = ((await res.json()) as { id: string }).id;
  });
  afterAll(async () => gw.close());

  it('refuses a request without a key with 401, and a key without the admin scope with 403', async () => {
    for (const path of [QUEUE_BOARD_PATH, `${QUEUE_BOARD_PATH}/api/queues`]) {
      const none = await get(gw, path, null);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('content-type')).toContain(PROBLEM_CONTENT_TYPE);
      expect(await none.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
      expect((await get(gw, path, gw.tokens.revoked)).status, path).toBe(401);
      for (const token of [gw.tokens.read, gw.tokens.submit]) {
        const res = await get(gw, path, token);
        expect(res.status, path).toBe(403);
        expect(await res.json()).toMatchObject({
          code: 'PERMISSION_DENIED',
          detail: expect.stringMatching(/admin/) as unknown,
        });
      }
    }
  });

  it("serves the board's page and assets to an admin key", async () => {
    const page = await get(gw, QUEUE_BOARD_PATH, gw.tokens.admin);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('alignda queues');
    const script = /src="(static\/js\/main[^"]+\.js)"/.exec(html)?.[1];
    expect(script, 'the page names its script').toBeDefined();
    const asset = `${QUEUE_BOARD_PATH}/${script ?? ''}`;
    expect((await get(gw, asset, gw.tokens.admin)).status).toBe(200);
    expect((await get(gw, asset, null)).status).toBe(401);
  });

  it('takes the key as the password of Basic authentication, as a browser sends it, and asks for it', async () => {
    const basic = (token: string): Promise<Response> =>
      fetch(`${gw.base}${QUEUE_BOARD_PATH}`, {
        headers: { authorization: `Basic ${Buffer.from(`anyone:${token}`).toString('base64')}` },
      });
    expect((await basic(gw.tokens.admin)).status).toBe(200);
    expect((await basic(gw.tokens.read)).status).toBe(403);
    const refused = await basic('not-a-key');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer realm="alignda", Basic realm=/);
  });

  it('lists every queue of packages/queue, with the job the gateway queued', async () => {
    const res = await get(
      gw,
      `${QUEUE_BOARD_PATH}/api/queues?activeQueue=${QueueName.assimilate}&status=waiting`,
      gw.tokens.admin,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      queues: {
        name: string;
        readOnlyMode: boolean;
        counts: Record<string, number>;
        jobs: { id: string }[];
      }[];
    };
    expect(body.queues.map((q) => q.name).sort()).toEqual([...QUEUE_NAMES].sort());
    const assimilate = body.queues.find((q) => q.name === QueueName.assimilate);
    expect(assimilate?.counts.waiting).toBe(1);
    expect(assimilate?.jobs.map((j) => j.id)).toEqual([jobId]);
    expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);
  });

  it('is read-only: emptying a queue is refused and the job stays', async () => {
    const res = await fetch(`${gw.base}${QUEUE_BOARD_PATH}/api/queues/${QueueName.assimilate}/empty`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${gw.tokens.admin}` },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect((await gw.queue.getJobCounts('waiting')).waiting).toBe(1);
  });

  it('stays out of the OpenAPI document', async () => {
    const doc = (await (await fetch(`${gw.base}/docs/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/admin'))).toEqual([]);
  });
});

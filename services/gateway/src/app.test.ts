import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANCEL_CHANNEL } from './deps.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import type { Problem } from './problem.js';
import { TEST_REDIS_URL, redisProblem, startGateway, validBody } from './test-harness.js';
import type { TestGateway } from './test-harness.js';

const problem = await redisProblem();
const SKIP =
  problem === null
    ? ''
    : ` (SKIPPED: no Redis at ${TEST_REDIS_URL}: ${problem}; set REDIS_URL or install redis-server)`;

interface Call {
  status: number;
  headers: Headers;
  body: unknown;
}

/** One HTTP request to `gw`; a string body is sent as is, anything else as JSON. */
async function call(
  gw: TestGateway,
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Call> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? gw.tokens.submit : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${gw.base}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (Swagger UI's HTML, /metrics text)
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

function expectProblem(res: Call, status: number, code: string): Problem {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toContain(PROBLEM_CONTENT_TYPE);
  const body = res.body as Problem;
  expect(body).toMatchObject({
    status,
    code,
    type: expect.stringMatching(/^urn:alignda:problem:/) as unknown,
  });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  return body;
}

/** A TCP port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.skipIf(problem !== null)(`the gateway${SKIP}`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  it('queues a valid submission: 202, a Job row and a BullMQ job of the same id carrying the correlation id', async () => {
    const res = await call(gw, 'POST', '/v1/assimilations', {
      body: validBody(),
      headers: { 'x-correlation-id': 'trace-abc.1' },
    });
    expect(res.status).toBe(202);
    const { id, url } = res.body as { id: string; url: string };
    expect(url).toBe(`/v1/assimilations/${id}`);
    expect(res.headers.get('location')).toBe(url);
    expect(res.headers.get('x-correlation-id')).toBe('trace-abc.1');

    const job = await gw.queue.getJob(id);
    expect(job?.id).toBe(id);
    expect(job?.data).toMatchObject({
      jobId: id,
      correlationId: 'trace-abc.1',
      request: { method: 'dps', members: 1 },
    });
    const row = await gw.db.job.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ kind: 'assimilate', status: 'queued', correlationId: 'trace-abc.1' });
    expect(row.requestHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('makes a correlation id when the client sends none, and echoes it', async () => {
    const res = await call(gw, 'POST', '/v1/assimilations', { body: validBody({ seed: 2 }) });
    expect(res.status).toBe(202);
    const correlationId = res.headers.get('x-correlation-id');
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    const job = await gw.queue.getJob((res.body as { id: string }).id);
    expect((job?.data as { correlationId: string }).correlationId).toBe(correlationId);
  });

  it('shows a waiting job as queued with its place in the queue', async () => {
    const a = (await call(gw, 'POST', '/v1/assimilations', { body: validBody({ seed: 3 }) })).body as {
      id: string;
    };
    const b = (await call(gw, 'POST', '/v1/assimilations', { body: validBody({ seed: 4 }) })).body as {
      id: string;
    };
    const ga = await call(gw, 'GET', `/v1/assimilations/${a.id}`, { token: gw.tokens.read });
    const gb = await call(gw, 'GET', `/v1/assimilations/${b.id}`, { token: gw.tokens.read });
    expect(ga.status).toBe(200);
    expect(ga.body).toMatchObject({ id: a.id, state: 'queued', progress: 0, error: null });
    const pa = (ga.body as { queuePosition: number }).queuePosition;
    expect(pa).toBeGreaterThanOrEqual(1);
    expect((gb.body as { queuePosition: number }).queuePosition).toBe(pa + 1);
    expect((ga.body as { timings: { queuedAt: string } }).timings.queuedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('cancels a queued job: marked cancelled and gone from the queue; cancelling again is a no-op', async () => {
    const { id } = (await call(gw, 'POST', '/v1/assimilations', { body: validBody({ seed: 5 }) })).body as {
      id: string;
    };
    expect(await gw.queue.getJob(id)).toBeDefined();
    const res = await call(gw, 'DELETE', `/v1/assimilations/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      state: 'cancelled',
      queuePosition: null,
      error: { code: 'CANCELLED' },
    });
    expect(await gw.queue.getJob(id)).toBeUndefined();
    expect((await gw.db.job.findUniqueOrThrow({ where: { id } })).status).toBe('cancelled');
    expect((await call(gw, 'DELETE', `/v1/assimilations/${id}`)).body).toMatchObject({ state: 'cancelled' });
    expect((await call(gw, 'GET', `/v1/assimilations/${id}`)).body).toMatchObject({ state: 'cancelled' });
  });

  it('cancels a running job: marked cancelled and its id published on alignda:cancel for the worker', async () => {
    const subscriber = new Redis(TEST_REDIS_URL);
    const messages: string[] = [];
    await subscriber.subscribe(CANCEL_CHANNEL);
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    const { id } = (await call(gw, 'POST', '/v1/assimilations', { body: validBody({ seed: 6 }) })).body as {
      id: string;
    };
    // A stand-in worker that holds this job (active) until released; other waiting jobs pass through.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let resolveStarted: () => void = () => undefined;
    const started = new Promise<void>((r) => (resolveStarted = r));
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const worker = new Worker(
      gw.queue.name,
      async (job) => {
        if (job.id !== id) return;
        resolveStarted();
        await held;
      },
      { connection, prefix: gw.queue.opts.prefix },
    );
    try {
      await started;
      expect((await call(gw, 'GET', `/v1/assimilations/${id}`)).body).toMatchObject({
        state: 'running',
        queuePosition: null,
      });
      const res = await call(gw, 'DELETE', `/v1/assimilations/${id}`);
      expect(res.body).toMatchObject({ id, state: 'cancelled' });
      for (let i = 0; i < 50 && !messages.includes(id); i++) await new Promise((r) => setTimeout(r, 20));
      expect(messages).toEqual([id]);
    } finally {
      release();
      await worker.close();
      connection.disconnect();
      await subscriber.quit();
    }
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    expectProblem(await call(gw, 'GET', `/v1/assimilations/${randomUUID()}`), 404, 'NOT_FOUND');
    expectProblem(await call(gw, 'DELETE', `/v1/assimilations/${randomUUID()}`), 404, 'NOT_FOUND');
    const bad = expectProblem(await call(gw, 'GET', '/v1/assimilations/not-a-uuid'), 400, 'INVALID_ARGUMENT');
    expect(bad.detail).toContain('params/id');
  });

  it("answers the router's own refusals (an id over the parameter length, a malformed URL) with problems", async () => {
    // Found by `npm run fuzz`: Fastify answered these with a JSON body of its own, not a problem.
    const long = expectProblem(
      await call(gw, 'GET', `/v1/assimilations/${'a'.repeat(300)}`),
      414,
      'INVALID_ARGUMENT',
    );
    expect(long.detail).toBe('a path parameter is too long (an id is a 36-character uuid)');
    const malformed = expectProblem(
      await call(gw, 'GET', '/v1/assimilations/%E0%A4%A'),
      400,
      'INVALID_ARGUMENT',
    );
    expect(malformed.detail).toBe('the URL is malformed (a bad percent-encoding)');
  });

  describe('refuses bad submissions with a problem and creates nothing', () => {
    const huge = JSON.stringify(validBody({ pad: 'x'.repeat(10 * 1024 * 1024) }));
    const cases: {
      what: string;
      body?: unknown;
      token?: () => string | null;
      headers?: Record<string, string>;
      status: number;
      code: string;
      detail?: RegExp;
    }[] = [
      {
        what: 'malformed JSON',
        body: '{"source": {"world": "qg"',
        status: 400,
        code: 'INVALID_ARGUMENT',
        detail: /JSON/,
      },
      {
        what: 'a missing field',
        body: (({ method: _m, ...rest }) => rest)(validBody()),
        status: 400,
        code: 'INVALID_ARGUMENT',
        detail: /body\/method/,
      },
      {
        what: 'an extra field',
        body: validBody({ priority: 'high' }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        detail: /priority/,
      },
      {
        what: 'a non-positive sigma',
        body: validBody({
          observations: { cells: [{ channel: 'z_upper', row: 0, col: 0, value: 1, sigma: 0 }] },
        }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        detail: /body\/observations\/cells\/0\/sigma/,
      },
      {
        what: 'a value given as the string "NaN"',
        body: validBody({
          observations: { cells: [{ channel: 'z_upper', row: 0, col: 0, value: 'NaN', sigma: 1 }] },
        }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        detail: /body\/observations\/cells\/0\/value/,
      },
      {
        what: 'an unknown method',
        body: validBody({ method: 'enkf' }),
        status: 400,
        code: 'INVALID_ARGUMENT',
        detail: /body\/method/,
      },
      { what: 'a 10 MB body', body: huge, status: 413, code: 'PAYLOAD_TOO_LARGE' },
      {
        what: 'a body that is not JSON',
        body: 'method=dps',
        headers: { 'content-type': 'text/plain' },
        status: 415,
        code: 'INVALID_ARGUMENT',
      },
      { what: 'no API key', body: validBody(), token: () => null, status: 401, code: 'UNAUTHENTICATED' },
      {
        what: 'an unknown API key',
        body: validBody(),
        token: () => 'A'.repeat(43),
        status: 401,
        code: 'UNAUTHENTICATED',
      },
      {
        what: 'a revoked API key',
        body: validBody(),
        token: () => gw.tokens.revoked,
        status: 401,
        code: 'UNAUTHENTICATED',
      },
      {
        what: 'a key without the submit scope',
        body: validBody(),
        token: () => gw.tokens.read,
        status: 403,
        code: 'PERMISSION_DENIED',
        detail: /submit scope/,
      },
    ];
    it.each(cases)('$what: $status $code', async (c) => {
      const before = await gw.counts();
      const res = await call(gw, 'POST', '/v1/assimilations', {
        body: c.body,
        ...(c.token === undefined ? {} : { token: c.token() }),
        ...(c.headers === undefined ? {} : { headers: c.headers }),
      });
      const body = expectProblem(res, c.status, c.code);
      if (c.detail !== undefined) expect(body.detail).toMatch(c.detail);
      if (c.status === 401) expect(res.headers.get('www-authenticate')).toContain('Bearer');
      expect(res.headers.get('x-correlation-id')).toBeTruthy();
      expect(await gw.counts()).toEqual(before);
    });
  });

  it('lists each validation issue with its path', async () => {
    const res = await call(gw, 'POST', '/v1/assimilations', {
      body: validBody({ method: 'enkf', members: 0 }),
    });
    const body = expectProblem(res, 400, 'INVALID_ARGUMENT');
    expect(body.errors?.map((e) => e.path).sort()).toEqual(['body/members', 'body/method']);
  });

  it('returns the same job for a reused Idempotency-Key with the same body, and 409 with another body', async () => {
    const key = `idem-${randomUUID()}`;
    const first = await call(gw, 'POST', '/v1/assimilations', {
      body: validBody({ seed: 7 }),
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(202);
    const { id } = first.body as { id: string };
    const before = await gw.counts();

    // The same request, keys in another order and a default spelled out.
    const { method, ...rest } = validBody({ seed: 7 });
    const again = await call(gw, 'POST', '/v1/assimilations', {
      body: { method, members: 1, ...rest },
      headers: { 'idempotency-key': key },
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ id, url: `/v1/assimilations/${id}` });
    expect(again.headers.get('idempotent-replayed')).toBe('true');

    const other = await call(gw, 'POST', '/v1/assimilations', {
      body: validBody({ seed: 8 }),
      headers: { 'idempotency-key': key },
    });
    expect(expectProblem(other, 409, 'CONFLICT').detail).toContain(key);
    expect(await gw.counts()).toEqual(before);

    // Keys are per API key: another client's same key is another job.
    const elsewhere = await call(gw, 'POST', '/v1/assimilations', {
      body: validBody({ seed: 7 }),
      token: gw.tokens.exempt,
      headers: { 'idempotency-key': key },
    });
    expect(elsewhere.status).toBe(202);
    expect((elsewhere.body as { id: string }).id).not.toBe(id);
  });

  it('gives concurrent retries under one Idempotency-Key one job', async () => {
    const key = `race-${randomUUID()}`;
    const before = await gw.counts();
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        call(gw, 'POST', '/v1/assimilations', {
          body: validBody({ seed: 9 }),
          headers: { 'idempotency-key': key },
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 202]);
    expect(new Set(results.map((r) => (r.body as { id: string }).id)).size).toBe(1);
    expect(await gw.counts()).toEqual({ rows: before.rows + 1, queued: before.queued + 1 });
  });

  it('answers an unknown route with a 404 problem', async () => {
    expectProblem(await call(gw, 'GET', '/v2/nothing'), 404, 'NOT_FOUND');
    expectProblem(await call(gw, 'PUT', '/v1/assimilations'), 404, 'NOT_FOUND');
  });

  it('serves an OpenAPI 3.1 document listing the POST route with its request schema, and Swagger UI', async () => {
    const res = await call(gw, 'GET', '/docs/json', { token: null });
    expect(res.status).toBe(200);
    const doc = res.body as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    const post = doc.paths['/v1/assimilations']?.post;
    const schema = post?.requestBody?.content['application/json']?.schema as {
      properties: Record<string, unknown>;
      required: string[];
      additionalProperties: boolean;
    };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['source', 'validTime', 'observations', 'method', 'members', 'steps', 'seed']),
    );
    expect(schema.required).toEqual(
      expect.arrayContaining(['source', 'validTime', 'observations', 'method']),
    );
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/assimilations/{id}', '/healthz', '/readyz', '/metrics']),
    );
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/docs'))).toBe(false);
    const ui = await fetch(`${gw.base}/docs/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('is live and ready without a key', async () => {
    expect(await call(gw, 'GET', '/healthz', { token: null })).toMatchObject({
      status: 200,
      body: { status: 'ok' },
    });
    expect(await call(gw, 'GET', '/readyz', { token: null })).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { database: 'ok', redis: 'ok' } },
    });
  });

  it('exposes request durations by route and status and the queue depth on /metrics', async () => {
    const res = await call(gw, 'GET', '/metrics', { token: null });
    expect(res.status).toBe(200);
    const text = res.body as string;
    expect(text).toMatch(
      /alignda_gateway_http_request_duration_seconds_count\{method="POST",route="\/v1\/assimilations",status_code="202"\} [1-9]/,
    );
    expect(text).toMatch(
      /alignda_gateway_http_request_duration_seconds_count\{[^}]*route="\/v1\/assimilations\/:id"/,
    );
    expect(text).toMatch(/alignda_queue_jobs\{queue="assimilate",state="waiting"\} \d+/);
  });
});

describe.skipIf(problem !== null)(`the gateway's limits${SKIP}`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ limits: { maxWaitingJobs: 2, queueFullRetryAfterS: 17, rateLimitMax: 6 } });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('refuses a submission with 429 and Retry-After once the queue holds the limit of waiting jobs', async () => {
    for (const seed of [1, 2])
      expect(
        (await call(gw, 'POST', '/v1/assimilations', { body: validBody({ seed }), token: gw.tokens.exempt }))
          .status,
      ).toBe(202);
    const before = await gw.counts();
    const res = await call(gw, 'POST', '/v1/assimilations', {
      body: validBody({ seed: 3 }),
      token: gw.tokens.exempt,
    });
    expect(expectProblem(res, 429, 'RESOURCE_EXHAUSTED').detail).toContain('queue is full');
    expect(res.headers.get('retry-after')).toBe('17');
    expect(await gw.counts()).toEqual(before);
  });

  it('rate-limits each key on its own across routes, with Retry-After, and never the exempt key', async () => {
    const id = randomUUID();
    for (let i = 0; i < 3; i++) {
      expect((await call(gw, 'GET', `/v1/assimilations/${id}`)).status).toBe(404);
      expect((await call(gw, 'DELETE', `/v1/assimilations/${id}`)).status).toBe(404);
    }
    const limited = await call(gw, 'POST', '/v1/assimilations', { body: validBody({ seed: 9 }) });
    expectProblem(limited, 429, 'RESOURCE_EXHAUSTED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call(gw, 'GET', `/v1/assimilations/${id}`, { token: gw.tokens.read })).status).toBe(404);
    for (let i = 0; i < 8; i++)
      expect((await call(gw, 'GET', `/v1/assimilations/${id}`, { token: gw.tokens.exempt })).status).toBe(
        404,
      );
    // Probes are never limited.
    for (let i = 0; i < 8; i++) expect((await call(gw, 'GET', '/healthz', { token: null })).status).toBe(200);
  });
});

describe.skipIf(problem !== null)(`readiness without Redis${SKIP}`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ redisUrl: `redis://127.0.0.1:${await closedPort()}` });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('answers /readyz 503 naming Redis, while /healthz stays 200', async () => {
    const res = await call(gw, 'GET', '/readyz', { token: null });
    const body = expectProblem(res, 503, 'UNAVAILABLE') as Problem & { checks: Record<string, string> };
    expect(body.detail).toMatch(/redis/i);
    expect(body.checks.database).toBe('ok');
    expect(body.checks.redis).not.toBe('ok');
    expect((await call(gw, 'GET', '/healthz', { token: null })).status).toBe(200);
  });
});

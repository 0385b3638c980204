import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { syntheticDailyDataset, writeNetcdfClassic } from '@alignda/world';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PROBLEM_CONTENT_TYPE } from '../problem.js';
import { TEST_REDIS_URL, redisProblem, startGateway } from '../test-harness.js';
import type { TestGateway } from '../test-harness.js';

const problem = await redisProblem();
const SKIP = problem === null ? '' : ` (SKIPPED: no Redis at ${TEST_REDIS_URL}: ${problem})`;

function descriptor(over: object = {}): object {
  return {
    name: 'daily-t2m',
    title: 'Synthetic daily 2 m temperature',
    source: { format: 'netcdf', path: 'mine/t2m.nc' },
    variables: [{ channel: 't2m', source: 't2m', units: 'K' }],
    grid: { kind: 'latlon', lat: { variable: 'lat' }, lon: { variable: 'lon' } },
    time: { variable: 'time' },
    periods: {
      train: { start: '2000-01-01', end: '2000-01-30' },
      test: { start: '2000-01-31', end: '2000-02-09' },
    },
    ...over,
  };
}

describe.skipIf(problem !== null)(`/v1/datasets${SKIP}`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
    mkdirSync(path.join(gw.dataDir, 'mine'));
    writeFileSync(
      path.join(gw.dataDir, 'mine', 't2m.nc'),
      writeNetcdfClassic(syntheticDailyDataset({ days: 40, height: 8, width: 8 })),
    );
  });
  afterAll(async () => {
    await gw.close();
  });

  const post = (body: unknown, token = gw.tokens.admin, query = '') =>
    gw.app.inject({
      method: 'POST',
      url: `/v1/datasets${query}`,
      headers: { authorization: `Bearer ${token}` },
      payload: body as object,
    });
  const get = (url: string, token = gw.tokens.read) =>
    gw.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

  it('registers a daily netCDF file under the data root (admin), recording its 24 h step, and reads it back', async () => {
    const res = await post(descriptor());
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers.location).toBe('/v1/datasets/daily-t2m');
    expect(res.json()).toMatchObject({
      name: 'daily-t2m',
      builtin: false,
      format: 'netcdf',
      path: 'mine/t2m.nc',
      stepHours: 24,
      timeRange: { start: '2000-01-01T00:00:00.000Z', end: '2000-02-09T00:00:00.000Z', count: 40 },
    });
    const one = await get('/v1/datasets/daily-t2m');
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ name: 'daily-t2m', stepHours: 24 });
    const all = await get('/v1/datasets');
    expect(all.json<{ datasets: { name: string }[] }>().datasets.map((d) => d.name)).toEqual([
      'ncep-air',
      'ncep-air-nc',
      'daily-t2m',
    ]);
    expect((await post(descriptor())).statusCode).toBe(409);
    expect((await post(descriptor(), gw.tokens.admin, '?replace=true')).statusCode).toBe(201);
  });

  it('needs the admin scope to register and the read scope to read', async () => {
    expect((await post(descriptor({ name: 'other' }), gw.tokens.submit)).statusCode).toBe(403);
    expect((await get('/v1/datasets', gw.tokens.revoked)).statusCode).toBe(401);
    expect((await get('/v1/datasets/nope')).json()).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
      detail: expect.stringMatching(/^dataset nope is not registered/) as unknown,
    });
  });

  it('refuses paths outside the data root and bad data with a problem naming the field, registering nothing', async () => {
    const outside = path.join(tmpdir(), 'passwd');
    const cases: [object, number, RegExp][] = [
      [
        descriptor({ name: 'dots', source: { format: 'netcdf', path: '../home/x.nc' } }),
        400,
        /source\.path \.\.\/home\/x\.nc has a "\.\." segment/,
      ],
      [
        descriptor({ name: 'abs', source: { format: 'netcdf', path: outside } }),
        400,
        /source\.path .* is outside the data root/,
      ],
      [
        descriptor({ name: 'link', source: { format: 'netcdf', path: 'escape/t2m.nc' } }),
        400,
        /is a symbolic link .* leading outside the data root/,
      ],
      [
        descriptor({
          name: 'late',
          periods: {
            train: { start: '2000-01-01', end: '2000-01-30' },
            test: { start: '2000-02-01', end: '2000-03-01' },
          },
        }),
        400,
        /periods\.test .* lies outside the data's time range/,
      ],
      [
        descriptor({ name: 'novar', variables: [{ channel: 't', source: 'tas', units: 'K' }] }),
        400,
        /variables\[0\]\.source tas is not in the file/,
      ],
      [
        descriptor({ name: 'nounits', variables: [{ channel: 't', source: 't2m' }] }),
        400,
        /body\/variables\/0\/units/,
      ],
      [
        descriptor({ name: 'missing', source: { format: 'netcdf', path: 'mine/none.nc' } }),
        404,
        /does not exist/,
      ],
    ];
    symlinkSync(path.dirname(gw.homeDir), path.join(gw.dataDir, 'escape'));
    for (const [body, status, detail] of cases) {
      const res = await post(body);
      expect(res.statusCode, res.body).toBe(status);
      expect(res.headers['content-type']).toContain(PROBLEM_CONTENT_TYPE);
      expect(res.json<{ detail: string }>().detail).toMatch(detail);
    }
    const names = (await get('/v1/datasets'))
      .json<{ datasets: { name: string }[] }>()
      .datasets.map((d) => d.name);
    expect(names).not.toContain('late');
    expect(names).not.toContain('dots');
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = (await gw.app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    expect(Object.keys(doc.paths['/v1/datasets'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/v1/datasets/{name}'] ?? {})).toEqual(['get']);
  });
});

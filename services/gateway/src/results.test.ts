import { existsSync } from 'node:fs';
import path from 'node:path';

import { readAnalysisNetcdf, readNetcdfClassic, zipEntries } from '@alignda/world';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PROBLEM_CONTENT_TYPE } from './problem.js';
import type { Problem } from './problem.js';
import type { AnalysisJson } from './results/analysis-formats.js';
import { sweepResults } from './results/result-sweeper.js';
import { RESULT_CHANNELS, TEST_REDIS_URL, redisProblem, startGateway, storeResult } from './test-harness.js';
import type { StoredResult, TestGateway } from './test-harness.js';

const problem = await redisProblem();
const SKIP =
  problem === null
    ? ''
    : ` (SKIPPED: no Redis at ${TEST_REDIS_URL}: ${problem}; set REDIS_URL or install redis-server)`;

interface Got {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

/** GET `path` of `gw` with the read-only key (or `token`), the body as bytes. */
async function get(
  gw: TestGateway,
  url: string,
  headers: Record<string, string> = {},
  token: string | null = gw.tokens.read,
): Promise<Got> {
  const res = await fetch(`${gw.base}${url}`, {
    headers: { ...headers, ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
  });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

function expectProblem(res: Got, status: number, code: string): Problem {
  const body = JSON.parse(res.bytes.toString('utf8')) as Problem;
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(res.headers.get('content-type')).toContain(PROBLEM_CONTENT_TYPE);
  expect(body).toMatchObject({ status, code });
  return body;
}

/** The variables of a netCDF body, by name, values as plain arrays. */
function ncVariables(bytes: Uint8Array): Map<string, { dims: readonly string[]; values: number[] }> {
  return new Map(
    readNetcdfClassic(bytes).variables.map((v) => [
      v.name,
      { dims: v.dimensions, values: Array.from(v.data) },
    ]),
  );
}

/** Channel `c` of a [.., C, H, W] array (member `m`), NaN as the JSON null. */
function plane(r: StoredResult, a: Float32Array, c: number, m = 0): (number | null)[][] {
  const [H, W] = r.shape;
  const C = r.channels.length;
  return Array.from({ length: H }, (_, i) =>
    Array.from(a.subarray(((m * C + c) * H + i) * W, ((m * C + c) * H + i + 1) * W), (v) =>
      Number.isNaN(v) ? null : v,
    ),
  );
}

const url = (id: string, query = ''): string => `/v1/assimilations/${id}/analysis${query}`;

describe.skipIf(problem !== null)(`the gateway's results${SKIP}`, () => {
  let gw: TestGateway;
  let r: StoredResult;
  beforeAll(async () => {
    gw = await startGateway();
    r = await storeResult(gw, { map: true });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('serves the mean and spread as netCDF by default, with ETag, Content-Disposition and Accept-Ranges', async () => {
    const res = await get(gw, url(r.id));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-netcdf');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="analysis-${r.id}.nc"`);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    const vars = ncVariables(res.bytes);
    expect([...vars.keys()]).toEqual([
      'time',
      'y',
      'x',
      'lat',
      'lon',
      't',
      'u_upper',
      'z_upper',
      't_spread',
      'u_upper_spread',
      'z_upper_spread',
    ]);
    const a = readAnalysisNetcdf(res.bytes);
    expect(a.kinds).toEqual(['mean', 'spread']);
    expect(Array.from(a.field('mean', 'u_upper') ?? [])).toEqual(
      Array.from(plane(r, r.mean, 1).flat(), (v) => v ?? NaN),
    );
    // The file is the stored one, cut down: every value it keeps is the stored value, bit for bit.
    const stored = ncVariables(r.bytes);
    for (const [name, v] of vars) expect(v.values, name).toEqual(stored.get(name)?.values);
  });

  it('serves the stored file itself when the members and background are asked for too', async () => {
    const res = await get(gw, url(r.id, '?format=netcdf&members=true&background=true'));
    expect(res.status).toBe(200);
    expect(res.bytes.equals(Buffer.from(r.bytes))).toBe(true);
  });

  it('keeps only the variables asked for, in the file order, with their members', async () => {
    const res = await get(gw, url(r.id, '?variables=z_upper,t&members=true'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="analysis-${r.id}-t-z_upper.nc"`,
    );
    const vars = ncVariables(res.bytes);
    expect([...vars.keys()].filter((k) => !['time', 'member', 'y', 'x', 'lat', 'lon'].includes(k))).toEqual([
      't',
      'z_upper',
      't_spread',
      'z_upper_spread',
      't_members',
      'z_upper_members',
    ]);
    expect(vars.get('z_upper_members')?.dims).toEqual(['time', 'member', 'y', 'x']);
    expect(vars.get('z_upper_members')?.values).toEqual(ncVariables(r.bytes).get('z_upper_members')?.values);
  });

  it('refuses an unknown variable listing the known ones, and a bad format, flag or parameter', async () => {
    const unknown = expectProblem(await get(gw, url(r.id, '?variables=t,q,rh')), 400, 'INVALID_ARGUMENT');
    expect(unknown.detail).toBe('unknown variables q, rh: the analysis holds t, u_upper, z_upper');
    expect(expectProblem(await get(gw, url(r.id, '?format=grib')), 400, 'INVALID_ARGUMENT').detail).toMatch(
      /^querystring\/format: /,
    );
    expectProblem(await get(gw, url(r.id, '?members=maybe')), 400, 'INVALID_ARGUMENT');
    expectProblem(await get(gw, url(r.id, '?variables=t;drop')), 400, 'INVALID_ARGUMENT');
    expectProblem(await get(gw, url(r.id, '?colour=red')), 400, 'INVALID_ARGUMENT');
  });

  it('answers a single byte range with 206 and Content-Range, and 416 past the end', async () => {
    const whole = (await get(gw, url(r.id, '?format=zarr'))).bytes;
    const head = await get(gw, url(r.id, '?format=zarr'), { range: 'bytes=0-99' });
    expect(head.status).toBe(206);
    expect(head.headers.get('content-range')).toBe(`bytes 0-99/${whole.length}`);
    expect(head.bytes.equals(whole.subarray(0, 100))).toBe(true);
    const tail = await get(gw, url(r.id, '?format=zarr'), { range: 'bytes=-22' });
    expect(tail.status).toBe(206);
    expect(tail.bytes.equals(whole.subarray(whole.length - 22))).toBe(true);
    const open = await get(gw, url(r.id), { range: 'bytes=100-' });
    const file = (await get(gw, url(r.id))).bytes;
    expect(open.headers.get('content-range')).toBe(`bytes 100-${file.length - 1}/${file.length}`);
    expect(open.bytes.equals(file.subarray(100))).toBe(true);

    const past = await get(gw, url(r.id), { range: `bytes=${file.length}-` });
    expectProblem(past, 416, 'INVALID_ARGUMENT');
    expect(past.headers.get('content-range')).toBe(`bytes */${file.length}`);
    // Several ranges are not served: the whole file is.
    expect((await get(gw, url(r.id), { range: 'bytes=0-1,5-6' })).status).toBe(200);
  });

  it('answers 304 to If-None-Match with its ETag, and the whole file to an If-Range with another', async () => {
    const first = await get(gw, url(r.id, '?format=json'));
    const etag = first.headers.get('etag') ?? '';
    const again = await get(gw, url(r.id, '?format=json'), { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.bytes.length).toBe(0);
    expect((await get(gw, url(r.id), { 'if-none-match': etag })).status).toBe(200); // another representation
    const stale = await get(gw, url(r.id), { range: 'bytes=0-9', 'if-range': '"stale"' });
    expect(stale.status).toBe(200);
  });

  it('serves a Zarr v2 zip whose metadata and chunks give back the netCDF values', async () => {
    const res = await get(gw, url(r.id, '?format=zarr&members=true'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="analysis-${r.id}.zarr.zip"`);
    const entries = zipEntries(res.bytes);
    const meta = JSON.parse(new TextDecoder().decode(entries['.zmetadata'])) as {
      metadata: Record<
        string,
        { shape?: number[]; dtype?: string; _ARRAY_DIMENSIONS?: string[]; units?: string }
      >;
    };
    const [H, W] = r.shape;
    expect(meta.metadata['t_members/.zarray']).toMatchObject({ shape: [1, r.members, H, W], dtype: '<f4' });
    expect(meta.metadata['t_members/.zattrs']?._ARRAY_DIMENSIONS).toEqual(['time', 'member', 'y', 'x']);
    expect(meta.metadata['lat/.zattrs']).toMatchObject({ units: 'degrees_north', _ARRAY_DIMENSIONS: ['y'] });
    expect(meta.metadata['time/.zattrs']).toMatchObject({ units: 'hours since 1970-01-01 00:00:00' });
    expect(meta.metadata['t_background/.zarray']).toBeUndefined();
    const stored = ncVariables(r.bytes);
    for (const name of ['u_upper', 'z_upper_spread', 't_members', 'lat', 'time']) {
      const dims = meta.metadata[`${name}/.zattrs`]?._ARRAY_DIMENSIONS ?? [];
      const chunk = entries[`${name}/${dims.map(() => 0).join('.')}`] ?? new Uint8Array();
      const dtype = meta.metadata[`${name}/.zarray`]?.dtype;
      const values =
        dtype === '<f4' ? new Float32Array(chunk.slice().buffer) : new Float64Array(chunk.slice().buffer);
      expect(Array.from(values), name).toEqual(stored.get(name)?.values);
    }
  });

  it('serves JSON of plain numbers equal to the netCDF values, null outside the valid area', async () => {
    const res = await get(gw, url(r.id, '?format=json&members=true&background=true&variables=u_upper'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('accept-ranges')).toBe('none');
    const body = JSON.parse(res.bytes.toString('utf8')) as AnalysisJson;
    expect(body).toMatchObject({
      id: r.id,
      validTime: '2000-01-10T06:00:00.000Z',
      channels: ['u_upper'],
      units: ['m s-1'],
      memberCount: r.members,
      grid: { kind: 'beta-plane', dims: ['y', 'x'], shape: [...r.shape] },
    });
    expect(body.grid.lat).toHaveLength(r.shape[0]);
    expect(body.mean).toEqual([plane(r, r.mean, 1)]);
    expect(body.spread).toEqual([plane(r, r.spread ?? new Float32Array(), 1)]);
    expect(body.background).toEqual([plane(r, r.background, 1)]);
    expect(body.members).toHaveLength(r.members);
    expect(body.members?.[2]).toEqual([plane(r, r.memberFields ?? new Float32Array(), 1, 2)]);
    expect(body.mean[0]?.[r.shape[0] - 1]?.[r.shape[1] - 1]).toBeNull();
    // Every number is the stored float32 exactly.
    const stored = ncVariables(r.bytes).get('u_upper')?.values ?? [];
    expect(body.mean.flat(2).slice(0, -1)).toEqual(stored.slice(0, -1));
  });

  it('is 409 naming the state while the job has not succeeded, and 404 for an unknown job', async () => {
    const queued = await storeResult(gw, { status: 'queued' });
    expect(expectProblem(await get(gw, url(queued.id)), 409, 'FAILED_PRECONDITION').detail).toBe(
      `job ${queued.id} is queued: its analysis is not ready yet (poll GET /v1/assimilations/${queued.id})`,
    );
    const running = await storeResult(gw, { status: 'running' });
    expect(expectProblem(await get(gw, url(running.id)), 409, 'FAILED_PRECONDITION').detail).toContain(
      'is running (stage sample, 50 % done)',
    );
    const failed = await storeResult(gw, { status: 'failed' });
    expect(
      expectProblem(await get(gw, `/v1/assimilations/${failed.id}/map.png`), 409, 'FAILED_PRECONDITION')
        .detail,
    ).toBe(`job ${failed.id} failed (INVALID_ARGUMENT: observation 0 failed QC): it has no analysis`);
    expectProblem(await get(gw, url('7b1c2d3e-0000-4000-8000-000000000000')), 404, 'NOT_FOUND');
    expectProblem(await get(gw, url('not-a-uuid')), 400, 'INVALID_ARGUMENT');
  });

  it('needs a key with the read scope', async () => {
    expectProblem(await get(gw, url(r.id), {}, null), 401, 'UNAUTHENTICATED');
    expectProblem(await get(gw, url(r.id), {}, gw.tokens.revoked), 401, 'UNAUTHENTICATED');
    expect((await get(gw, url(r.id, '?format=json'), {}, gw.tokens.submit)).status).toBe(200);
  });

  it('serves the stored map, draws another channel on request, and refuses an unknown one', async () => {
    const stored = await get(gw, `/v1/assimilations/${r.id}/map.png`);
    expect(stored.status).toBe(200);
    expect(stored.headers.get('content-type')).toBe('image/png');
    expect(stored.bytes.equals(Buffer.from(r.map ?? []))).toBe(true);
    const drawn = await get(gw, `/v1/assimilations/${r.id}/map.png?channel=z_upper`);
    expect(drawn.status).toBe(200);
    expect(Array.from(drawn.bytes.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(drawn.headers.get('content-disposition')).toBe(`attachment; filename="map-${r.id}-z_upper.png"`);
    expect(
      expectProblem(await get(gw, `/v1/assimilations/${r.id}/map.png?channel=q`), 400, 'INVALID_ARGUMENT')
        .detail,
    ).toBe('unknown variable q: the analysis holds t, u_upper, z_upper');
    // A job whose map was not stored gets one drawn from its netCDF.
    const noMap = await storeResult(gw, { members: 1 });
    const drawnFirst = await get(gw, `/v1/assimilations/${noMap.id}/map.png`);
    expect(drawnFirst.status).toBe(200);
    expect(drawnFirst.headers.get('content-type')).toBe('image/png');
  });

  it('returns the provenance, and 404 for an analysis stored without one', async () => {
    const res = await get(gw, `/v1/assimilations/${r.id}/provenance`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.bytes.toString('utf8'))).toMatchObject({
      version: 1,
      gitCommit: 'a'.repeat(40),
      seeds: { sampler: 5, members: [5] },
      request: { method: 'dps' },
    });
    const old = await storeResult(gw, { provenance: null });
    expectProblem(await get(gw, `/v1/assimilations/${old.id}/provenance`), 404, 'NOT_FOUND');
  });

  it('answers a one-member analysis: no spread, its one member the mean', async () => {
    const one = await storeResult(gw, { members: 1 });
    const body = JSON.parse(
      (await get(gw, url(one.id, '?format=json&members=true'))).bytes.toString('utf8'),
    ) as AnalysisJson;
    expect(body.spread).toBeNull();
    expect(body.members).toEqual([body.mean]);
    const nc = ncVariables((await get(gw, url(one.id, '?members=true'))).bytes);
    expect([...nc.keys()]).toEqual(['time', 'y', 'x', 'lat', 'lon', ...RESULT_CHANNELS]);
  });

  it("never reads a file outside the job's result folder", async () => {
    const other = await storeResult(gw, {
      artifactPaths: { analysis: path.join('results', r.id, 'analysis.nc') },
    });
    expectProblem(await get(gw, url(other.id)), 500, 'INTERNAL');
    const escape = await storeResult(gw, { artifactPaths: { analysis: '../../etc/passwd' } });
    expectProblem(await get(gw, url(escape.id)), 500, 'INTERNAL');
  });

  it('is 410 once the sweeper removed an expired result; the provenance stays', async () => {
    const old = await storeResult(gw, { finishedAt: new Date(Date.now() - 200 * 3_600_000) });
    const fresh = await storeResult(gw, {});
    const folder = path.join(gw.homeDir, 'results', old.id);
    expect(existsSync(folder)).toBe(true);
    const swept = await sweepResults({
      db: gw.db,
      homeDir: gw.homeDir,
      ttlHours: 168,
      logger: gw.app.log as never,
    });
    expect(swept.expired).toContain(old.id);
    expect(swept.expired).not.toContain(fresh.id);
    expect(existsSync(folder)).toBe(false);
    const row = await gw.db.analysis.findUniqueOrThrow({ where: { id: old.id } });
    expect(row.expiredAt).toBeInstanceOf(Date);
    expect(row.artifactPaths).toEqual({});
    const gone = expectProblem(await get(gw, url(old.id)), 410, 'NOT_FOUND');
    expect(gone.title).toBe('Gone');
    expect(gone.detail).toMatch(
      new RegExp(`^the result of job ${old.id} expired at \\S+ and was removed \\(results are kept 168 h`),
    );
    expectProblem(await get(gw, `/v1/assimilations/${old.id}/map.png`), 410, 'NOT_FOUND');
    expect((await get(gw, `/v1/assimilations/${old.id}/provenance`)).status).toBe(200);
    expect((await get(gw, url(fresh.id))).status).toBe(200);
  });

  it('documents the result routes in the OpenAPI document', async () => {
    const doc = JSON.parse((await get(gw, '/docs/json', {}, null)).bytes.toString('utf8')) as {
      paths: Record<string, unknown>;
    };
    for (const p of [
      '/v1/assimilations/{id}/analysis',
      '/v1/assimilations/{id}/map.png',
      '/v1/assimilations/{id}/provenance',
    ])
      expect(doc.paths[p], p).toBeDefined();
  });
});

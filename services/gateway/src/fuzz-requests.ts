/**
 * For tests and `npm run fuzz` only (reliability/fuzz): fast-check generators of bad HTTP requests to the gateway.
 * {@link assimilationBodies} are POST /v1/assimilations bodies (valid ones with one field changed or removed, arbitrary
 * JSON, non-JSON text); {@link gatewayRequests} adds bad ids, query strings, paths, headers and keys on every route.
 */
import fc from 'fast-check';

import { validBody } from './test-harness.js';

/** Sets `value` at `path` in a copy of `body` (making objects on the way), or deletes it when `value` is undefined. */
export function mutate(
  body: Record<string, unknown>,
  path: string[],
  value: unknown,
): Record<string, unknown> {
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
export const BODY_PATHS = [
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

/** POST /v1/assimilations bodies: valid ones with one field changed or removed, arbitrary JSON, non-JSON text. */
export const assimilationBodies: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...BODY_PATHS), fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }))
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

/** One HTTP request of {@link gatewayRequests}: what `fetch` is given, relative to the gateway's base URL. */
export interface FuzzRequest {
  readonly method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  /** Path and query, e.g. `/v1/assimilations/<id>/analysis?variables=t`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** The API keys a request may carry: a valid, rate-limit exempt one (submit + read), and a read-only one. */
export interface FuzzKeys {
  readonly exempt: string;
  readonly read: string;
}

/** Ids: mostly well-formed UUIDs of no job, then anything. */
const ids = fc.oneof(
  { weight: 3, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.constantFrom('', '..', '%00', '%2e%2e%2f', 'a'.repeat(300)) },
);

/** Query strings of the result routes: known keys with bad values, unknown keys, junk. */
const queries = fc.oneof(
  fc.constant(''),
  fc
    .tuple(
      fc.constantFrom('format', 'variables', 'members', 'background', 'channel', 'member', 'bbox', 'x', ''),
      fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.constantFrom('netcdf', 'json', 'zarr', 'true', 'false', '-1', '1e309', 'NaN'),
      ),
    )
    .map(([k, v]) => `?${encodeURIComponent(k)}=${encodeURIComponent(v)}`),
  fc.string({ maxLength: 30 }).map((s) => `?${encodeURI(s)}`),
);

/** Authorization headers: the exempt key (most), the read-only key, none, a made-up or malformed one. */
function authorizations(keys: FuzzKeys): fc.Arbitrary<Record<string, string>> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant({ authorization: `Bearer ${keys.exempt}` }) },
    { weight: 1, arbitrary: fc.constant({ authorization: `Bearer ${keys.read}` }) },
    { weight: 1, arbitrary: fc.constant({}) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
          fc.constantFrom('Basic dXNlcjpwYXNz', 'Bearer', 'bearer ', `Bearer ${keys.exempt}x`),
        )
        // Header values must be ByteStrings without line breaks (fetch refuses others before sending).
        .map((v) => ({ authorization: v.replace(/[^\x20-\x7e]/g, '?') })),
    },
  );
}

/** Content types of a POST: JSON (most), none, wrong, or a malformed one. */
const contentTypes = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ 'content-type': 'application/json' }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Record<string, string>[]>(
      {},
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/x-www-form-urlencoded' },
      { 'content-type': 'application/json; charset=latin-7' },
      { 'content-type': ';;' },
    ),
  },
);

/**
 * Bad requests on every route of the gateway: fuzzed submissions (with their keys and content types), reads and
 * cancellations of ids that name no job, result routes with junk queries, unknown paths and methods.
 */
export function gatewayRequests(keys: FuzzKeys): fc.Arbitrary<FuzzRequest> {
  const auth = authorizations(keys);
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.tuple(assimilationBodies, auth, contentTypes).map(([body, a, ct]): FuzzRequest => ({
        method: 'POST',
        path: '/v1/assimilations',
        headers: { ...a, ...ct },
        body,
      })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          ids,
          fc.constantFrom('', '/analysis', '/map.png', '/provenance', '/analysis.nc', '/x'),
          queries,
          auth,
        )
        .map(([id, tail, query, a]): FuzzRequest => ({
          method: 'GET',
          path: `/v1/assimilations/${id}${tail}${query}`,
          headers: a,
        })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(ids, auth).map(([id, a]): FuzzRequest => ({
        method: 'DELETE',
        path: `/v1/assimilations/${id}`,
        headers: a,
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom<FuzzRequest['method'][]>('GET', 'POST', 'DELETE', 'PUT', 'PATCH'),
          fc.oneof(
            fc.constantFrom('/v1', '/v1/', '/v2/assimilations', '/v1/assimilations/', '/v1/models'),
            fc.webPath().map((p) => `/v1${p}`),
          ),
          auth,
        )
        .map(([method, path, a]): FuzzRequest => ({
          method,
          path,
          headers: a,
          ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}' }),
        })),
    },
  );
}

/**
 * API-key authentication. A client sends `Authorization: Bearer <token>`; the token's SHA-256 is looked
 * up in the registry (packages/db's `findApiKeyByToken`, the one place tokens are hashed). A route
 * states the scope it needs in its config (`config: { scope: 'submit' }`); routes without one (health,
 * metrics, docs) need no key. No key, an unknown key or a revoked key is 401; a key without the scope
 * is 403. The key found is `request.apiKey`, which the per-key rate limit reads.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '@alignda/errors';
import { apiKeyHasScope, findApiKeyByToken } from '@alignda/db';
import type { ApiKeyRecord, ApiKeyScope, Db } from '@alignda/db';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated key; `null` on routes that need none. */
    apiKey: ApiKeyRecord | null;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one are public. */
    scope?: ApiKeyScope;
  }
}

/** The bearer token of a request, or `undefined` when it has no well-formed Authorization header. */
export function bearerToken(request: Pick<FastifyRequest, 'headers'>): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+([A-Za-z0-9_-]{16,256})[ \t]*$/i.exec(header);
  return match?.[1];
}

/**
 * The key a request authenticates with, checked against `scope`.
 * @throws AppError `UNAUTHENTICATED` (no key, unknown, revoked) or `PERMISSION_DENIED` (scope missing)
 */
export async function authenticate(
  db: Db,
  request: Pick<FastifyRequest, 'headers'>,
  scope: ApiKeyScope,
): Promise<ApiKeyRecord> {
  const token = bearerToken(request);
  if (token === undefined)
    throw new AppError('UNAUTHENTICATED', 'an API key is required: send Authorization: Bearer <token>');
  const key = await findApiKeyByToken(db, token);
  // Unknown and revoked keys get the same answer: a caller learns nothing about which tokens existed.
  if (key === null || key.revokedAt !== null)
    throw new AppError('UNAUTHENTICATED', 'unknown or revoked API key');
  if (!apiKeyHasScope(key, scope))
    throw new AppError('PERMISSION_DENIED', `API key "${key.name}" lacks the ${scope} scope`, {
      details: { keyId: key.id, scope },
    });
  return key;
}

/**
 * Adds the authentication hook to `app`: on every request to a route whose config names a scope,
 * before the body is read (a refused request costs no parsing) and before the rate limit (which is
 * per key). Call before the routes are registered.
 */
export function registerApiKeyAuth(app: FastifyInstance, db: Db): void {
  app.decorateRequest('apiKey', null);
  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config.scope;
    if (scope === undefined) return;
    request.apiKey = await authenticate(db, request, scope);
  });
}

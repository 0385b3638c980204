import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '@alignda/errors';
import type { Db } from './open-database.js';
import type { ApiKey } from './generated/sqlite/client.js';

/**
 * What an API key may do at the gateway: `submit` jobs, `read` them, `admin` everything (an admin key
 * passes every scope check, so one operator key is enough).
 */
export const API_KEY_SCOPES = ['submit', 'read', 'admin'] as const;
/** One of {@link API_KEY_SCOPES}. */
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Random bytes in a token: 256 bits, beyond any guessing or offline search of the stored hashes. */
export const API_KEY_TOKEN_BYTES = 32;

/** An API key as callers see it: everything but the hash. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly ApiKeyScope[];
  readonly rateLimitExempt: boolean;
  readonly createdAt: Date;
  /** When the key was revoked; `null` while it is valid. */
  readonly revokedAt: Date | null;
}

/** A fresh token: {@link API_KEY_TOKEN_BYTES} random bytes, base64url without padding (43 characters). */
export function generateApiKeyToken(): string {
  return randomBytes(API_KEY_TOKEN_BYTES).toString('base64url');
}

/**
 * The only form of a token that is stored: SHA-256, lowercase hex. The one place tokens are hashed: the
 * CLI that creates keys and the gateway that checks them both call it. A fast unsalted hash is enough
 * because tokens are 256 random bits, not passwords (no dictionary to search).
 */
export function hashApiKeyToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether `scope` names a known scope. */
export function isApiKeyScope(scope: string): scope is ApiKeyScope {
  return (API_KEY_SCOPES as readonly string[]).includes(scope);
}

/**
 * Parses a comma-separated scope list such as `submit,read` (spaces allowed, duplicates dropped, order
 * of {@link API_KEY_SCOPES} kept). An empty list or an unknown scope is `INVALID_ARGUMENT` naming it.
 */
export function parseApiKeyScopes(list: string): ApiKeyScope[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = names.filter((s) => !isApiKeyScope(s));
  if (unknown.length > 0)
    throw new AppError(
      'INVALID_ARGUMENT',
      `unknown API key scope ${unknown.map((s) => JSON.stringify(s)).join(', ')}: expected ${API_KEY_SCOPES.join(', ')}`,
    );
  if (names.length === 0)
    throw new AppError(
      'INVALID_ARGUMENT',
      `no API key scope given: expected some of ${API_KEY_SCOPES.join(', ')}`,
    );
  return API_KEY_SCOPES.filter((s) => names.includes(s));
}

/** Whether `key` grants `scope` (`admin` grants every scope). */
export function apiKeyHasScope(key: Pick<ApiKeyRecord, 'scopes'>, scope: ApiKeyScope): boolean {
  return key.scopes.includes(scope) || key.scopes.includes('admin');
}

/** Options of {@link createApiKey}. */
export interface CreateApiKeyOptions {
  /** A human name (not unique), e.g. `bench`. */
  name: string;
  scopes: readonly ApiKeyScope[];
  /** Exempt the key from the gateway's per-key rate limit. @defaultValue `false` */
  rateLimitExempt?: boolean;
}

/**
 * Creates a key and returns its record and its token. The token is returned here only: the database
 * keeps its {@link hashApiKeyToken}, so show it to the user once.
 */
export async function createApiKey(
  db: Db,
  options: CreateApiKeyOptions,
): Promise<{ key: ApiKeyRecord; token: string }> {
  const name = options.name.trim();
  if (name === '') throw new AppError('INVALID_ARGUMENT', 'an API key needs a non-empty name');
  if (options.scopes.length === 0)
    throw new AppError(
      'INVALID_ARGUMENT',
      `an API key needs at least one scope of ${API_KEY_SCOPES.join(', ')}`,
    );
  for (const scope of options.scopes)
    if (!isApiKeyScope(scope))
      throw new AppError('INVALID_ARGUMENT', `unknown API key scope ${JSON.stringify(scope)}`);
  const token = generateApiKeyToken();
  const row = await db.apiKey.create({
    data: {
      name,
      hash: hashApiKeyToken(token),
      scopes: [...new Set(options.scopes)],
      rateLimitExempt: options.rateLimitExempt ?? false,
    },
  });
  return { key: toRecord(row), token };
}

/** Every key, oldest first, revoked ones included. */
export async function listApiKeys(db: Db): Promise<ApiKeyRecord[]> {
  const rows = await db.apiKey.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  return rows.map(toRecord);
}

/**
 * Revokes the key `id` (from then on the gateway refuses it) and returns it. Revoking a revoked key
 * keeps its first revocation time; an unknown id is `NOT_FOUND`.
 */
export async function revokeApiKey(db: Db, id: string, now: Date = new Date()): Promise<ApiKeyRecord> {
  // Only a valid key changes: a second revocation keeps the first time.
  await db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now } });
  const row = await db.apiKey.findUnique({ where: { id } });
  if (row === null)
    throw new AppError('NOT_FOUND', `no API key with id ${JSON.stringify(id)}`, { details: { id } });
  return toRecord(row);
}

/** The key whose token is `token`, revoked or not; `null` when none has that hash. */
export async function findApiKeyByToken(db: Db, token: string): Promise<ApiKeyRecord | null> {
  const row = await db.apiKey.findUnique({ where: { hash: hashApiKeyToken(token) } });
  return row === null ? null : toRecord(row);
}

function toRecord(row: ApiKey): ApiKeyRecord {
  const stored: unknown = row.scopes;
  // Scopes this version does not know (written by a newer one) grant nothing here.
  const scopes = Array.isArray(stored)
    ? stored.filter((s): s is ApiKeyScope => typeof s === 'string' && isApiKeyScope(s))
    : [];
  return {
    id: row.id,
    name: row.name,
    scopes,
    rateLimitExempt: row.rateLimitExempt,
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
  };
}

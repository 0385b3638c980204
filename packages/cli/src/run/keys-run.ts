/**
 * `alignda keys` as CLI runs: create, list and revoke the gateway's API keys in the registry
 * (`DATABASE_URL`). Tokens are made and hashed by packages/db's API key helpers, the same ones the
 * gateway checks them with; only the hash is stored, so `create` prints the token once.
 */
import { loadConfig } from '@alignda/config';
import type { Config } from '@alignda/config';
import { createApiKey, listApiKeys, openDatabase, revokeApiKey } from '@alignda/db';
import type { ApiKeyRecord, ApiKeyScope, Db } from '@alignda/db';

import { formatTable } from '../format.js';

/** Options of `alignda keys create`. */
export interface KeysCreateOptions {
  name: string;
  scopes: readonly ApiKeyScope[];
  /** Exempt from the gateway's per-key rate limit (the bench key). @defaultValue false */
  exempt?: boolean;
}

/** Where the runs print; tests pass a collector. @defaultValue console.log */
export type Print = (line: string) => void;

async function withDb<T>(config: Config, run: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDatabase(config);
  try {
    return await run(db);
  } finally {
    await db.$disconnect();
  }
}

const scopesOf = (k: ApiKeyRecord): string => k.scopes.join(',');

/** Creates a key and prints its id, name, scopes and, once, its token. */
export async function runKeysCreate(
  options: KeysCreateOptions,
  print: Print = console.log,
  config: Config = loadConfig(),
): Promise<ApiKeyRecord> {
  const { key, token } = await withDb(config, (db) =>
    createApiKey(db, {
      name: options.name,
      scopes: options.scopes,
      rateLimitExempt: options.exempt ?? false,
    }),
  );
  print(
    `created API key ${key.id} "${key.name}" (scopes ${scopesOf(key)}${key.rateLimitExempt ? '; exempt from the rate limit' : ''})`,
  );
  print('token (shown only now; send it as "Authorization: Bearer <token>"):');
  print(token);
  return key;
}

/** Prints every key, revoked ones included, as a table. */
export async function runKeysList(
  print: Print = console.log,
  config: Config = loadConfig(),
): Promise<ApiKeyRecord[]> {
  const keys = await withDb(config, listApiKeys);
  if (keys.length === 0) {
    print('no API keys: create one with alignda keys create --name <name> --scopes submit,read');
    return keys;
  }
  print(
    formatTable(
      ['id', 'name', 'scopes', 'exempt', 'created', 'revoked'],
      keys.map((k) => [
        k.id,
        k.name,
        scopesOf(k),
        k.rateLimitExempt ? 'yes' : 'no',
        k.createdAt.toISOString(),
        k.revokedAt === null ? '-' : k.revokedAt.toISOString(),
      ]),
    ),
  );
  return keys;
}

/** Revokes the key `id`; the gateway refuses it from its next request. An unknown id is NOT_FOUND (exit 66). */
export async function runKeysRevoke(
  id: string,
  print: Print = console.log,
  config: Config = loadConfig(),
): Promise<ApiKeyRecord> {
  const now = new Date();
  const key = await withDb(config, (db) => revokeApiKey(db, id, now));
  const when = key.revokedAt?.toISOString() ?? '?';
  print(
    key.revokedAt !== null && key.revokedAt.getTime() < now.getTime()
      ? `API key ${key.id} "${key.name}" was already revoked at ${when}`
      : `revoked API key ${key.id} "${key.name}" at ${when}`,
  );
  return key;
}

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '@alignda/errors';
import {
  apiKeyHasScope,
  createApiKey,
  findApiKeyByToken,
  generateApiKeyToken,
  hashApiKeyToken,
  listApiKeys,
  parseApiKeyScopes,
  revokeApiKey,
} from './api-keys.js';
import { openDatabase } from './open-database.js';
import type { Db } from './open-database.js';

describe('API key tokens', () => {
  it('are 256 random bits in base64url, different every time', () => {
    const a = generateApiKeyToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(generateApiKeyToken()).not.toBe(a);
  });

  it('are stored as their SHA-256 in hex', () => {
    expect(hashApiKeyToken('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
    expect(hashApiKeyToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('parseApiKeyScopes', () => {
  it('reads a comma-separated list in catalog order without duplicates', () => {
    expect(parseApiKeyScopes('read, submit,read')).toEqual(['submit', 'read']);
  });

  it('refuses an unknown scope and an empty list as INVALID_ARGUMENT naming the problem', () => {
    expect(() => parseApiKeyScopes('submit,write')).toThrow(/unknown API key scope "write"/);
    expect(() => parseApiKeyScopes(' , ')).toThrow(AppError);
  });

  it('lets admin pass every scope check', () => {
    expect(apiKeyHasScope({ scopes: ['admin'] }, 'submit')).toBe(true);
    expect(apiKeyHasScope({ scopes: ['read'] }, 'submit')).toBe(false);
  });
});

describe('API keys in the registry', () => {
  let dir: string;
  let db: Db;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'alignda-keys-'));
    db = await openDatabase({ databaseUrl: `file:${path.join(dir, 'a.db')}`, startupProbeTimeoutMs: 2000 });
  });
  afterAll(async () => {
    await db.$disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps only the hash of a created key, finds it by its token, lists and revokes it', async () => {
    const { key, token } = await createApiKey(db, {
      name: 'bench',
      scopes: ['submit', 'read'],
      rateLimitExempt: true,
    });
    expect(key).toMatchObject({
      name: 'bench',
      scopes: ['submit', 'read'],
      rateLimitExempt: true,
      revokedAt: null,
    });
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.hash).toBe(hashApiKeyToken(token));
    expect(JSON.stringify(row)).not.toContain(token);

    expect(await findApiKeyByToken(db, token)).toEqual(key);
    expect(await findApiKeyByToken(db, generateApiKeyToken())).toBeNull();
    expect((await listApiKeys(db)).map((k) => k.id)).toContain(key.id);

    const first = new Date('2026-01-01T00:00:00.000Z');
    expect((await revokeApiKey(db, key.id, first)).revokedAt).toEqual(first);
    expect((await revokeApiKey(db, key.id, new Date())).revokedAt).toEqual(first);
    expect((await findApiKeyByToken(db, token))?.revokedAt).toEqual(first);
  });

  it('refuses a key without a name or scope, and revoking an unknown id is NOT_FOUND', async () => {
    await expect(createApiKey(db, { name: ' ', scopes: ['read'] })).rejects.toThrow(/non-empty name/);
    await expect(createApiKey(db, { name: 'x', scopes: [] })).rejects.toThrow(/at least one scope/);
    await expect(revokeApiKey(db, 'missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

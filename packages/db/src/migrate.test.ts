import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '@alignda/errors';
import { MIGRATIONS_TABLE, listMigrations, migrate } from './migrate.js';
import { migrationsDir } from './internal/schema-render.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'alignda-migrate-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const err: unknown = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

function tables(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => r.name);
  } finally {
    db.close();
  }
}

describe('migrate on SQLite', () => {
  it('creates the database file and its directory, applies every migration, and records it', async () => {
    const file = path.join(dir, 'nested/alignda.db');
    const result = await migrate(`file:${file}`);
    const names = listMigrations(migrationsDir('sqlite')).map((m) => m.name);
    expect(result).toEqual({ provider: 'sqlite', applied: names, alreadyApplied: [] });
    expect(existsSync(file)).toBe(true);
    expect(tables(file)).toEqual(
      expect.arrayContaining(['Job', 'Dataset', 'ModelVersion', 'CycleStep', MIGRATIONS_TABLE]),
    );
  });

  it('is a no-op the second time', async () => {
    const url = `file:${path.join(dir, 'a.db')}`;
    const first = await migrate(url);
    const second = await migrate(url);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(first.applied);
  });

  it('refuses a migration changed after it was applied', async () => {
    const migrations = path.join(dir, 'migrations');
    cpSync(migrationsDir('sqlite'), migrations, { recursive: true });
    const url = `file:${path.join(dir, 'a.db')}`;
    await migrate(url, { migrationsDir: migrations });
    const first = listMigrations(migrations)[0];
    if (first === undefined) throw new Error('no migrations');
    appendFileSync(path.join(migrations, first.name, 'migration.sql'), '\n-- edited\n');
    const err = await rejection(migrate(url, { migrationsDir: migrations }));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toContain(`migration ${first.name} (sqlite) was applied with checksum`);
  });

  it('rolls back a failing migration, names it, and leaves it pending', async () => {
    const migrations = path.join(dir, 'migrations');
    mkdirSync(path.join(migrations, '0001_bad'), { recursive: true });
    writeFileSync(
      path.join(migrations, '0001_bad/migration.sql'),
      'CREATE TABLE "Partial" ("x" INTEGER);\nINSERT INTO "Missing" VALUES (1);\n',
    );
    const file = path.join(dir, 'a.db');
    const err = await rejection(migrate(`file:${file}`, { migrationsDir: migrations }));
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toMatch(/^migration 0001_bad failed on sqlite: no such table: Missing/);
    expect(tables(file)).toEqual([MIGRATIONS_TABLE]);
  });

  it('rejects an unknown DATABASE_URL scheme as CONFIG_INVALID naming DATABASE_URL, password redacted', async () => {
    const err = await rejection(migrate('mysql://root:hunter2@db/x'));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toBe(
      'DATABASE_URL="mysql://root:***@db/x": expected a URL with scheme file: (SQLite), postgres: or postgresql: (PostgreSQL)',
    );
  });
});

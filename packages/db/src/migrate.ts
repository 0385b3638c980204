import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { AppError } from '@alignda/errors';
import { redactSecrets } from '@alignda/log';
import { databaseUnavailable, parseDatabaseUrl } from './database-url.js';
import { migrationsDir } from './internal/schema-render.js';
import type { Provider } from './internal/schema-render.js';

/** The table that records applied migrations (name, sha256 of migration.sql, time). */
export const MIGRATIONS_TABLE = '_alignda_migrations';

// Arbitrary constant key for pg_advisory_lock: serialises concurrent migrators on one PostgreSQL.
const PG_LOCK_KEY = 7_024_611_931;
const MIGRATION_NAME = /^\d{4}_[a-z0-9_]+$/;

/** One migration on disk. */
export interface Migration {
  /** Folder name, e.g. `0001_init`; migrations apply in name order. */
  readonly name: string;
  /** Contents of migration.sql. */
  readonly sql: string;
  /** sha256 hex of migration.sql with line endings normalised to LF. */
  readonly checksum: string;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  readonly provider: Provider;
  /** Migrations applied by this call, in order. */
  readonly applied: readonly string[];
  /** Migrations found already applied (checksums verified). */
  readonly alreadyApplied: readonly string[];
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Folder of migrations for the URL's provider. @defaultValue packages/db/migrations/<provider> */
  migrationsDir?: string;
  /** How long connecting to PostgreSQL may take, in ms. @defaultValue `5000` */
  connectTimeoutMs?: number;
}

/** Reads the migrations in `dir` (folders named `NNNN_name` holding migration.sql), sorted by name. */
export function listMigrations(dir: string): Migration[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && MIGRATION_NAME.test(e.name))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
      const checksum = createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
      return { name, sql, checksum };
    });
}

/**
 * Applies every pending migration to the database at `url` (DATABASE_URL syntax), each exactly once
 * and in its own transaction, recording name and checksum in `_alignda_migrations`. Applying twice is
 * a no-op. A recorded migration whose file has since changed is `FAILED_PRECONDITION`; an unreachable
 * PostgreSQL is `UNAVAILABLE` naming DATABASE_URL; a failing statement is `INTERNAL` naming the migration.
 */
export async function migrate(url: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const target = parseDatabaseUrl(url);
  const migrations = listMigrations(options.migrationsDir ?? migrationsDir(target.provider));
  if (target.provider === 'sqlite') return migrateSqlite(target.file, migrations);
  return migratePostgres(target.url, migrations, options.connectTimeoutMs ?? 5000);
}

function migrateSqlite(file: string, migrations: readonly Migration[]): MigrateResult {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.exec(
      `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" ("name" TEXT PRIMARY KEY, "checksum" TEXT NOT NULL, "appliedAt" TEXT NOT NULL)`,
    );
    const recorded = db.prepare<[string], { checksum: string }>(
      `SELECT "checksum" FROM "${MIGRATIONS_TABLE}" WHERE "name" = ?`,
    );
    const record = db.prepare(
      `INSERT INTO "${MIGRATIONS_TABLE}" ("name", "checksum", "appliedAt") VALUES (?, ?, ?)`,
    );
    const applied: string[] = [];
    const alreadyApplied: string[] = [];
    for (const m of migrations) {
      // BEGIN IMMEDIATE takes the write lock first, so a concurrent migrator waits, then sees the record.
      const applyOne = db.transaction((): boolean => {
        const row = recorded.get(m.name);
        if (row !== undefined) {
          checkChecksum(m, row.checksum, 'sqlite');
          return false;
        }
        runStatements(() => db.exec(m.sql), m, 'sqlite');
        record.run(m.name, m.checksum, new Date().toISOString());
        return true;
      });
      (applyOne.immediate() ? applied : alreadyApplied).push(m.name);
    }
    return { provider: 'sqlite', applied, alreadyApplied };
  } finally {
    db.close();
  }
}

async function migratePostgres(
  url: string,
  migrations: readonly Migration[],
  connectTimeoutMs: number,
): Promise<MigrateResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
  client.on('error', () => undefined); // a dropped connection surfaces as a failed query below
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw databaseUnavailable(url, err);
  }
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PG_LOCK_KEY]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" ("name" TEXT PRIMARY KEY, "checksum" TEXT NOT NULL, "appliedAt" TIMESTAMPTZ NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ name: string; checksum: string }>(
      `SELECT "name", "checksum" FROM "${MIGRATIONS_TABLE}"`,
    );
    const recorded = new Map(rows.map((r) => [r.name, r.checksum]));
    const applied: string[] = [];
    const alreadyApplied: string[] = [];
    for (const m of migrations) {
      const checksum = recorded.get(m.name);
      if (checksum !== undefined) {
        checkChecksum(m, checksum, 'postgresql');
        alreadyApplied.push(m.name);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(m.sql).catch((err: unknown) =>
          runStatements(
            () => {
              throw err;
            },
            m,
            'postgresql',
          ),
        );
        await client.query(`INSERT INTO "${MIGRATIONS_TABLE}" ("name", "checksum") VALUES ($1, $2)`, [
          m.name,
          m.checksum,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      applied.push(m.name);
    }
    return { provider: 'postgresql', applied, alreadyApplied };
  } finally {
    // Ending the session releases the advisory lock.
    await client.end().catch(() => undefined);
  }
}

function checkChecksum(m: Migration, recorded: string, provider: Provider): void {
  if (recorded === m.checksum) return;
  throw new AppError(
    'FAILED_PRECONDITION',
    `migration ${m.name} (${provider}) was applied with checksum ${recorded.slice(0, 12)} but migration.sql now has ${m.checksum.slice(0, 12)}: applied migrations are immutable, add a new one`,
    { details: { migration: m.name, provider, recorded, current: m.checksum } },
  );
}

function runStatements(run: () => void, m: Migration, provider: Provider): void {
  try {
    run();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new AppError('INTERNAL', `migration ${m.name} failed on ${provider}: ${redactSecrets(reason)}`, {
      details: { migration: m.name, provider },
      cause: err,
    });
  }
}

/** Whether `dir` holds at least one migration (used by tooling). */
export function hasMigrations(dir: string): boolean {
  return existsSync(dir) && listMigrations(dir).length > 0;
}

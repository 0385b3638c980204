import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { Config } from '@alignda/config';
import { databaseUnavailable, parseDatabaseUrl } from './database-url.js';
import { migrate } from './migrate.js';
import { PrismaClient as PostgresClient } from './generated/postgresql/client.js';
import { PrismaClient as SqliteClient } from './generated/sqlite/client.js';

/** How long a SQLite writer waits for another process's lock, ms. */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;

/**
 * A connected registry client. Both providers are generated from one data model
 * (prisma/models.prisma), so they share this model API; the type is the SQLite client's, the
 * common subset (no PostgreSQL-only filters such as `mode: 'insensitive'`).
 */
export type Db = SqliteClient;

/**
 * Applies pending migrations, then returns a connected client for `config.databaseUrl`: SQLite for
 * `file:` URLs (directory created on demand; WAL mode, a busy timeout of {@link SQLITE_BUSY_TIMEOUT_MS}), PostgreSQL for `postgres:`/`postgresql:`. An
 * unreachable PostgreSQL rejects within about `config.startupProbeTimeoutMs` with
 * `AppError('UNAVAILABLE')` whose one-line message names DATABASE_URL (password redacted) and the reason.
 * Call `db.$disconnect()` when done.
 */
export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'startupProbeTimeoutMs'>,
): Promise<Db> {
  const target = parseDatabaseUrl(config.databaseUrl);
  await migrate(config.databaseUrl, { connectTimeoutMs: config.startupProbeTimeoutMs });
  if (target.provider === 'sqlite') {
    // Several processes share the file (the services of `alignda up`): a writer waits up to the busy timeout for
    // another's lock rather than failing at once.
    const db = new SqliteClient({
      adapter: new PrismaBetterSqlite3({ url: target.file, timeout: SQLITE_BUSY_TIMEOUT_MS }),
    });
    await db.$connect();
    // WAL: readers never block the writer and a commit is one append, not a rollback-journal rewrite (about 6x
    // faster per insert here); synchronous stays FULL, so an acknowledged job survives a power cut.
    await db.$queryRawUnsafe('PRAGMA journal_mode = WAL');
    return db;
  }
  const pg = new PostgresClient({
    adapter: new PrismaPg({
      connectionString: target.url,
      connectionTimeoutMillis: config.startupProbeTimeoutMs,
    }),
  });
  try {
    await pg.$connect();
  } catch (err) {
    await pg.$disconnect().catch(() => undefined);
    throw databaseUnavailable(target.url, err);
  }
  // Same generated model API from the same models.prisma; only provider-specific extras differ.
  return pg as unknown as Db;
}

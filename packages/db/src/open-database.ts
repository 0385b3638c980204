import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { Config } from '@alignda/config';
import { databaseUnavailable, parseDatabaseUrl } from './database-url.js';
import { migrate } from './migrate.js';
import { PrismaClient as PostgresClient } from './generated/postgresql/client.js';
import { PrismaClient as SqliteClient } from './generated/sqlite/client.js';

/**
 * A connected registry client. Both providers are generated from one data model
 * (prisma/models.prisma), so they share this model API; the type is the SQLite client's, the
 * common subset (no PostgreSQL-only filters such as `mode: 'insensitive'`).
 */
export type Db = SqliteClient;

/**
 * Applies pending migrations, then returns a connected client for `config.databaseUrl`: SQLite for
 * `file:` URLs (directory created on demand), PostgreSQL for `postgres:`/`postgresql:`. An
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
    const db = new SqliteClient({ adapter: new PrismaBetterSqlite3({ url: target.file }) });
    await db.$connect();
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

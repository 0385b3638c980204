/**
 * Makes a new migration for every provider from the change in prisma/models.prisma, offline.
 * Usage: tsx packages/db/scripts/migration-new.ts <snake_case_name>
 *
 * For each provider it diffs the schema snapshot saved with the latest migration against the
 * freshly rendered provider schema (Prisma's schema engine, as WebAssembly; no database needed) and
 * writes migrations/<provider>/<NNNN>_<name>/{migration.sql,schema.prisma}. Review the SQL before
 * committing (renames show up as drop + add). Then regenerate the clients (generate-clients.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { listMigrations } from '../src/migrate.js';
import {
  MODELS_PATH,
  PROVIDERS,
  migrationsDir,
  renderSchema,
  schemaPath,
} from '../src/internal/schema-render.js';
import { diffSchemas } from './schema-engine.js';

const name = process.argv[2];
if (name === undefined || !/^[a-z][a-z0-9_]*$/.test(name)) {
  console.error('usage: tsx packages/db/scripts/migration-new.ts <snake_case_name>');
  process.exit(2);
}

const models = readFileSync(MODELS_PATH, 'utf8');
for (const provider of PROVIDERS) {
  const schema = renderSchema(models, provider);
  writeFileSync(schemaPath(provider), schema); // keep the rendered schema in step
  const dir = migrationsDir(provider);
  const existing = existsSync(dir) ? listMigrations(dir) : [];
  const last = existing.at(-1);
  const previous =
    last === undefined ? null : readFileSync(path.join(dir, last.name, 'schema.prisma'), 'utf8');
  const sql = await diffSchemas(provider, previous, schema);
  if (sql.trim() === '') {
    console.log(`${provider}: no change since ${last?.name ?? 'an empty database'}`);
    continue;
  }
  const folder = path.join(dir, `${String(existing.length + 1).padStart(4, '0')}_${name}`);
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, 'migration.sql'), sql);
  writeFileSync(path.join(folder, 'schema.prisma'), schema);
  console.log(`${provider}: wrote ${path.relative(process.cwd(), folder)}`);
}

import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The database engines alignda runs on. */
export const PROVIDERS = ['sqlite', 'postgresql'] as const;
/** One of {@link PROVIDERS}. */
export type Provider = (typeof PROVIDERS)[number];

/** packages/db, absolute. */
export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The provider-independent data model. */
export const MODELS_PATH = path.join(PACKAGE_DIR, 'prisma/models.prisma');

/** Where the rendered schema of `provider` lives. */
export function schemaPath(provider: Provider): string {
  return path.join(PACKAGE_DIR, 'prisma', provider, 'schema.prisma');
}

/** Where the migrations of `provider` live: one folder per migration holding migration.sql. */
export function migrationsDir(provider: Provider): string {
  return path.join(PACKAGE_DIR, 'migrations', provider);
}

/** The provider schema: a generated-file banner, generator and datasource blocks, then the models verbatim. */
export function renderSchema(models: string, provider: Provider): string {
  return `// GENERATED from ../models.prisma by packages/db/scripts/render-schemas.ts. Do not edit.

generator client {
  provider     = "prisma-client"
  output       = "../../src/generated/${provider}"
  moduleFormat = "esm"
  importFileExtension = "js"
}

datasource db {
  provider = "${provider}"
}

${models}`;
}

/**
 * Renders the provider schemas and regenerates both Prisma clients into src/generated/<provider>.
 * Prisma's CLI wants its native schema engine even for `generate`, which does not use it; it cannot
 * be downloaded offline, so PRISMA_SCHEMA_ENGINE_BINARY points at an empty placeholder.
 * Usage: tsx packages/db/scripts/generate-clients.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { MODELS_PATH, PROVIDERS, renderSchema, schemaPath } from '../src/internal/schema-render.js';

const require = createRequire(import.meta.url);
const prismaCli = path.join(path.dirname(require.resolve('prisma/package.json')), 'build/index.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'alignda-prisma-'));
const placeholder = path.join(tmp, 'schema-engine');
writeFileSync(placeholder, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
try {
  const models = readFileSync(MODELS_PATH, 'utf8');
  for (const provider of PROVIDERS) {
    writeFileSync(schemaPath(provider), renderSchema(models, provider));
    execFileSync(process.execPath, [prismaCli, 'generate', '--schema', schemaPath(provider)], {
      stdio: 'inherit',
      env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: placeholder, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    });
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

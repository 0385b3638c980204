import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listMigrations } from './migrate.js';
import {
  MODELS_PATH,
  PACKAGE_DIR,
  PROVIDERS,
  migrationsDir,
  renderSchema,
  schemaPath,
} from './internal/schema-render.js';

const models = readFileSync(MODELS_PATH, 'utf8');
const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** The schema text Prisma embedded in a generated client (`inlineSchema` in internal/class.ts). */
function inlineSchemaOf(provider: string): string {
  const file = path.join(PACKAGE_DIR, 'src/generated', provider, 'internal/class.ts');
  const match = /"inlineSchema": ("(?:[^"\\]|\\.)*")/.exec(readFileSync(file, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`no inlineSchema in ${file}`);
  return JSON.parse(match[1]) as string;
}

describe.each(PROVIDERS)('the %s artefacts', (provider) => {
  const rendered = renderSchema(models, provider);

  it('have a provider schema rendered from the current models.prisma (else: npm run generate -w packages/db)', () => {
    expect(readFileSync(schemaPath(provider), 'utf8')).toBe(rendered);
  });

  it('have a committed client generated from that schema (else: npm run generate -w packages/db)', () => {
    expect(squash(inlineSchemaOf(provider))).toBe(squash(rendered));
  });

  it('have a latest migration whose schema snapshot is the current schema (else: npm run migration:new -w packages/db -- <name>)', () => {
    const latest = listMigrations(migrationsDir(provider)).at(-1);
    expect(latest, 'no migrations').toBeDefined();
    const snapshot = readFileSync(
      path.join(migrationsDir(provider), latest?.name ?? '', 'schema.prisma'),
      'utf8',
    );
    expect(squash(snapshot.split('datasource db')[1] ?? '')).toBe(
      squash(rendered.split('datasource db')[1] ?? ''),
    );
  });
});

describe('migrations', () => {
  it('exist under the same names for every provider', () => {
    const names = PROVIDERS.map((p) => listMigrations(migrationsDir(p)).map((m) => m.name));
    expect(names[0]?.length).toBeGreaterThan(0);
    for (const n of names) expect(n).toEqual(names[0]);
  });
});

/**
 * Loads Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm) without Node's
 * experimental ESM-wasm flag, and diffs two provider schemas into SQL. Nothing is written to any
 * database. The engine insists on a driver adapter it can connect to: an in-memory SQLite for
 * sqlite; for postgresql any reachable server (ALIGNDA_MIGRATION_POSTGRES_URL, default
 * postgresql://postgres@127.0.0.1:5432/postgres), only connected to, never changed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { Provider } from '../src/internal/schema-render.js';

interface WasmBindings {
  __wbg_set_wasm(exports: Record<string, unknown>): void;
  SchemaEngine: {
    new: (
      options: { datamodels: [string, string][] },
      log: (line: string) => void,
      adapter: object,
    ) => Promise<Engine>;
  };
}
type DiffTarget = { tag: 'empty' } | { tag: 'schemaDatamodel'; files: { path: string; content: string }[] };
interface Engine {
  diff(params: {
    from: DiffTarget;
    to: DiffTarget;
    script: boolean;
    exitCode: boolean | null;
    filters: { externalTables: string[]; externalEnums: string[] };
  }): Promise<{ exitCode: number; stdout: string | null }>;
  free(): void;
}

/** The part of the WebAssembly global used here (lib ES2022 without DOM does not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => {
    exports: Record<string, unknown>;
  };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let loaded: Promise<WasmBindings> | undefined;

/** Loads the engine once per process (the glue module is a singleton). */
function loadEngineBindings(): Promise<WasmBindings> {
  loaded ??= instantiate();
  return loaded;
}

async function instantiate(): Promise<WasmBindings> {
  // The engine reports Rust panics through this global; without it a panic hides its message.
  (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown }).PRISMA_WASM_PANIC_REGISTRY = {
    set_message: (message: string) => {
      throw new Error(`Prisma schema engine panicked: ${message}`);
    },
  };
  const bgUrl = import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const dir = path.dirname(fileURLToPath(bgUrl));
  const bindings = (await import(bgUrl)) as WasmBindings & Record<string, unknown>;
  const module = new Wasm.Module(readFileSync(path.join(dir, 'schema_engine_bg.wasm')));
  // The wasm imports every glue function from "./schema_engine_bg.js".
  const instance = new Wasm.Instance(module, {
    './schema_engine_bg.js': bindings,
  });
  bindings.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return bindings;
}

/**
 * The SQL that turns a database built by `fromSchema` (or an empty one) into one matching `toSchema`.
 * Returns '' when the schemas describe the same database.
 */
export async function diffSchemas(
  provider: Provider,
  fromSchema: string | null,
  toSchema: string,
): Promise<string> {
  const { SchemaEngine } = await loadEngineBindings();
  const placeholder =
    provider === 'sqlite'
      ? new PrismaBetterSqlite3({ url: ':memory:' })
      : new PrismaPg({
          connectionString:
            process.env.ALIGNDA_MIGRATION_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
        });
  const engine = await SchemaEngine.new(
    { datamodels: [['schema.prisma', toSchema]] },
    () => undefined,
    bindMigrationAwareSqlAdapterFactory(placeholder),
  );
  try {
    const target = (content: string): DiffTarget => ({
      tag: 'schemaDatamodel',
      files: [{ path: 'schema.prisma', content }],
    });
    const result = await engine.diff({
      from: fromSchema === null ? { tag: 'empty' } : target(fromSchema),
      to: target(toSchema),
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    const sql = result.stdout ?? '';
    return sql.includes('This is an empty migration.') ? '' : sql;
  } finally {
    engine.free();
  }
}

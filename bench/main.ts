/**
 * Benchmark entry point: `npm run bench -- <name> [args...]` runs the `main(args)` export of
 * bench/<name>.ts. To add a benchmark, create bench/<name>.ts exporting
 * `export async function main(args: readonly string[]): Promise<void>`; no registration needed.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shape every bench/<name>.ts module exports. */
export interface BenchModule {
  main(args: readonly string[]): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Names of the runnable benchmarks: files bench/<name>.ts with a lower-case name and no dash helper suffix. */
function available(): string[] {
  return readdirSync(here)
    .filter((f) => /^[a-z][a-z0-9_]*\.ts$/.test(f) && f !== 'main.ts' && !f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function run(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const names = available();
  if (name === undefined || !names.includes(name)) {
    console.error(`usage: npm run bench -- <name> [args...]\navailable: ${names.join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const mod = (await import(`./${name}.js`)) as Partial<BenchModule>;
  if (typeof mod.main !== 'function') throw new Error(`bench/${name}.ts does not export main(args)`);
  await mod.main(args);
}

run().catch((err: unknown) => {
  console.error(err instanceof Error ? `bench: ${err.message}` : err);
  process.exitCode = 1;
});

/**
 * What the deployment files are matched against, read from the code rather than copied into the test:
 *
 * - the `alignda` commands and their flags, and the services `alignda serve` accepts, from the CLI itself (its help,
 *   and its refusal of an unknown service; nothing may import packages/cli);
 * - each service's environment: every function its `main.ts` hands `process.env` to (`loadConfig()`,
 *   `parseServiceArgs(argv, process.env, ...)`, `loadOrchestratorEnv(process.env)`, ...), imported from where main.ts
 *   imports it and called with an environment that records which variables it reads;
 * - each gRPC service's default port (the constant main.ts passes as `defaultPort`), whether it needs a model folder,
 *   whether it opens the database or connects to Redis.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadConfig } from '@alignda/config';

/** The repository root. */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** A function that reads an environment (and may throw on a bad or missing value). */
export type EnvReader = (env: NodeJS.ProcessEnv) => unknown;

/** One service of `alignda serve`, as its main.ts starts it. */
export interface ServiceFacts {
  readonly name: string;
  /** The functions main.ts hands the environment to, by name. */
  readonly readers: ReadonlyMap<string, EnvReader>;
  /** Every variable those functions read. */
  readonly envReads: ReadonlySet<string>;
  /** Set when main.ts parses the shared service flags (packages/rpc parseServiceArgs): a gRPC service. */
  readonly grpc: { readonly defaultPort: number; readonly requireModelDir: boolean } | undefined;
  /** main.ts listens on `config.httpPort` (HTTP_PORT). */
  readonly http: boolean;
  readonly opensDatabase: boolean;
  readonly usesRedis: boolean;
}

/** Everything tests/deploy matches the files against. */
export interface CodeFacts {
  /** `alignda`'s top-level commands. */
  readonly commands: ReadonlySet<string>;
  /** The services `alignda serve` accepts, in its order. */
  readonly services: readonly string[];
  readonly byService: ReadonlyMap<string, ServiceFacts>;
  /** What the CLI's own commands (check, train, world, ...) read: packages/config's variables. */
  readonly cliEnvReads: ReadonlySet<string>;
  /** Every variable any of the above reads. */
  readonly knownEnv: ReadonlySet<string>;
  /** The flags of `alignda <path...> --help`, e.g. `['world', 'generate']` -> --seed, --years, --out, ... */
  readonly flagsOf: (commandPath: readonly string[]) => Promise<ReadonlySet<string>>;
}

/** Runs the CLI (as the image's `alignda` does) and returns its exit status and output. */
export function runCli(args: readonly string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(REPO, 'packages/cli/src/main.ts'), ...args],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, out }));
  });
}

/** The entries of a commander help section (`Commands:`, `Options:`), one per line that starts a new entry. */
function helpSection(help: string, title: string): string[] {
  const start = help.indexOf(`\n${title}:\n`);
  if (start < 0) return [];
  const body = help.slice(start + title.length + 3).split(/\n(?=\S)/)[0] ?? '';
  return body
    .split('\n')
    .filter((l) => /^ {2}\S/.test(l))
    .map((l) => l.trim());
}

/**
 * The names a reader reads from `env`. It is called with an environment in which every variable is unset; a reader
 * that throws on a missing value (a required model folder) has read its variables by then, since each reader of this
 * code base collects every problem before it throws.
 */
export function envReads(reader: EnvReader): Set<string> {
  const names = new Set<string>();
  const env = new Proxy<NodeJS.ProcessEnv>(
    {},
    {
      get: (_t, p) => {
        if (typeof p === 'string') names.add(p);
        return undefined;
      },
      has: (_t, p) => {
        if (typeof p === 'string') names.add(p);
        return false;
      },
    },
  );
  try {
    reader(env);
  } catch {
    // see above
  }
  return names;
}

/** The arguments of the call `name(...)` starting at `from` in `source`, split at top-level commas. */
function callArguments(source: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = open; i < source.length; i++) {
    const c = source[i] ?? '';
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) depth--;
    if (depth === 0) break;
    if (depth === 1 && c === ',') {
      args.push(current.trim());
      current = '';
    } else if (!(depth === 1 && c === '(' && i === open)) current += c;
  }
  if (current.trim() !== '') args.push(current.trim());
  return args;
}

/** main.ts's named imports: local name -> module specifier and exported name. */
function namedImports(source: string): Map<string, { spec: string; exported: string }> {
  const imports = new Map<string, { spec: string; exported: string }>();
  for (const m of source.matchAll(/import\s+(?!type\b)\{([^}]*)\}\s+from\s+'([^']+)'/g))
    for (const part of (m[1] ?? '').split(',')) {
      const [exported, local] = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/);
      if (exported !== undefined && exported !== '' && !part.trim().startsWith('type '))
        imports.set(local ?? exported, { spec: m[2] ?? '', exported });
    }
  return imports;
}

/** Imports `local` as main.ts (in `dir`) imports it. */
async function importAs(
  dir: string,
  imports: Map<string, { spec: string; exported: string }>,
  local: string,
): Promise<unknown> {
  const from = imports.get(local);
  if (from === undefined) throw new Error(`${local} is not imported by name in ${dir}/main.ts`);
  const spec = from.spec.startsWith('.') ? path.resolve(dir, from.spec.replace(/\.js$/, '.ts')) : from.spec;
  const module = (await import(spec)) as Record<string, unknown>;
  return module[from.exported];
}

/** One service's facts from its `services/<name>/src/main.ts`. */
async function serviceFacts(name: string): Promise<ServiceFacts> {
  const dir = path.join(REPO, 'services', name, 'src');
  const source = readFileSync(path.join(dir, 'main.ts'), 'utf8');
  const imports = namedImports(source);
  const readers = new Map<string, EnvReader>();
  // `f(..., process.env, ...)`, and `loadX()` whose parameter defaults to process.env (loadConfig, loadGatewayLimits).
  for (const m of source.matchAll(/\b([A-Za-z_$][\w$]*)\(/g)) {
    const fn = m[1] ?? '';
    const args = callArguments(source, (m.index ?? 0) + fn.length);
    const envAt = args.indexOf('process.env');
    if (envAt < 0 && !(args.length === 0 && /^load[A-Z]/.test(fn) && imports.has(fn))) continue;
    const f = await importAs(dir, imports, fn);
    if (typeof f !== 'function') throw new Error(`${name}: ${fn} is not a function`);
    // The other arguments: no command-line flags, an empty options object.
    const call = (env: NodeJS.ProcessEnv): unknown =>
      (f as (...a: unknown[]) => unknown)(
        ...(envAt < 0
          ? [env]
          : args.map((a, i) => (i === envAt ? env : a.includes('process.argv') ? [] : {}))),
      );
    readers.set(fn, call);
  }
  const reads = new Set([...readers.values()].flatMap((r) => [...envReads(r)]));
  let grpc: ServiceFacts['grpc'];
  if (readers.has('parseServiceArgs')) {
    const constant = /defaultPort:\s*([A-Za-z_$][\w$]*)/.exec(source)?.[1];
    if (constant === undefined) throw new Error(`${name}: main.ts passes no defaultPort constant`);
    const port = await importAs(dir, imports, constant);
    if (typeof port !== 'number') throw new Error(`${name}: ${constant} is not a number`);
    grpc = { defaultPort: port, requireModelDir: /requireModelDir:\s*true/.test(source) };
  }
  return {
    name,
    readers,
    envReads: reads,
    grpc,
    http: /config\.httpPort/.test(source),
    opensDatabase: /\bopenDatabase\(/.test(source),
    usesRedis: /config\.redisUrl/.test(source),
  };
}

/** Reads every fact (spawns the CLI twice; about 5 s on 2 cores). */
export async function readCodeFacts(): Promise<CodeFacts> {
  const [help, serve] = await Promise.all([runCli(['--help']), runCli(['serve', '--no-such-service--'])]);
  const commands = new Set(helpSection(help.out, 'Commands').map((l) => l.split(/\s/)[0] ?? ''));
  const list = /unknown service '[^']*' \(services: ([^)]*)\)/.exec(serve.out)?.[1];
  if (list === undefined || serve.status !== 64)
    throw new Error(`alignda serve did not list its services: ${serve.out}`);
  const services = list.split(',').map((s) => s.trim());
  const byService = new Map<string, ServiceFacts>();
  for (const name of services) byService.set(name, await serviceFacts(name));
  const cliEnvReads = envReads((env) => loadConfig(env));
  const knownEnv = new Set([...cliEnvReads, ...[...byService.values()].flatMap((s) => [...s.envReads])]);
  const flags = new Map<string, Promise<ReadonlySet<string>>>();
  const flagsOf = (commandPath: readonly string[]): Promise<ReadonlySet<string>> => {
    const key = commandPath.join(' ');
    let found = flags.get(key);
    if (found === undefined) {
      found = runCli([...commandPath, '--help']).then(
        ({ out }) =>
          new Set(
            helpSection(out, 'Options').flatMap((l) =>
              [...l.matchAll(/(?:^|[\s,])(--[a-z][\w-]*)/g)].map((m) => m[1] ?? ''),
            ),
          ),
      );
      flags.set(key, found);
    }
    return found;
  };
  return { commands, services, byService, cliEnvReads, knownEnv, flagsOf };
}

/** Runs the buf CLI from the @bufbuild/buf npm package (offline; no remote plugins or modules). */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** packages/rpc, where buf.gen.yaml lives and whose paths it uses. */
export const RPC_PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
/** The buf module (proto/, with buf.yaml) at the repository root. */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));

/** Exit status and combined output of one buf command. */
export interface BufResult {
  /** Process exit status; null when killed by a signal. */
  readonly status: number | null;
  /** stdout then stderr. */
  readonly output: string;
}

/**
 * Runs `buf <args>` with this Node (the npm package ships a JS launcher for the platform binary).
 * @param args - buf arguments, e.g. ['lint', PROTO_DIR]
 * @param options - working directory and extra PATH entries (where buf finds `local:` plugins)
 */
export function runBuf(
  args: readonly string[],
  options: { cwd?: string; pathPrefix?: string[] } = {},
): BufResult {
  const launcher = require.resolve('@bufbuild/buf/bin/buf');
  const path = [...(options.pathPrefix ?? []), process.env['PATH'] ?? ''].join(
    process.platform === 'win32' ? ';' : ':',
  );
  const result = spawnSync(process.execPath, [launcher, ...args], {
    cwd: options.cwd ?? RPC_PACKAGE_DIR,
    env: { ...process.env, PATH: path },
    encoding: 'utf8',
  });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/**
 * `buf lint` (STANDARD + COMMENTS, see proto/buf.yaml) and `buf format` over a buf module.
 * @param protoDir - the module root, holding buf.yaml. @defaultValue {@link PROTO_DIR}
 * @returns buf's complaints (lint findings, format diffs); empty when clean
 */
export function protoLintProblems(protoDir: string = PROTO_DIR): string[] {
  const problems: string[] = [];
  const lint = runBuf(['lint', protoDir]);
  if (lint.status !== 0) problems.push(`buf lint:\n${lint.output.trim()}`);
  const format = runBuf(['format', '--diff', '--exit-code', protoDir]);
  if (format.status !== 0)
    problems.push(`buf format (run \`npx buf format -w proto\`):\n${format.output.trim()}`);
  return problems;
}

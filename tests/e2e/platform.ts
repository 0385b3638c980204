/**
 * What the end-to-end tests share: `alignda <args>` run as a user runs it, `alignda up` started in its own process
 * group (so that a test stops it and every service it started, even when it hangs), and waiting for a line of its
 * output.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** The CLI's entry point. */
export const MAIN = path.join(REPO, 'packages/cli/src/main.ts');

/** The outcome of one command. */
export interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `alignda <args>` as a user runs it (a fresh node process through main.ts), bounded by `timeoutMs`. */
export function alignda(env: NodeJS.ProcessEnv, args: readonly string[], timeoutMs = 200_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO, env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Resolves with the first match of `pattern` in the child's stdout; rejects when it exits first or time runs out. */
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
): Promise<{ match: RegExpMatchArray; output: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const done = (f: () => void): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onOut);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      f();
    };
    const onOut = (s: string): void => {
      out += s;
      const m = pattern.exec(out);
      if (m !== null) done(() => resolve({ match: m, output: out }));
    };
    const onErr = (s: string): void => {
      err = (err + s).slice(-4000);
    };
    const onExit = (code: number | null): void =>
      done(() => reject(new Error(`alignda up exited (${code}) before ${pattern}:\n${out}\n${err}`)));
    const timer = setTimeout(
      () => done(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${out}\n${err}`))),
      timeoutMs,
    );
    child.stdout?.setEncoding('utf8').on('data', onOut);
    child.stderr?.setEncoding('utf8').on('data', onErr);
    child.once('exit', onExit);
  });
}

/** `alignda up <args>` in a process group of its own, its output piped. */
export function startUp(env: NodeJS.ProcessEnv, args: readonly string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, 'up', ...args], {
    cwd: REPO,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Stops `alignda up` (SIGTERM to its group, SIGKILL after `graceMs`) and anything of its group left behind. */
export async function stopUp(up: ChildProcess | undefined, graceMs = 30_000): Promise<void> {
  if (up?.pid === undefined) return;
  if (up.exitCode === null && up.signalCode === null) {
    const exited = new Promise<void>((resolve) => up.once('exit', () => resolve()));
    process.kill(-up.pid, 'SIGTERM');
    const stopped = await Promise.race([
      exited.then(() => true),
      new Promise((r) => setTimeout(r, graceMs, false)),
    ]);
    if (stopped !== true) process.kill(-up.pid, 'SIGKILL');
  }
  try {
    process.kill(-up.pid, 'SIGKILL');
  } catch {
    // none left: the group is gone
  }
}

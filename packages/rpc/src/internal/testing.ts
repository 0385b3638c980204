/**
 * Test fixtures for the gRPC services (not exported from the package; service tests import this file by path): a
 * service's `main.ts` run as a child process, as a supervisor would run it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

import { AppError } from '@alignda/errors';

/** A service process started by {@link spawnServiceMain}. */
export interface SpawnedService {
  readonly child: ChildProcess;
  /** `host:port` from the process's `serving` log line. */
  readonly address: string;
  /** Everything the process wrote so far, stdout and stderr. */
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>;
}

/**
 * Runs `node --import tsx <script> <args>` from `cwd` and waits for its `serving` log line (pino JSON on stdout with
 * `address`).
 * @param timeoutMs - how long start-up may take. @defaultValue 60000
 * @throws AppError DEADLINE_EXCEEDED or UNAVAILABLE, with the process's output, when it does not start serving
 */
export async function spawnServiceMain(
  script: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number },
): Promise<SpawnedService> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // The caller gets no handle on a process that did not start: stop it here.
      child.kill('SIGKILL');
      reject(new AppError('DEADLINE_EXCEEDED', `${script} did not start serving:\n${text}`));
    }, options.timeoutMs ?? 60_000);
    let stdout = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      stdout += chunk.toString('utf8');
      // Whole lines only: a chunk may end inside one.
      for (const line of stdout.split('\n').slice(0, -1)) {
        if (!line.startsWith('{')) continue;
        const parsed = JSON.parse(line) as { msg?: string; address?: string };
        if (parsed.msg === 'serving' && parsed.address !== undefined) {
          clearTimeout(timer);
          resolve(parsed.address);
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new AppError('UNAVAILABLE', `${script} exited (${code}) before serving:\n${text}`));
    });
  });
  return { child, address, output: () => text, exited };
}

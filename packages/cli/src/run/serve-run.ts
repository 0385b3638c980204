/**
 * `alignda serve <service>` as a CLI run: one service of the platform in the foreground, started as `alignda up`
 * starts it (node with tsx's loader on `services/<service>/src/main.ts`, the registry and home made absolute), its
 * output on this terminal, Ctrl-C / SIGTERM passed on, and its exit status returned.
 */
import { spawn } from 'node:child_process';

import { loadConfig } from '@alignda/config';
import { AppError } from '@alignda/errors';

import { SERVICE_NAMES, serviceCommand } from './supervisor.js';
import type { ServiceName } from './supervisor.js';
import { configEnv } from './up-run.js';

/** Whether `name` is a service `serve` can run. */
export function isServiceName(name: string): name is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(name);
}

/**
 * Runs `service` with `args` (its own flags, e.g. `--model-dir models/qg-ci-model --port 50051`) until it exits.
 * @returns its exit status (128 + the signal number when a signal ended it)
 * @throws AppError INVALID_ARGUMENT for an unknown service
 */
export async function runServe(service: string, args: readonly string[]): Promise<number> {
  if (!isServiceName(service))
    throw new AppError(
      'INVALID_ARGUMENT',
      `unknown service '${service}' (services: ${SERVICE_NAMES.join(', ')})`,
    );
  const config = loadConfig();
  const child = spawn(process.execPath, serviceCommand(service, args), {
    env: { ...process.env, ...configEnv(config) },
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  // The service drains on these; this process waits for it.
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
        resolve(code ?? 128 + (signal === null ? 0 : (signals[signal] ?? 0)));
      });
    });
  } finally {
    process.removeListener('SIGINT', forward);
    process.removeListener('SIGTERM', forward);
  }
}

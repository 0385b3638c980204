/**
 * `alignda up`'s supervision of its children: each service a child process with its log appended to a file, waited
 * for until it answers (gRPC health SERVING, or the gateway's /readyz), restarted with a growing delay (1, 2, 4 ... s)
 * when it exits on its own, and stopped together (SIGTERM, then SIGKILL after the drain time). A service that exits
 * before the platform was ever ready, or more than `restartsPerMinute` times in a minute, stops the whole run with
 * its log's tail.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { AppError } from '@alignda/errors';
import { checkHealth } from '@alignda/rpc';

/** The services, in the order they are listed; all start at once and each is waited for. */
export const SERVICE_NAMES = [
  'ingest',
  'encoder',
  'sampler',
  'forecast',
  'reward',
  'orchestrator',
  'cycler',
  'trainer',
  'gateway',
] as const;
/** One of {@link SERVICE_NAMES}. */
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The repository the CLI runs from: the services' entry points live beside it. */
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** How a service process is started: node with tsx's loader on its `src/main.ts` (what `npm run` scripts do). */
export function serviceCommand(name: ServiceName, args: readonly string[] = []): readonly string[] {
  const main = path.join(REPO_ROOT, 'services', name, 'src', 'main.ts');
  return ['--import', import.meta.resolve('tsx'), main, ...args];
}

/** One supervised service. */
export interface Running {
  readonly name: ServiceName;
  /** The name it is listed, logged and restarted under: the service's, `sampler-2` for a second replica. */
  readonly label: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
  /** `host:port` (gRPC) or the gateway's base URL. */
  readonly address: string;
  child: ChildProcess;
  /** When it was restarted, ms since the epoch (the last minute's). */
  restarts: number[];
}

/** The last lines of a log file, for an error message. */
export function tail(file: string, lines = 12): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts `name` (listed as `label`) with its log appended to `logFile`. */
function startChild(name: ServiceName, label: string, env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  writeSync(fd, `--- alignda up: ${label} starting at ${new Date().toISOString()} ---\n`);
  const child = spawn(process.execPath, serviceCommand(name), { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

/** Whether a started service answers: gRPC health SERVING, or the gateway's /readyz 200. */
export async function healthy(s: Running): Promise<boolean> {
  if (s.name === 'gateway')
    return fetch(`${s.address}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status === 200,
      () => false,
    );
  return checkHealth(s.address, '', { deadlineMs: 1000 }).then(
    (status) => status === 'SERVING',
    () => false,
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Options of {@link createSupervisor}. */
export interface SupervisorOptions {
  readonly logsDir: string;
  readonly print: (line: string) => void;
  /** Restarts of one service within a minute before the run gives up. @defaultValue 3 */
  readonly restartsPerMinute?: number;
  /** Called once when a service cannot be kept up; the run stops. */
  readonly onFatal: (err: AppError) => void;
}

/** A supervisor of a run's services. */
export interface Supervisor {
  /** Starts a service and watches it. */
  launch(name: ServiceName, label: string, env: NodeJS.ProcessEnv, address: string): Running;
  /**
   * Waits until every service answers; from then on an exit is restarted.
   * @returns the services still silent at `deadline` (empty when all answer), or undefined when stopped meanwhile
   */
  waitReady(deadline: number, stopped: () => boolean): Promise<Running[] | undefined>;
  /** Stops every service: SIGTERM, then SIGKILL after `killAfterMs`; no restarts from now on. */
  stop(killAfterMs?: number): Promise<void>;
}

/** A supervisor; see the module comment. */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const limit = options.restartsPerMinute ?? 3;
  const services: Running[] = [];
  let ready = false;
  let stopping = false;

  const watch = (s: Running): void => {
    s.child.once('exit', (code, signal) => {
      if (stopping) return;
      const why = `${s.label} exited (${signal ?? `status ${code}`})`;
      const now = Date.now();
      s.restarts = s.restarts.filter((t) => now - t < 60_000);
      if (!ready || s.restarts.length >= limit) {
        options.onFatal(
          new AppError('UNAVAILABLE', `${why}; its log (${s.logFile}) ends:\n${tail(s.logFile)}`),
        );
        return;
      }
      s.restarts.push(now);
      const delayMs = 1000 * 2 ** (s.restarts.length - 1);
      options.print(`${why}: restarting it in ${delayMs / 1000} s (log ${s.logFile})`);
      setTimeout(() => {
        if (stopping) return;
        s.child = startChild(s.name, s.label, s.env, s.logFile);
        watch(s);
      }, delayMs);
    });
  };

  return {
    launch: (name, label, env, address) => {
      const logFile = path.join(options.logsDir, `${label}.log`);
      const s: Running = {
        name,
        label,
        env,
        logFile,
        address,
        child: startChild(name, label, env, logFile),
        restarts: [],
      };
      services.push(s);
      watch(s);
      return s;
    },
    waitReady: async (deadline, stopped) => {
      const waiting = new Set(services);
      while (waiting.size > 0) {
        if (stopped()) return undefined;
        for (const s of [...waiting]) if (await healthy(s)) waiting.delete(s);
        if (waiting.size === 0) break;
        if (Date.now() > deadline) return [...waiting];
        await sleep(300);
      }
      if (stopped()) return undefined;
      ready = true;
      return [];
    },
    stop: async (killAfterMs = 20_000) => {
      stopping = true;
      await Promise.all(
        services.map(
          (s) =>
            new Promise<void>((resolve) => {
              const c = s.child;
              if (c.exitCode !== null || c.signalCode !== null) {
                resolve();
                return;
              }
              const kill = setTimeout(() => c.kill('SIGKILL'), killAfterMs);
              c.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              c.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

/**
 * Test services. The tests talk to a real Redis: the one at REDIS_URL (default 127.0.0.1:6379) when it
 * answers, otherwise a throwaway `redis-server` started here on a free port (when the binary exists).
 * When neither is possible, ALIGNDA_TEST_REDIS_URL stays unset and Redis tests skip with a message that
 * says how to run them. PostgreSQL tests use ALIGNDA_TEST_POSTGRES_URL and skip when it is unreachable
 * (`bash .ci/run` installs and starts both).
 */
let redis: ChildProcess | undefined;

function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function setup(): Promise<void> {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  if (await reachable(url.hostname, Number(url.port || 6379))) {
    process.env.ALIGNDA_TEST_REDIS_URL = url.toString();
    return;
  }
  if (spawnSync('redis-server', ['--version']).status !== 0) return;
  const port = await freePort();
  redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 50 && !(await reachable('127.0.0.1', port)); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  process.env.ALIGNDA_TEST_REDIS_URL = `redis://127.0.0.1:${port}`;
}

export function teardown(): void {
  redis?.kill();
}

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '@alignda/errors';
import { probeRedis } from './probe-redis.js';

/** Set by tests/global-setup.ts: a reachable Redis (the configured one, or one it started). */
const REDIS_URL = process.env.ALIGNDA_TEST_REDIS_URL;

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let silentServer: net.Server | undefined;
afterEach(async () => {
  const server = silentServer;
  silentServer = undefined;
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const err: unknown = await promise.then(
    () => new Error('expected probeRedis to reject'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('probeRedis', () => {
  it.skipIf(REDIS_URL === undefined)(
    'resolves against the real Redis (skipped: no Redis reachable and no redis-server to start)',
    async () => {
      await expect(probeRedis(REDIS_URL ?? '', 5000)).resolves.toBeUndefined();
    },
  );

  it('rejects a closed port with UNAVAILABLE naming REDIS_URL and the reason', async () => {
    const port = await closedPort();
    const err = await rejection(probeRedis(`redis://:hunter2@127.0.0.1:${port}`, 2000));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(
      new RegExp(`^REDIS_URL redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port} is unreachable: .*ECONNREFUSED`),
    );
    expect(err.message).not.toContain('hunter2');
    expect(err.message).not.toContain('\n');
  });

  it('rejects a server that accepts but never answers within the timeout', async () => {
    const sockets: net.Socket[] = [];
    silentServer = net.createServer((s) => sockets.push(s)); // accepts and stays silent
    silentServer.on('close', () => sockets.forEach((s) => s.destroy()));
    await new Promise<void>((resolve) => silentServer?.listen(0, '127.0.0.1', resolve));
    const { port } = silentServer.address() as net.AddressInfo;
    const err = await rejection(probeRedis(`redis://127.0.0.1:${port}`, 300));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toContain(`REDIS_URL redis://127.0.0.1:${port} is unreachable`);
    sockets.forEach((s) => s.destroy());
  });

  it('rejects a non-positive timeout as INVALID_ARGUMENT', async () => {
    expect((await rejection(probeRedis('redis://127.0.0.1:6379', 0))).code).toBe('INVALID_ARGUMENT');
  });
});

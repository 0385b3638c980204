/**
 * The probe of docker-compose.yml's healthchecks (`alignda-health` in the image: packages/rpc/scripts/health-check.ts)
 * run as the image runs it, against a real grpc.health.v1 server and a real HTTP server: 0 only for SERVING or 200.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startGrpcService } from '@alignda/rpc';
import type { GrpcService } from '@alignda/rpc';

import { REPO } from './code-facts.js';
import { IMAGE_COMMANDS } from './dockerfile-checks.js';

/** Runs the probe on `target`: its exit status and what it printed. */
function probe(...args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(REPO, IMAGE_COMMANDS['alignda-health']), ...args],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, out }));
  });
}

let grpc: GrpcService;
let web: http.Server;
let webUrl: string;
beforeAll(async () => {
  grpc = await startGrpcService([], { host: '127.0.0.1', port: 0 });
  web = http.createServer((req, res) => {
    res.statusCode = req.url === '/readyz' ? 200 : 503;
    res.end();
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
});
afterAll(async () => {
  grpc.running.server.forceShutdown();
  await new Promise<void>((resolve) => web.close(() => resolve()));
});

describe('alignda-health', () => {
  it('fails a gRPC server that is not serving yet, then passes it once it serves', async () => {
    grpc.setNotServing();
    const before = await probe(grpc.address);
    expect(before.status).toBe(1);
    expect(before.out).toContain('NOT_SERVING');
    grpc.setServing();
    expect(await probe(grpc.address)).toEqual({ status: 0, out: '' });
  });

  it('fails a port where nothing listens, with one line saying so', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { status, out } = await probe(`127.0.0.1:${port}`);
    expect(status).toBe(1);
    expect(out).toMatch(/^unhealthy: 127\.0\.0\.1:\d+: .*UNAVAILABLE/);
  });

  it('passes an HTTP 200 and fails any other status', async () => {
    expect((await probe(`${webUrl}/readyz`)).status).toBe(0);
    const down = await probe(`${webUrl}/other`);
    expect(down.status).toBe(1);
    expect(down.out).toContain('answered HTTP 503');
  });

  it('refuses a missing or malformed target with status 64', async () => {
    expect((await probe()).status).toBe(64);
    expect((await probe('not a target')).status).toBe(64);
  });
});

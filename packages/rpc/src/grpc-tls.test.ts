import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGrpcService, type GrpcService } from './grpc-service.js';
import { GRPC_TLS_VARIABLES, grpcClientSecurity, grpcServerCredentials, grpcTlsFromEnv } from './grpc-tls.js';
import { checkHealth } from './health-client.js';

/** `null` when openssl runs, else why not (the TLS suite is skipped with it). */
function opensslProblem(): string | null {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const problem = opensslProblem();
const SKIP = problem === null ? '' : ` (SKIPPED: openssl does not run: ${problem})`;

/** The name in the test certificate, and the only one: a client reaching 127.0.0.1 must be told to expect it. */
const SERVER_NAME = 'alignda-services';

/**
 * A throwaway CA and one certificate signed by it (EC P-256, one day), usable as server and client certificate, as
 * infra/k8s mounts one secret into every pod. Returns the folder with ca.crt, tls.crt, tls.key and a second CA.
 */
function makeCertificates(dir: string): void {
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca'])
    ssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
      '-days',
      '1',
      '-subj',
      `/CN=${ca}`,
    );
  ssl('req', ...ec, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', `/CN=${SERVER_NAME}`);
  writeFileSync(
    path.join(dir, 'ext.cnf'),
    `subjectAltName=DNS:${SERVER_NAME}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`,
  );
  ssl(
    'x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'tls.crt', '-days', '1', '-extfile', 'ext.cnf',
  ); // prettier-ignore
}

const V = GRPC_TLS_VARIABLES;

/** Runs `f` with the TLS variables of process.env set to `values` (the rest unset), then restores them. */
async function withTlsEnv<T>(
  values: Partial<Record<keyof typeof V, string>>,
  f: () => Promise<T>,
): Promise<T> {
  const saved = Object.fromEntries(Object.values(V).map((name) => [name, process.env[name]]));
  for (const [k, name] of Object.entries(V)) {
    const value = values[k as keyof typeof V];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return await f();
  } finally {
    for (const [name, value] of Object.entries(saved))
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  }
}

describe.skipIf(problem !== null)(`gRPC over TLS from the environment${SKIP}`, () => {
  let dir = '';
  let service: GrpcService | undefined;
  const file = (name: string): string => path.join(dir, name);
  const mutual = (): Partial<Record<keyof typeof V, string>> => ({
    cert: file('tls.crt'),
    key: file('tls.key'),
    ca: file('ca.crt'),
    serverName: SERVER_NAME,
  });

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'alignda-tls-'));
    makeCertificates(dir);
  });
  afterEach(async () => {
    await service?.drain({ graceMs: 100 });
    service = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A health-only server started under `env` (as every service's startGrpcService takes its credentials). */
  async function serve(env: Partial<Record<keyof typeof V, string>>): Promise<string> {
    const started = await withTlsEnv(env, () => startGrpcService([], { host: '127.0.0.1', port: 0 }));
    started.setServing();
    service = started;
    return started.address;
  }

  it('answers a health check over mutual TLS when server and client read the same variables', async () => {
    const address = await serve(mutual());
    expect(await withTlsEnv(mutual(), () => checkHealth(address, '', { deadlineMs: 5000 }))).toBe('SERVING');
  });

  it('answers a client that verifies the server but presents no certificate when the server has no CA', async () => {
    const address = await serve({ cert: file('tls.crt'), key: file('tls.key') });
    const status = await withTlsEnv({ ca: file('ca.crt'), serverName: SERVER_NAME }, () =>
      checkHealth(address, '', { deadlineMs: 5000 }),
    );
    expect(status).toBe('SERVING');
  });

  it('refuses a plaintext client, a client without a certificate, and one trusting another CA', async () => {
    const address = await serve(mutual());
    const refused = (env: Partial<Record<keyof typeof V, string>>): Promise<unknown> =>
      withTlsEnv(env, () => checkHealth(address, '', { deadlineMs: 3000 })).then(
        (s) => `answered ${s}`,
        (err: unknown) => err,
      );
    for (const env of [
      {},
      { ca: file('ca.crt'), serverName: SERVER_NAME },
      { ...mutual(), ca: file('other-ca.crt') },
    ])
      expect(await refused(env), JSON.stringify(env)).toMatchObject({ code: status.UNAVAILABLE });
  });

  it("checks the server's name: 127.0.0.1 is not in the certificate unless the expected name is given", async () => {
    const address = await serve(mutual());
    const { serverName: _, ...withoutName } = mutual();
    await expect(
      withTlsEnv(withoutName, () => checkHealth(address, '', { deadlineMs: 3000 })),
    ).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });
});

describe('the TLS variables', () => {
  it('mean plaintext when none is set', () => {
    expect(grpcTlsFromEnv({})).toBeUndefined();
    expect(grpcClientSecurity(undefined).channelOptions).toEqual({});
    expect(grpcServerCredentials(undefined)._isSecure()).toBe(false);
  });

  it('refuse a certificate without its key, naming both variables', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'alignda-tls-'));
    try {
      writeFileSync(path.join(dir, 'tls.crt'), 'not checked here');
      expect(() => grpcTlsFromEnv({ [V.cert]: path.join(dir, 'tls.crt') })).toThrow(
        /ALIGNDA_GRPC_TLS_CERT and ALIGNDA_GRPC_TLS_KEY are set together/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuse a file that cannot be read, naming the variable and the path', () => {
    expect(() => grpcTlsFromEnv({ [V.ca]: '/nonexistent/ca.crt' })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: 'ALIGNDA_GRPC_TLS_CA=/nonexistent/ca.crt cannot be read',
      }) as Error,
    );
  });

  it('refuse a TLS server without a certificate to serve', () => {
    expect(() =>
      grpcServerCredentials({ identity: undefined, ca: Buffer.from('x'), serverName: undefined }),
    ).toThrow(/a TLS server needs ALIGNDA_GRPC_TLS_CERT and ALIGNDA_GRPC_TLS_KEY/);
  });
});

/**
 * Optional TLS between the services, read from the environment in this one place. Every gRPC server
 * (`startGrpcServer`, so `startGrpcService`), client (`createGrpcClient`) and health check (`checkHealth`) that is
 * given no credentials of its own takes them from here, so a process is plaintext or TLS as a whole:
 *
 * - none of the variables set: plaintext, as before (TLS ends at the mesh or the ingress, or there is none);
 * - `ALIGNDA_GRPC_TLS_CERT` + `ALIGNDA_GRPC_TLS_KEY` (PEM files): servers speak TLS with that certificate, and
 *   clients present it as their client certificate;
 * - `ALIGNDA_GRPC_TLS_CA` (a PEM bundle): clients verify servers against it; on a server it also requires and
 *   verifies client certificates (mutual TLS). Without it clients trust the system's roots;
 * - `ALIGNDA_GRPC_TLS_SERVER_NAME`: the name clients check the server certificate against instead of the host of the
 *   address (one certificate for every service; `127.0.0.1` probes).
 *
 * The files are read when a server or client is made, at boot; a missing or unreadable file, or a certificate without
 * its key, is CONFIG_INVALID naming the variable.
 */
import { readFileSync } from 'node:fs';
import { ServerCredentials, credentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { AppError } from '@alignda/errors';

/** The variables read here. */
export const GRPC_TLS_VARIABLES = Object.freeze({
  /** PEM certificate (chain) of this process: served by servers, presented by clients. */
  cert: 'ALIGNDA_GRPC_TLS_CERT',
  /** PEM private key of {@link GRPC_TLS_VARIABLES.cert}. */
  key: 'ALIGNDA_GRPC_TLS_KEY',
  /** PEM CA bundle: clients verify servers with it; servers require client certificates signed by it. */
  ca: 'ALIGNDA_GRPC_TLS_CA',
  /** The name clients expect in the server's certificate. */
  serverName: 'ALIGNDA_GRPC_TLS_SERVER_NAME',
} as const);

/** The TLS material of a process, read from its files. */
export interface GrpcTls {
  /** This process's certificate and key; undefined for a client that presents none. */
  readonly identity: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** The CA bundle; undefined: clients trust the system roots, servers ask for no client certificate. */
  readonly ca: Buffer | undefined;
  /** The name clients check in server certificates; undefined: the address's host. */
  readonly serverName: string | undefined;
}

/** A file named by `variable`, or CONFIG_INVALID naming both. */
function readPem(env: NodeJS.ProcessEnv, variable: string): Buffer | undefined {
  const file = env[variable];
  if (file === undefined || file === '') return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `${variable}=${file} cannot be read`, { cause: err });
  }
}

/**
 * The TLS settings in `env`, or `undefined` when none of {@link GRPC_TLS_VARIABLES} is set (plaintext).
 * @throws AppError `CONFIG_INVALID` for an unreadable file, or a certificate without its key (or the reverse)
 */
export function grpcTlsFromEnv(env: NodeJS.ProcessEnv = process.env): GrpcTls | undefined {
  const v = GRPC_TLS_VARIABLES;
  const cert = readPem(env, v.cert);
  const key = readPem(env, v.key);
  const ca = readPem(env, v.ca);
  const serverName = env[v.serverName] === '' ? undefined : env[v.serverName];
  if ((cert === undefined) !== (key === undefined))
    throw new AppError('CONFIG_INVALID', `${v.cert} and ${v.key} are set together or not at all`);
  if (cert === undefined && ca === undefined && serverName === undefined) return undefined;
  return {
    identity: cert !== undefined && key !== undefined ? { cert, key } : undefined,
    ca,
    serverName,
  };
}

/**
 * A server's credentials: plaintext without TLS settings, else TLS (mutual when a CA is set).
 * @throws AppError `CONFIG_INVALID` when TLS is configured without a certificate and key to serve
 */
export function grpcServerCredentials(tls: GrpcTls | undefined = grpcTlsFromEnv()): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  const v = GRPC_TLS_VARIABLES;
  if (tls.identity === undefined)
    throw new AppError('CONFIG_INVALID', `a TLS server needs ${v.cert} and ${v.key} (only ${v.ca} is set)`);
  return ServerCredentials.createSsl(
    tls.ca ?? null,
    [{ cert_chain: tls.identity.cert, private_key: tls.identity.key }],
    tls.ca !== undefined,
  );
}

/** A client's credentials and the channel options they need (the expected server name). */
export interface GrpcClientSecurity {
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ChannelOptions;
}

/** A client's credentials: plaintext without TLS settings, else TLS with the CA and client certificate given. */
export function grpcClientSecurity(tls: GrpcTls | undefined = grpcTlsFromEnv()): GrpcClientSecurity {
  if (tls === undefined) return { credentials: credentials.createInsecure(), channelOptions: {} };
  return {
    credentials: credentials.createSsl(tls.ca ?? null, tls.identity?.key ?? null, tls.identity?.cert ?? null),
    channelOptions:
      tls.serverName === undefined
        ? {}
        : {
            'grpc.ssl_target_name_override': tls.serverName,
            'grpc.default_authority': tls.serverName,
          },
  };
}

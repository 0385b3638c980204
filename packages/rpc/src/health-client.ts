import { AppError } from '@alignda/errors';
import { Client, Metadata, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { deadlineAfter } from './grpc-client.js';
import { grpcClientSecurity } from './grpc-tls.js';

/** What `grpc.health.v1.Health/Check` answers for a service. */
export type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** Options of {@link checkHealth}. */
export interface CheckHealthOptions {
  /** Deadline of the check, ms. @defaultValue 2000 (a readiness probe's usual timeout) */
  readonly deadlineMs?: number;
}

/**
 * One `grpc.health.v1.Health/Check` of `service` at `address` (`host:port`); `''` asks about the server as a whole.
 * Opens and closes its own channel, plaintext or TLS as the environment says (grpc-tls.ts).
 * @throws the ServiceError of the call: UNAVAILABLE when nothing listens, NOT_FOUND for a service the server does
 *   not know
 */
export async function checkHealth(
  address: string,
  service = '',
  options: CheckHealthOptions = {},
): Promise<HealthStatus> {
  const method = healthService.Check;
  if (method === undefined) throw new AppError('INTERNAL', 'grpc-health-check defines no Check method');
  const security = grpcClientSecurity();
  const client = new Client(address, security.credentials, security.channelOptions);
  try {
    const response = await new Promise<object>((resolve, reject) => {
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        { service },
        new Metadata(),
        { deadline: deadlineAfter(options.deadlineMs ?? 2000) },
        (error: ServiceError | null, value?: object) =>
          error === null && value !== undefined
            ? resolve(value)
            : reject(error ?? new AppError('INTERNAL', 'health check: no response')),
      );
    });
    return (response as { status: HealthStatus }).status;
  } finally {
    client.close();
  }
}

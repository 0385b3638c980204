/**
 * {@link ServicePorts} over grpc-js: one client per service (createGrpcClient's default deadline), every call sent
 * with the job's correlation id and cancelled when the job's signal aborts; a failed call becomes an AppError with the
 * status mapped back to the catalog (UNAVAILABLE when nothing answers, the service's code otherwise).
 */
import { AppError, appErrorCodeFromGrpcStatus } from '@alignda/errors';
import {
  EncoderServiceClient,
  ForecastServiceClient,
  IngestServiceClient,
  RewardServiceClient,
  SamplerServiceClient,
  correlationMetadata,
  createGrpcClient,
  streamMessages,
} from '@alignda/rpc';
import type {
  RolloutResponse,
  RolloutState,
  SampleResponse,
  SampleResult,
  ScoreResponse,
  ScoreResult,
  UnaryMethod,
} from '@alignda/rpc';

import type { CallScope, ServicePorts } from '../ports.js';

/** `host:port` of each service. */
export interface ServiceAddresses {
  readonly ingest: string;
  readonly encoder: string;
  readonly sampler: string;
  readonly forecast: string;
  readonly reward: string;
}

/** The failure of `rpc` (`encoder.Decode`) as an AppError: CANCELLED when the job aborted it. */
export function callError(rpc: string, err: unknown, scope: CallScope): AppError {
  if (scope.signal.aborted)
    return new AppError('CANCELLED', `${rpc} was cancelled with the job`, { cause: err });
  if (err instanceof AppError) return err;
  const { code, details } = err as { code?: unknown; details?: unknown };
  if (typeof code !== 'number')
    return new AppError('INTERNAL', `${rpc}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  const text = typeof details === 'string' && details !== '' ? details : 'no details';
  return new AppError(appErrorCodeFromGrpcStatus(code), `${rpc}: ${text}`, {
    cause: err,
    details: { rpc, grpcStatus: code },
  });
}

/** A unary call bound to the scope: its metadata carries the correlation id, an abort cancels it. */
function unary<TRequest, TResponse>(
  rpc: string,
  method: UnaryMethod<TRequest, TResponse>,
  request: TRequest,
  scope: CallScope,
): Promise<TResponse> {
  return new Promise((resolve, reject) => {
    if (scope.signal.aborted) {
      reject(callError(rpc, scope.signal.reason, scope));
      return;
    }
    const call = method(request, correlationMetadata(scope.correlationId), {}, (error, response) => {
      scope.signal.removeEventListener('abort', cancel);
      if (error === null) resolve(response);
      else reject(callError(rpc, error, scope));
    });
    const cancel = (): void => call.cancel();
    scope.signal.addEventListener('abort', cancel, { once: true });
  });
}

/** A grpc-js server stream of `T` (ClientReadableStream, named without importing grpc-js). */
type ServerStream<T> = Parameters<typeof streamMessages<T>>[0];

/** A server stream bound to the scope: every message goes to `each`; an abort cancels the call. */
async function stream<T>(
  rpc: string,
  call: ServerStream<T>,
  scope: CallScope,
  each: (message: T) => void,
): Promise<void> {
  const cancel = (): void => call.cancel();
  scope.signal.addEventListener('abort', cancel, { once: true });
  try {
    if (scope.signal.aborted) cancel();
    for await (const message of streamMessages(call)) each(message);
  } catch (err) {
    throw callError(rpc, err, scope);
  } finally {
    scope.signal.removeEventListener('abort', cancel);
  }
}

/** The five services over gRPC, and a way to close their channels. */
export function grpcServicePorts(addresses: ServiceAddresses): ServicePorts & { close(): void } {
  const ingest = createGrpcClient(IngestServiceClient, addresses.ingest);
  const encoder = createGrpcClient(EncoderServiceClient, addresses.encoder);
  const sampler = createGrpcClient(SamplerServiceClient, addresses.sampler);
  const forecast = createGrpcClient(ForecastServiceClient, addresses.forecast);
  const reward = createGrpcClient(RewardServiceClient, addresses.reward);
  const missing = (rpc: string): AppError =>
    new AppError('INTERNAL', `${rpc}: the stream ended without its result`);
  return {
    ingest: {
      submit: (request, scope) => unary('ingest.Submit', ingest.submit.bind(ingest), request, scope),
      check: (request, scope) => unary('ingest.Check', ingest.check.bind(ingest), request, scope),
    },
    encoder: {
      encode: (request, scope) => unary('encoder.Encode', encoder.encode.bind(encoder), request, scope),
      decode: (request, scope) => unary('encoder.Decode', encoder.decode.bind(encoder), request, scope),
    },
    sampler: {
      sample: async (request, scope, onProgress) => {
        const call = sampler.sample(request, correlationMetadata(scope.correlationId));
        let result: SampleResult | undefined;
        await stream<SampleResponse>('sampler.Sample', call, scope, (m) => {
          if (m.event?.$case === 'progress') onProgress(m.event.value);
          else if (m.event?.$case === 'result') result = m.event.value;
        });
        if (result === undefined) throw missing('sampler.Sample');
        return result;
      },
    },
    forecast: {
      rollout: async (request, scope) => {
        const call = forecast.rollout(request, correlationMetadata(scope.correlationId));
        let last: RolloutState | undefined;
        await stream<RolloutResponse>('forecast.Rollout', call, scope, (m) => {
          if (m.event?.$case === 'state') last = m.event.value;
        });
        if (last === undefined) throw missing('forecast.Rollout');
        return last;
      },
    },
    reward: {
      score: async (request, scope) => {
        const call = reward.score(request, correlationMetadata(scope.correlationId));
        let result: ScoreResult | undefined;
        await stream<ScoreResponse>('reward.Score', call, scope, (m) => {
          if (m.event?.$case === 'result') result = m.event.value;
        });
        if (result === undefined) throw missing('reward.Score');
        return result;
      },
    },
    close: () => {
      for (const client of [ingest, encoder, sampler, forecast, reward]) client.close();
    },
  };
}

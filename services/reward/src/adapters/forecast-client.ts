/** The {@link ForecastPort} over gRPC: ForecastService.Rollout of the forecast service, the final state only. */
import { AppError, GrpcStatus, appErrorCodeFromGrpcStatus } from '@alignda/errors';
import type { ForecastPort } from '@alignda/pipelines';
import {
  ForecastServiceClient,
  correlationMetadata,
  createGrpcClient,
  fieldFromProto,
  fieldToProto,
  streamMessages,
} from '@alignda/rpc';

/** A forecast port calling the forecast service at `address` (`host:port`), and a way to close its channel. */
export function grpcForecastPort(address: string): { readonly port: ForecastPort; close(): void } {
  const client = createGrpcClient(ForecastServiceClient, address);
  const port: ForecastPort = async (initial, validTime, steps, call) => {
    const metadata = correlationMetadata(call.correlationId);
    const stream = client.rollout(
      { initial: fieldToProto(initial, validTime), steps, emitEvery: 0, modelVersion: '' },
      metadata,
    );
    const cancel = (): void => stream.cancel();
    call.signal.addEventListener('abort', cancel, { once: true });
    try {
      let last: Float32Array | undefined;
      for await (const m of streamMessages(stream))
        if (m.event?.$case === 'state') last = fieldFromProto(m.event.value.field, 'state.field').field.data;
      if (last === undefined)
        throw new AppError('INTERNAL', `the forecast service at ${address} sent no state`);
      return last;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code !== 'number' || err instanceof AppError) throw err;
      if (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED)
        throw new AppError('FAILED_PRECONDITION', `the forecast service at ${address} cannot be reached`, {
          cause: err,
        });
      throw new AppError(appErrorCodeFromGrpcStatus(code), `forecast service: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      call.signal.removeEventListener('abort', cancel);
    }
  };
  return { port, close: () => client.close() };
}

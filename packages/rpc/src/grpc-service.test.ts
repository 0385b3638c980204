import { AppError } from '@alignda/errors';
import { Metadata, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { CORRELATION_ID_KEY, serverStreamHandler, unaryHandler, type CallLogger } from './call-handlers.js';
import {
  EncoderServiceClient,
  EncoderServiceService,
  type DecodeRequest,
  type DescribeModelRequest,
  type EncodeRequest,
  type EncoderServiceServer,
} from './generated/alignda/v1/encoder.js';
import {
  ForecastServiceClient,
  ForecastServiceService,
  type ForecastServiceServer,
  type RolloutRequest,
  type RolloutResponse,
} from './generated/alignda/v1/forecast.js';
import { createGrpcClient, streamMessages, unaryCall } from './grpc-client.js';
import { bindService } from './grpc-server.js';
import { startGrpcService, type GrpcService } from './grpc-service.js';
import { checkHealth } from './health-client.js';
import { invalidMessage } from './invalid-message-error.js';
import { parseServiceArgs } from './service-args.js';

/** A logger that keeps every line with its bindings. */
function memoryLogger(): { log: CallLogger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const make = (bindings: Record<string, unknown>): CallLogger => {
    const write = (obj: object, msg?: string): void => void lines.push({ ...bindings, ...obj, msg });
    return {
      child: (more) => make({ ...bindings, ...more }),
      debug: write,
      info: write,
      warn: write,
      error: write,
    };
  };
  return { log: make({}), lines };
}

const ROLLOUT: RolloutRequest = { initial: undefined, steps: 1, emitEvery: 0, modelVersion: '' };

describe('startGrpcService', () => {
  let service: GrpcService | undefined;
  const clients: { close(): void }[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await service?.drain({ graceMs: 100 });
    service = undefined;
  });

  /** Serves an encoder whose calls fail as `describeModel` says and a rollout that waits for cancellation. */
  async function serve(
    log: CallLogger,
    onRollout?: (signal: AbortSignal) => void,
  ): Promise<{ encoder: EncoderServiceClient; forecast: ForecastServiceClient }> {
    /** Throws as the requested model version says. */
    const fail = (modelVersion: string): void => {
      if (modelVersion === 'gone') throw new AppError('NOT_FOUND', 'no model version gone');
      if (modelVersion === 'bad') invalidMessage('model_version', 'is bad');
      if (modelVersion === 'bug') throw new TypeError('x is undefined');
    };
    const encoderImpl: EncoderServiceServer = {
      describeModel: unaryHandler(log, (r: DescribeModelRequest) => {
        fail(r.modelVersion);
        const described = { modelVersion: 'v1', channels: [], units: [], grid: undefined };
        return Promise.resolve({ ...described, fieldShape: [], latentShape: [] });
      }),
      encode: unaryHandler(log, (r: EncodeRequest) => {
        fail(r.modelVersion);
        return Promise.resolve({ latents: undefined, modelVersion: 'v1', autoencoderSha256: '' });
      }),
      decode: unaryHandler(log, (r: DecodeRequest) => {
        fail(r.modelVersion);
        return Promise.resolve({ fields: [], modelVersion: 'v1' });
      }),
    };
    const rollout = serverStreamHandler<RolloutRequest, RolloutResponse>(log, async (_request, ctx) => {
      await ctx.send({ event: { $case: 'progress', value: { fraction: 0, stage: 'wait', message: '' } } });
      onRollout?.(ctx.signal);
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      ctx.signal.throwIfAborted();
    });
    service = await startGrpcService([
      bindService(EncoderServiceService, encoderImpl),
      bindService(ForecastServiceService, { rollout } satisfies ForecastServiceServer),
    ]);
    const encoder = createGrpcClient(EncoderServiceClient, service.address);
    const forecast = createGrpcClient(ForecastServiceClient, service.address);
    clients.push(encoder, forecast);
    return { encoder, forecast };
  }

  it('answers health checks NOT_SERVING until set SERVING, for the server and each service, and NOT_SERVING while draining', async () => {
    await serve(memoryLogger().log);
    const s = service as GrpcService;
    expect(s.serviceNames).toEqual(['alignda.v1.EncoderService', 'alignda.v1.ForecastService']);
    expect(await checkHealth(s.address)).toBe('NOT_SERVING');
    s.setServing();
    expect(await checkHealth(s.address)).toBe('SERVING');
    expect(await checkHealth(s.address, 'alignda.v1.ForecastService')).toBe('SERVING');
    await expect(checkHealth(s.address, 'alignda.v1.Nope')).rejects.toMatchObject({ code: status.NOT_FOUND });
    const drained = s.drain({ notServingMs: 300, graceMs: 1000 });
    expect(await checkHealth(s.address)).toBe('NOT_SERVING');
    s.setServing(); // too late: a draining service stays NOT_SERVING
    expect(await checkHealth(s.address, 'alignda.v1.EncoderService')).toBe('NOT_SERVING');
    expect(await drained).toBe('graceful');
    await expect(checkHealth(s.address, '', { deadlineMs: 500 })).rejects.toMatchObject({
      code: expect.any(Number) as number,
    });
  });

  it('maps AppError codes to gRPC statuses and hides the message of an unexpected error', async () => {
    const { log, lines } = memoryLogger();
    const { encoder } = await serve(log);
    const call = (modelVersion: string): Promise<unknown> =>
      unaryCall(encoder.describeModel.bind(encoder), { modelVersion });
    await expect(call('gone')).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: 'no model version gone',
    });
    await expect(call('bad')).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'model_version: is bad',
    });
    await expect(call('bug')).rejects.toMatchObject({
      code: status.INTERNAL,
      details: expect.stringMatching(/^internal error \(correlation id [0-9a-f-]{36}\)$/) as string,
    });
    await expect(call('')).resolves.toMatchObject({ modelVersion: 'v1' });
    // The unexpected error is logged with its message; the expected ones only by code.
    const failed = lines.filter((l) => l.msg === 'call failed');
    expect(failed.map((l) => l.code)).toEqual(['NOT_FOUND', 'INVALID_ARGUMENT', 'INTERNAL']);
    expect((failed[2]?.err as Error).message).toBe('x is undefined');
  });

  it("binds the caller's x-correlation-id and the rpc to every log line of the call", async () => {
    const { log, lines } = memoryLogger();
    const { encoder } = await serve(log);
    const metadata = new Metadata();
    metadata.set(CORRELATION_ID_KEY, 'job-42/encode');
    await unaryCall(encoder.encode.bind(encoder), { fields: [], modelVersion: '' }, {}, metadata);
    expect(lines.at(-1)).toMatchObject({
      rpc: 'alignda.v1.EncoderService/Encode',
      correlationId: 'job-42/encode',
      code: 'OK',
      msg: 'call done',
    });
  });

  it("aborts a streaming handler's signal when the client cancels", async () => {
    let signal: AbortSignal | undefined;
    const { forecast } = await serve(memoryLogger().log, (s) => (signal = s));
    const call = forecast.rollout(ROLLOUT);
    const messages = streamMessages(call);
    expect((await messages.next()).value).toMatchObject({ event: { $case: 'progress' } });
    expect(signal?.aborted).toBe(false);
    call.cancel();
    await expect(messages.next()).rejects.toMatchObject({ code: status.CANCELLED });
    await expect.poll(() => signal?.aborted).toBe(true);
  });

  it('cancels calls still running at the end of the grace period', async () => {
    let signal: AbortSignal | undefined;
    const { forecast } = await serve(memoryLogger().log, (s) => (signal = s));
    const messages = streamMessages(forecast.rollout(ROLLOUT));
    await messages.next();
    expect(await (service as GrpcService).drain({ graceMs: 200 })).toBe('forced');
    await expect.poll(() => signal?.aborted).toBe(true);
    await expect(messages.next()).rejects.toMatchObject({ code: expect.any(Number) as number });
  });
});

describe('parseServiceArgs', () => {
  it('takes flags over the environment and defaults the rest', () => {
    const args = parseServiceArgs(
      ['--port', '6000', '--model-dir', 'models/qg-ci'],
      { GRPC_PORT: '5000', GRPC_HOST: '0.0.0.0', ALIGNDA_DATASET: 'ncep-air' },
      { defaultPort: 50051 },
      '/srv',
    );
    expect(args).toMatchObject({
      host: '0.0.0.0',
      port: 6000,
      modelDir: '/srv/models/qg-ci',
      modelVersion: 'qg-ci',
      dataset: 'ncep-air',
      world: undefined,
      drainGraceMs: 10_000,
    });
    expect(parseServiceArgs([], {}, { defaultPort: 50051 }).port).toBe(50051);
  });

  it('rejects unknown flags, bad numbers, both sources and a missing model folder with CONFIG_INVALID', () => {
    const spec = { defaultPort: 1, requireModelDir: true };
    expect(() => parseServiceArgs(['--nope', 'x'], {}, spec)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error,
    );
    expect(() => parseServiceArgs(['--world', 'qg', '--dataset', 'd'], { GRPC_PORT: '8o80' }, spec)).toThrow(
      'invalid configuration: --model-dir / ALIGNDA_MODEL_DIR: a model folder is required (train one with ' +
        '`alignda train`); --world and --dataset: give at most one; ' +
        '--port / GRPC_PORT = "8o80": expected an integer in [0, 65535]',
    );
  });
});

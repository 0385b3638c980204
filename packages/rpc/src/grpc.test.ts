import type { Field } from '@alignda/tensor';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { fieldFromProto, fieldToProto } from './field-codec.js';
import {
  EncoderServiceClient,
  EncoderServiceService,
  type EncoderServiceServer,
} from './generated/alignda/v1/encoder.js';
import {
  ForecastServiceClient,
  ForecastServiceService,
  type ForecastServiceServer,
  type RolloutResponse,
} from './generated/alignda/v1/forecast.js';
import { createGrpcClient, deadlineAfter, streamMessages, unaryCall } from './grpc-client.js';
import { bindService, startGrpcServer, type RunningGrpcServer } from './grpc-server.js';
import { InvalidMessageError } from './invalid-message-error.js';
import { tensorFromFloat32 } from './tensor-codec.js';

const SIX_HOURS_MS = 6 * 3600 * 1000;

/** Maps a handler's error to a gRPC status, as a service's contract layer would. */
function toStatus(err: unknown): { code: status; details: string } {
  if (err instanceof InvalidMessageError) return { code: status.INVALID_ARGUMENT, details: err.message };
  return { code: status.INTERNAL, details: 'internal error' };
}

/**
 * A trivial forecast model for the test: every 6 h step adds 1 to every value. Streams one Progress
 * per step and the states asked for by emit_every.
 */
const rollout: ForecastServiceServer['rollout'] = (call) => {
  let initial: ReturnType<typeof fieldFromProto>;
  try {
    initial = fieldFromProto(call.request.initial, 'initial');
  } catch (err) {
    call.emit('error', toStatus(err));
    return;
  }
  const { steps, emitEvery } = call.request;
  const data = initial.field.data.slice();
  for (let step = 1; step <= steps; step++) {
    for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) + 1;
    call.write({
      event: {
        $case: 'progress',
        value: { fraction: step / steps, stage: 'rollout', message: `step ${step}/${steps}` },
      },
    } satisfies RolloutResponse);
    if ((emitEvery > 0 && step % emitEvery === 0) || step === steps) {
      const validTime =
        initial.validTime === undefined
          ? undefined
          : new Date(initial.validTime.getTime() + step * SIX_HOURS_MS);
      const field: Field = { ...initial.field, data: data.slice() };
      call.write({
        event: {
          $case: 'state',
          value: { step, leadHours: 6 * step, field: fieldToProto(field, validTime), modelVersion: 'toy-1' },
        },
      } satisfies RolloutResponse);
    }
  }
  call.end();
};

/** A handler that never answers, to exercise client deadlines. */
const silentRollout: ForecastServiceServer['rollout'] = () => undefined;

const describeModel: EncoderServiceServer['describeModel'] = (call, callback) => {
  callback(null, {
    modelVersion: call.request.modelVersion === '' ? 'vae-active' : call.request.modelVersion,
    channels: ['t'],
    units: ['K'],
    grid: undefined,
    fieldShape: [1, 32, 64],
    latentShape: [4, 8, 16],
  });
};

const unimplemented = (_call: unknown, callback: (error: Partial<ServiceError>) => void): void => {
  callback({ code: status.UNIMPLEMENTED, details: 'not in this test' });
};

function initialField(): Field {
  const data = Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => i);
  // A NaN with a payload (bits 0x7fc00005) must survive both directions of the wire.
  new Uint32Array(data.buffer)[0] = 0x7fc00005;
  return {
    data,
    shape: [2, 2, 3],
    channels: ['t', 'u'],
    units: ['K', 'm s-1'],
    grid: {
      kind: 'latlon',
      latDeg: Float64Array.from([-30, 30]),
      lonDeg: Float64Array.from([0, 120, 240]),
      periodicLon: true,
    },
  };
}

describe('grpc-js server and generated clients', () => {
  let running: RunningGrpcServer | undefined;
  const clients: { close(): void }[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await running?.close();
    running = undefined;
  });

  async function serve(forecast: ForecastServiceServer['rollout']): Promise<string> {
    running = await startGrpcServer([
      bindService(ForecastServiceService, { rollout: forecast } satisfies ForecastServiceServer),
      bindService(EncoderServiceService, {
        describeModel,
        encode: unimplemented,
        decode: unimplemented,
      } satisfies EncoderServiceServer),
    ]);
    return running.address;
  }

  it('streams rollout progress and states from a server on 127.0.0.1:0 to the generated client', async () => {
    const address = await serve(rollout);
    expect(address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    const client = createGrpcClient(ForecastServiceClient, address);
    clients.push(client);
    const t0 = new Date(Date.UTC(2019, 0, 1, 0));
    const call = client.rollout({
      initial: fieldToProto(initialField(), t0),
      steps: 4,
      emitEvery: 2,
      modelVersion: '',
    });
    const messages: RolloutResponse[] = [];
    for await (const message of streamMessages(call)) messages.push(message);

    expect(messages.map((m) => m.event?.$case)).toEqual([
      'progress',
      'progress',
      'state',
      'progress',
      'progress',
      'state',
    ]);
    const fractions = messages.flatMap((m) =>
      m.event?.$case === 'progress' ? [m.event.value.fraction] : [],
    );
    expect(fractions).toEqual([0.25, 0.5, 0.75, 1]);
    const states = messages.flatMap((m) => (m.event?.$case === 'state' ? [m.event.value] : []));
    expect(states.map((s) => [s.step, s.leadHours, s.modelVersion])).toEqual([
      [2, 12, 'toy-1'],
      [4, 24, 'toy-1'],
    ]);
    const last = fieldFromProto(states[1]?.field, 'state.field');
    expect(last.validTime?.toISOString()).toBe('2019-01-02T00:00:00.000Z');
    expect(last.field.channels).toEqual(['t', 'u']);
    expect(Array.from(last.field.data.subarray(1))).toEqual(Array.from({ length: 11 }, (_, i) => i + 1 + 4));
    expect(Number.isNaN(last.field.data[0])).toBe(true); // NaN + 1 (the payload is checked below)
  });

  it('carries NaN payloads through a real call unchanged', async () => {
    const echo: ForecastServiceServer['rollout'] = (call) => {
      call.write({
        event: {
          $case: 'state',
          value: { step: 0, leadHours: 0, field: call.request.initial, modelVersion: '' },
        },
      });
      call.end();
    };
    const client = createGrpcClient(ForecastServiceClient, await serve(echo));
    clients.push(client);
    const messages = [];
    for await (const m of streamMessages(
      client.rollout({ initial: fieldToProto(initialField()), steps: 1, emitEvery: 0, modelVersion: '' }),
    )) {
      messages.push(m);
    }
    const field = messages[0]?.event?.$case === 'state' ? messages[0].event.value.field : undefined;
    const back = fieldFromProto(field);
    expect(new Uint32Array(back.field.data.buffer)[0]).toBe(0x7fc00005);
  });

  it('answers a malformed request with INVALID_ARGUMENT naming the problem', async () => {
    const client = createGrpcClient(ForecastServiceClient, await serve(rollout));
    clients.push(client);
    const initial = fieldToProto(initialField());
    const broken = {
      ...initial,
      tensor: { ...tensorFromFloat32(new Float32Array(12), [2, 2, 3]), data: new Uint8Array(47) },
    };
    const call = client.rollout({ initial: broken, steps: 2, emitEvery: 1, modelVersion: '' });
    await expect(streamMessages(call).next()).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details:
        'initial.tensor.data: has 47 bytes, but shape [2, 2, 3] of FLOAT32 needs 48 (12 elements x 4 bytes)',
    });
  });

  it('ends a call without its own deadline at the client default with DEADLINE_EXCEEDED', async () => {
    const client = createGrpcClient(ForecastServiceClient, await serve(silentRollout), {
      defaultDeadlineMs: 200,
    });
    clients.push(client);
    const call = client.rollout({
      initial: fieldToProto(initialField()),
      steps: 1,
      emitEvery: 0,
      modelVersion: '',
    });
    await expect(streamMessages(call).next()).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
  });

  it('lets a call deadline override the client default', async () => {
    const client = createGrpcClient(ForecastServiceClient, await serve(silentRollout), {
      defaultDeadlineMs: 600_000,
    });
    clients.push(client);
    const request = { initial: fieldToProto(initialField()), steps: 1, emitEvery: 0, modelVersion: '' };
    const call = client.rollout(request, { deadline: deadlineAfter(100) });
    await expect(streamMessages(call).next()).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
  });

  it('resolves unary calls through unaryCall and surfaces their errors', async () => {
    const client = createGrpcClient(EncoderServiceClient, await serve(rollout));
    clients.push(client);
    const described = await unaryCall(client.describeModel.bind(client), { modelVersion: '' });
    expect(described).toMatchObject({
      modelVersion: 'vae-active',
      fieldShape: [1, 32, 64],
      latentShape: [4, 8, 16],
    });
    await expect(
      unaryCall(client.encode.bind(client), { fields: [], modelVersion: '' }, {}, new Metadata()),
    ).rejects.toMatchObject({ code: status.UNIMPLEMENTED, details: 'not in this test' });
  });
});

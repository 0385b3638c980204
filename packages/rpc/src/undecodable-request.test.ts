/**
 * Requests that are no protobuf message of their rpc's type (a fuzz case of `npm run fuzz`: random bytes sent through
 * a raw client): grpc-js alone answers them INTERNAL; a service bound with bindService answers INVALID_ARGUMENT.
 */
import { Client, credentials, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EncoderServiceService } from './generated/alignda/v1/encoder.js';
import type { EncoderServiceServer } from './generated/alignda/v1/encoder.js';
import { ForecastServiceService } from './generated/alignda/v1/forecast.js';
import type { ForecastServiceServer } from './generated/alignda/v1/forecast.js';
import { bindService, startGrpcServer } from './grpc-server.js';
import type { RunningGrpcServer } from './grpc-server.js';

/** Field 1, length-delimited, 5 bytes long, followed by 1: `index out of range` in any message. */
const TRUNCATED = Buffer.from([0x0a, 0x05, 0x61]);
/** Field 1 with wire type 7, which does not exist. */
const BAD_WIRE_TYPE = Buffer.from([0x0f, 0x01]);

const passthrough = (b: Buffer): Buffer => b;

describe('bindService with requests that do not decode', () => {
  let server: RunningGrpcServer;
  let client: Client;
  const seen: string[] = [];

  beforeAll(async () => {
    const encoder: EncoderServiceServer = {
      describeModel: (call, callback) => {
        seen.push(`describe ${call.request.modelVersion}`);
        callback(null, {
          modelVersion: 'v',
          channels: [],
          units: [],
          grid: undefined,
          fieldShape: [],
          latentShape: [],
        });
      },
      encode: (_call, callback) => callback({ code: status.UNIMPLEMENTED }, null),
      decode: (_call, callback) => callback({ code: status.UNIMPLEMENTED }, null),
    };
    const forecast: ForecastServiceServer = {
      rollout: (call) => {
        seen.push(`rollout ${call.request.steps}`);
        call.end();
      },
    };
    server = await startGrpcServer(
      [bindService(EncoderServiceService, encoder), bindService(ForecastServiceService, forecast)],
      { port: 0 },
    );
    client = new Client(server.address, credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await server.close(1000);
  });

  const unary = (bytes: Buffer): Promise<ServiceError | null> =>
    new Promise((resolve) => {
      client.makeUnaryRequest(
        '/alignda.v1.EncoderService/DescribeModel',
        passthrough,
        passthrough,
        bytes,
        (err) => resolve(err),
      );
    });

  const streamed = (bytes: Buffer): Promise<{ code: number; details: string }> =>
    new Promise((resolve) => {
      const call = client.makeServerStreamRequest(
        '/alignda.v1.ForecastService/Rollout',
        passthrough,
        passthrough,
        bytes,
      );
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('status', (s: { code: number; details: string }) => resolve(s));
    });

  it('answers a unary rpc INVALID_ARGUMENT naming the decoder complaint, and never calls the handler', async () => {
    for (const bytes of [TRUNCATED, BAD_WIRE_TYPE]) {
      const err = await unary(bytes);
      expect(err?.code).toBe(status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(/^the request is not a DescribeModel request message \(.+\)$/);
    }
    expect(seen).toEqual([]);
  });

  it('answers a server-streaming rpc INVALID_ARGUMENT the same way', async () => {
    for (const bytes of [TRUNCATED, BAD_WIRE_TYPE]) {
      const s = await streamed(bytes);
      expect(s.code).toBe(status.INVALID_ARGUMENT);
      expect(s.details).toMatch(/^the request is not a Rollout request message \(.+\)$/);
    }
    expect(seen).toEqual([]);
  });

  it('still hands requests that decode to the handlers', async () => {
    // DescribeModelRequest { model_version: "ab" }; RolloutRequest { steps: 3 }.
    expect(await unary(Buffer.from([0x0a, 0x02, 0x61, 0x62]))).toBeNull();
    expect((await streamed(Buffer.from([0x10, 0x03]))).code).toBe(status.OK);
    expect(seen).toEqual(['describe ab', 'rollout 3']);
  });
});

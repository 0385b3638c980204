/**
 * `npm run fuzz`'s gRPC cases on the wire: a case is an rpc's path and the bytes sent as its request, with the codes
 * besides INVALID_ARGUMENT that answer it rightly. Typed messages are encoded by the generated serializer; random
 * bytes, a valid message cut short and an oversize message are sent as they are (a raw client, reliability/fuzz).
 */
import { status } from '@grpc/grpc-js';
import fc from 'fast-check';

import type { AllowedStatus, Fault } from './message-faults.js';

/** One bad message to one rpc. */
export interface GrpcCase {
  /** The rpc's path, e.g. `/alignda.v1.EncoderService/Encode`. */
  readonly path: string;
  /** Whether the rpc streams its responses. */
  readonly streaming: boolean;
  /** What is wrong with the message, e.g. `Encode fields[0].tensor: negative dimension`. */
  readonly fault: string;
  /** The serialized message. */
  readonly bytes: Buffer;
  /** Codes besides INVALID_ARGUMENT that answer this fault correctly. */
  readonly allowed: readonly AllowedStatus[];
}

/** A message too large for any service: one byte over packages/rpc's DEFAULT_MAX_MESSAGE_BYTES (64 MiB). */
export const OVERSIZE_BYTES = 64 * 1024 * 1024 + 1;

const TOO_LARGE: AllowedStatus = {
  code: status.RESOURCE_EXHAUSTED,
  why: 'grpc-js refuses a message over the server limit before decoding it (413)',
};

/** A typed case of one rpc: the message encoded by the generated serializer. */
export function typed<T>(
  definition: { path: string; responseStream: boolean; requestSerialize: (value: T) => Buffer },
  rpc: string,
  f: Fault<T>,
): GrpcCase {
  return {
    path: definition.path,
    streaming: definition.responseStream,
    fault: `${rpc} ${f.fault}`,
    bytes: definition.requestSerialize(f.value),
    allowed: f.allowed ?? [],
  };
}

/**
 * Codes that answer random bytes correctly besides INVALID_ARGUMENT: bytes that happen to decode (a 0x00 byte ends a
 * message, so many decode as one with every field unset) make a request with an empty dataset id or model version
 * that is not the served one, or another autoencoder's hash, or, for DescribeModel, a valid request.
 */
function decodedByChance(rpc: string): AllowedStatus[] {
  const why = (what: string): string => `the bytes decode as a message, ${what}`;
  return [
    { code: status.NOT_FOUND, why: why('naming a dataset or model version that does not exist (404)') },
    { code: status.FAILED_PRECONDITION, why: why("with another autoencoder's hash (412)") },
    ...(rpc === 'DescribeModel'
      ? [{ code: status.OK, why: why('asking for the served model (valid)') }]
      : []),
  ];
}

/** Random bytes (or a truncated valid message) sent as the serialized request of `path`. */
export function rawBytes(
  definition: { path: string; responseStream: boolean },
  rpc: string,
  valid: Buffer,
): fc.Arbitrary<GrpcCase> {
  type Raw = { what: string; bytes: Buffer; allowed: AllowedStatus[] };
  const random = fc.uint8Array({ minLength: 1, maxLength: 256 }).map((b): Raw => ({
    what: `${b.length} random bytes`,
    bytes: Buffer.from(b),
    allowed: decodedByChance(rpc),
  }));
  // A cut that falls between two fields leaves a valid message with its last fields unset (proto3 has no required
  // fields): answering it is right. Built only for a message of 2 bytes or more (an empty one has no shorter prefix).
  const atFieldBoundary: AllowedStatus = {
    code: status.OK,
    why: 'the cut falls between fields: a valid message with its last, optional fields unset',
  };
  const cut = (): fc.Arbitrary<Raw> =>
    fc.integer({ min: 1, max: valid.length - 1 }).map((k) => ({
      what: `the valid message cut to ${k} of ${valid.length} bytes`,
      bytes: valid.subarray(0, k),
      allowed: [...decodedByChance(rpc), atFieldBoundary],
    }));
  return (valid.length < 2 ? random : fc.oneof(random, cut())).map(({ what, bytes, allowed }) => ({
    path: definition.path,
    streaming: definition.responseStream,
    fault: `${rpc} ${what}`,
    bytes,
    allowed,
  }));
}

/** An oversize message: a field whose tensor data is {@link OVERSIZE_BYTES} long. */
export function oversize(
  definition: { path: string; responseStream: boolean },
  rpc: string,
): fc.Arbitrary<GrpcCase> {
  return fc.constant(null).map(() => ({
    path: definition.path,
    streaming: definition.responseStream,
    fault: `${rpc} a ${OVERSIZE_BYTES}-byte message (over the 64 MiB limit)`,
    // Field 1 (any message's first field) as a length-delimited blob: the size check comes before decoding.
    bytes: Buffer.concat([Buffer.from([0x0a, 0x81, 0x80, 0x80, 0x20]), Buffer.alloc(OVERSIZE_BYTES - 5)]),
    allowed: [TOO_LARGE],
  }));
}

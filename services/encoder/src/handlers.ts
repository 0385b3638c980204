/**
 * The EncoderService rpcs (proto/alignda/v1/encoder.proto), one handler each: decode the message, call packages/
 * pipelines' encodeState / decodeState (the in-process path, so Encode over gRPC gives the bits encodeState gives in
 * process), encode the answer. Fields travel in physical units; the model's normalisation is applied here.
 */
import type { LatentModels, LatentSessions } from '@alignda/nn';
import { decodeState, encodeState } from '@alignda/pipelines';
import {
  assertFieldLayout,
  assertFinite,
  fieldFromProto,
  fieldToProto,
  float32FromTensor,
  gridToProto,
  invalidMessage,
  resolveModelVersion,
  tensorFromFloat32,
  unaryHandler,
} from '@alignda/rpc';
import type {
  CallLogger,
  DecodeRequest,
  DecodeResponse,
  DescribeModelRequest,
  DescribeModelResponse,
  EncodeRequest,
  EncodeResponse,
  EncoderServiceServer,
  FieldLayout,
} from '@alignda/rpc';
import { denormalise, normalise } from '@alignda/tensor';

/** What the handlers work with. */
export interface EncoderHandlerDeps {
  readonly models: LatentModels;
  /** Sessions of one member: encodeState and decodeState run one field at a time, as in process. */
  readonly sessions: LatentSessions;
  /** Channels, units and grid of the fields the autoencoder was trained on. */
  readonly layout: FieldLayout;
  readonly modelVersion: string;
  /** SHA-256 (hex) of the autoencoder's weights. */
  readonly autoencoderSha256: string;
}

const KIND = 'autoencoder';

/** [C, H, W] of the model's fields and [Cz, Hz, Wz] of its latents. */
export function modelShapes(models: LatentModels): {
  field: [number, number, number];
  latent: [number, number, number];
} {
  const v = models.vae.config;
  const [cz, hz, wz] = models.score.config.latentShape;
  return { field: [v.channels, v.height, v.width], latent: [cz ?? 0, hz ?? 0, wz ?? 0] };
}

/** DescribeModel: the autoencoder's channels, units, grid and shapes. */
export function describeModel(
  deps: EncoderHandlerDeps,
  request: DescribeModelRequest,
): DescribeModelResponse {
  const shapes = modelShapes(deps.models);
  return {
    modelVersion: resolveModelVersion(request.modelVersion, deps.modelVersion, KIND),
    channels: [...deps.layout.channels],
    units: [...deps.layout.units],
    grid: gridToProto(deps.layout.grid),
    fieldShape: shapes.field,
    latentShape: shapes.latent,
  };
}

/** Encode: N fields -> latents [N, Cz, Hz, Wz] (standardised posterior means, encodeState of each). */
export async function encode(deps: EncoderHandlerDeps, request: EncodeRequest): Promise<EncodeResponse> {
  const modelVersion = resolveModelVersion(request.modelVersion, deps.modelVersion, KIND);
  if (request.fields.length === 0) invalidMessage('fields', 'is empty: give at least one field');
  const { latent } = modelShapes(deps.models);
  const norm = deps.models.vae.norm;
  // Every field is checked before any is encoded: a bad one fails the call without work done.
  const fields = request.fields.map((message, n) => {
    const { field } = fieldFromProto(message, `fields[${n}]`);
    assertFieldLayout(field, deps.layout, `fields[${n}]`);
    return field;
  });
  const size = latent[0] * latent[1] * latent[2];
  const out = new Float32Array(fields.length * size); // [N, Cz, Hz, Wz]
  for (const [n, field] of fields.entries()) {
    const x = normalise({ data: field.data, shape: field.shape }, norm).data;
    out.set(await encodeState(deps.sessions, x), n * size);
  }
  return {
    latents: tensorFromFloat32(out, [fields.length, ...latent], 'latents'),
    modelVersion,
    autoencoderSha256: deps.autoencoderSha256,
  };
}

/** Decode: latents [N, Cz, Hz, Wz] -> N fields in physical units (decodeState of each). */
export async function decode(deps: EncoderHandlerDeps, request: DecodeRequest): Promise<DecodeResponse> {
  const modelVersion = resolveModelVersion(request.modelVersion, deps.modelVersion, KIND);
  const { field: fieldShape, latent } = modelShapes(deps.models);
  const z = float32FromTensor(request.latents, 'latents', [null, ...latent]);
  const n = z.shape[0] ?? 0;
  if (n === 0) invalidMessage('latents.shape[0]', 'is 0: give at least one latent');
  assertFinite(z.data, 'latents.data');
  const size = latent[0] * latent[1] * latent[2];
  const fields = [];
  for (let i = 0; i < n; i++) {
    const x = await decodeState(deps.sessions, z.data.subarray(i * size, (i + 1) * size));
    const data = denormalise({ data: x, shape: fieldShape }, deps.models.vae.norm).data;
    const { channels, units, grid } = deps.layout;
    fields.push(fieldToProto({ data, shape: fieldShape, channels, units, grid }, request.validTime));
  }
  return { fields, modelVersion };
}

/** The EncoderService implementation: each rpc through `unaryHandler` (logging, correlation id, status mapping). */
export function encoderHandlers(deps: EncoderHandlerDeps, log: CallLogger): EncoderServiceServer {
  return {
    describeModel: unaryHandler(log, (request: DescribeModelRequest) =>
      Promise.resolve(describeModel(deps, request)),
    ),
    encode: unaryHandler(log, (request: EncodeRequest) => encode(deps, request)),
    decode: unaryHandler(log, (request: DecodeRequest) => decode(deps, request)),
  };
}

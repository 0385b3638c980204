/**
 * fast-check generators of bad gRPC messages to each service of the platform (ingest, encoder, sampler, forecast,
 * reward): a valid request of each rpc, built on the served model's layout (DescribeModel), with one fault put in —
 * a malformed tensor (wrong shape or length, a negative or huge dimension, the wrong dtype, NaN / Inf values), a
 * missing field, a foreign layout, an out-of-range time, an unknown model version or dataset, an oversize message —
 * or random bytes in place of the serialized message. Each case says which status codes besides INVALID_ARGUMENT
 * answer its fault correctly, and why.
 */
import { status } from '@grpc/grpc-js';
import fc from 'fast-check';

import {
  Dtype,
  EncoderServiceService,
  ForecastServiceService,
  GuidanceMode,
  IngestServiceService,
  RewardKind,
  RewardServiceService,
  SamplerServiceService,
  tensorFromFloat32,
} from '@alignda/rpc';
import type {
  CheckRequest,
  DescribeModelResponse,
  FieldMessage,
  GridMessage,
  ObsBatch,
  RolloutRequest,
  SampleRequest,
  ScoreRequest,
  SubmitRequest,
  TensorMessage,
} from '@alignda/rpc';

/** The gRPC services the fuzzer sends to. */
export const GRPC_TARGETS = ['ingest', 'encoder', 'sampler', 'forecast', 'reward'] as const;
/** One of {@link GRPC_TARGETS}. */
export type GrpcTarget = (typeof GRPC_TARGETS)[number];

/** A status besides INVALID_ARGUMENT that answers a fault correctly, and why. */
export interface AllowedStatus {
  readonly code: status;
  readonly why: string;
}

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

/** What the cases are built on: the layout the services serve (the encoder's DescribeModel) and the source's name. */
export interface GrpcFuzzLayout {
  readonly model: DescribeModelResponse;
  /** The dataset or world name the services serve, e.g. `qg`. */
  readonly datasetId: string;
}

/** A message too large for any service: one byte over packages/rpc's DEFAULT_MAX_MESSAGE_BYTES (64 MiB). */
export const OVERSIZE_BYTES = 64 * 1024 * 1024 + 1;

const NOT_FOUND_VERSION: AllowedStatus = {
  code: status.NOT_FOUND,
  why: 'an unknown model version names a resource that does not exist (404)',
};
const NOT_FOUND_DATASET: AllowedStatus = {
  code: status.NOT_FOUND,
  why: 'an unknown dataset id names a resource that does not exist (404)',
};
const TOO_LARGE: AllowedStatus = {
  code: status.RESOURCE_EXHAUSTED,
  why: 'grpc-js refuses a message over the server limit before decoding it (413)',
};
const FOREIGN_AUTOENCODER: AllowedStatus = {
  code: status.FAILED_PRECONDITION,
  why: 'latents of another autoencoder than the one the score model is pinned to (412)',
};

/** A valid time within the QG world's year and any dataset's range. */
const VALID_TIME = new Date('2000-01-10T06:00:00Z');

/** A stand-in `Date` whose epoch milliseconds are `ms`, beyond what a real Date holds (ts-proto encodes getTime()). */
function farTime(ms: number): Date {
  const fake = Object.create(Date.prototype) as Date;
  return Object.assign(fake, { getTime: () => ms });
}

/** A change to one part of a message, named for the report. */
interface Fault<T> {
  readonly fault: string;
  readonly value: T;
  readonly allowed?: readonly AllowedStatus[];
}

const fault = <T>(name: string, value: T, allowed: readonly AllowedStatus[] = []): Fault<T> => ({
  fault: name,
  value,
  allowed,
});

/** Float32 bytes, little-endian. */
function float32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Faults of a FLOAT32 tensor of `shape` (the valid one is `valid`). */
function tensorFaults(valid: TensorMessage, at: string): fc.Arbitrary<Fault<TensorMessage | undefined>> {
  const n = valid.data.byteLength / 4;
  const shape = valid.shape;
  const same = (s: readonly number[]): boolean =>
    s.length === shape.length && s.every((d, i) => d === shape[i]);
  return fc.oneof(
    fc.constant(fault(`${at}: missing`, undefined)),
    fc
      .array(fc.nat({ max: 80 }), { maxLength: 5 })
      .filter((s) => !same(s))
      .map((s) =>
        fault(`${at}: shape ${JSON.stringify(s)} instead of ${JSON.stringify(shape)}`, {
          ...valid,
          shape: s,
        }),
      ),
    fc.nat({ max: Math.max(0, shape.length - 1) }).map((axis) =>
      // A uint32 field holds no -1: an int32 -1 on the wire decodes as 2^32 - 1, which is what is sent.
      fault(`${at}: dimension -1 (2^32 - 1 as a uint32)`, {
        ...valid,
        shape: shape.map((d, i) => (i === axis ? 0xffff_ffff : d)),
      }),
    ),
    fc
      .constantFrom(
        [2 ** 31, 2 ** 31, 2 ** 31],
        [0xffff_ffff, 0xffff_ffff],
        [...shape.slice(1), 2 ** 30, 2 ** 30],
      )
      .map((s) => fault(`${at}: huge dimensions ${JSON.stringify(s)}`, { ...valid, shape: s })),
    fc
      .integer({ min: -64, max: 64 })
      .filter((k) => k !== 0 && -k < valid.data.byteLength)
      .map((k) => {
        const data = new Uint8Array(valid.data.byteLength + k);
        data.set(valid.data.subarray(0, Math.min(valid.data.byteLength, data.byteLength)));
        return fault(`${at}: data ${k > 0 ? k : -k} bytes too ${k > 0 ? 'long' : 'short'}`, {
          ...valid,
          data,
        });
      }),
    fc
      .constantFrom(Dtype.FLOAT64, Dtype.INT32, Dtype.UINT8, Dtype.UNSPECIFIED, 99 as Dtype)
      .map((dtype) => fault(`${at}: dtype ${Dtype[dtype] ?? dtype}`, { ...valid, dtype })),
    fc
      .tuple(
        fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
        fc.uniqueArray(fc.nat({ max: n - 1 }), { minLength: 1, maxLength: 8 }),
      )
      .map(([bad, where]) => {
        const values = new Float32Array(valid.data.slice().buffer);
        for (const i of where) values[i] = bad;
        return fault(`${at}: ${bad} at ${where.length} element(s)`, { ...valid, data: float32Bytes(values) });
      }),
  );
}

/** Faults of a field of the served layout. */
function fieldFaults(valid: FieldMessage, at: string): fc.Arbitrary<Fault<FieldMessage | undefined>> {
  const grid = valid.grid;
  const tensor = valid.tensor;
  if (grid === undefined || tensor === undefined) throw new Error('the valid field has no grid or tensor');
  const gridFaults: fc.Arbitrary<Fault<GridMessage | undefined>> = fc.oneof(
    fc.constant(fault(`${at}.grid: missing`, undefined)),
    fc
      .integer({ min: -3, max: 3 })
      .filter((k) => k !== 0 && grid.latDeg.length + k >= 0)
      .map((k) =>
        fault(`${at}.grid.lat_deg: ${k} entries off`, {
          ...grid,
          latDeg: grid.latDeg.slice(0, grid.latDeg.length + k).concat(Array<number>(Math.max(0, k)).fill(10)),
        }),
      ),
    fc
      .constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 91, -1e9)
      .map((v) => fault(`${at}.grid.lat_deg[0]: ${v}`, { ...grid, latDeg: [v, ...grid.latDeg.slice(1)] })),
    fc.constantFrom(Number.NaN, 1e12, -5).map((v) =>
      fault(`${at}.grid.lon_deg[1]: ${v}`, {
        ...grid,
        lonDeg: grid.lonDeg.map((x, i) => (i === 1 ? v : x)),
      }),
    ),
    fc.constant(fault(`${at}.grid.kind: missing`, { ...grid, kind: undefined })),
    fc.constant(
      fault(`${at}.grid.kind: lat_lon in place of the served one`, {
        ...grid,
        kind:
          grid.kind?.$case === 'latLon'
            ? { $case: 'betaPlane' as const, value: { dxM: -1, dyM: 0, f0PerS: 0, betaPerMS: 0 } }
            : { $case: 'latLon' as const, value: {} },
      }),
    ),
  );
  return fc.oneof(
    {
      weight: 4,
      arbitrary: tensorFaults(tensor, `${at}.tensor`).map((f) => ({
        ...f,
        value: { ...valid, tensor: f.value },
      })),
    },
    { weight: 2, arbitrary: gridFaults.map((f) => ({ ...f, value: { ...valid, grid: f.value } })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          { channels: [], units: [] },
          { channels: valid.channels.map((c) => `${c}_x`) },
          { channels: [...valid.channels, 'extra'], units: [...valid.units, 'K'] },
          { units: valid.units.map(() => 'furlong') },
          { channels: [...valid.channels].reverse() },
        )
        .filter(
          (change) =>
            JSON.stringify(change.channels ?? valid.channels) !== JSON.stringify(valid.channels) ||
            change.units !== undefined,
        )
        .map((change) => fault(`${at}: channels/units ${JSON.stringify(change)}`, { ...valid, ...change })),
    },
    { weight: 1, arbitrary: fc.constant(fault(`${at}: missing`, undefined)) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(1e17, -1e17, 8.64e15 + 1000)
        .map((ms) =>
          fault(`${at}.valid_time: ${ms} ms, outside any date`, { ...valid, validTime: farTime(ms) }),
        ),
    },
  );
}

/** Why ingest may answer a batch fault OK: the observation is flagged by its quality control, which is its job. */
const QC_FLAGGED: AllowedStatus = {
  code: status.OK,
  why: "ingest's quality control flags the observation (MISSING, BAD_ERROR, OUTSIDE_GRID) and answers the batch",
};

/** Batch faults that ingest's quality control flags per observation rather than refusing the batch. */
const QC_FAULTS: readonly Partial<ObsBatch>[] = [
  { errorStd: [0] },
  { errorStd: [-1] },
  { errorStd: [Number.NaN] },
  { values: [Number.NaN] },
  { values: [Number.POSITIVE_INFINITY] },
  { locations: { $case: 'gridPoints', value: { row: [1e6], col: [0] } } },
  { locations: { $case: 'points', value: { latDeg: [Number.NaN], lonDeg: [0] } } },
  { locations: { $case: 'points', value: { latDeg: [95], lonDeg: [0] } } },
];

/**
 * Faults of an observation batch on the served layout.
 * @param qc - whether the receiver runs quality control (ingest), which flags some faults instead of refusing them
 */
function batchFaults(valid: ObsBatch, at: string, qc = false): fc.Arbitrary<Fault<ObsBatch | undefined>> {
  const C = valid.channels.length;
  return fc.oneof(
    fc.constant(fault(`${at}: missing`, undefined)),
    fc.constant(fault(`${at}.valid_time: missing`, { ...valid, validTime: undefined })),
    fc
      .constantFrom(1e17, -1e17)
      .map((ms) =>
        fault(`${at}.valid_time: ${ms} ms, outside any date`, { ...valid, validTime: farTime(ms) }),
      ),
    fc
      .integer({ min: C, max: C + 1000 })
      .map((i) => fault(`${at}.channel_index[0]: ${i} of ${C} channels`, { ...valid, channelIndex: [i] })),
    fc
      .constantFrom<Partial<ObsBatch>[]>(
        ...QC_FAULTS,
        { values: [] },
        { values: [1, 2] },
        { errorStd: [] },
        { channelIndex: [] },
        { qcFlags: [0, 0, 0] },
        { ids: ['a', 'b'] },
        { channels: [] },
        { channels: ['no-such-channel'] },
        { locations: undefined },
        { locations: { $case: 'gridPoints', value: { row: [0, 1], col: [0] } } },
        { locations: { $case: 'points', value: { latDeg: [], lonDeg: [] } } },
      )
      .map((change) =>
        fault(
          `${at}: ${JSON.stringify(change)}`,
          { ...valid, ...change },
          qc && QC_FAULTS.includes(change) ? [QC_FLAGGED] : [],
        ),
      ),
  );
}

/** The layout's fields, batches and latents, valid. */
function validParts(layout: GrpcFuzzLayout): { field: FieldMessage; batch: ObsBatch; latent: TensorMessage } {
  const m = layout.model;
  const [C = 1, H = 1, W = 1] = m.fieldShape;
  // Smooth, plausible values (a few hundred of the channel's unit), so a valid field is a valid field.
  const data = Float32Array.from({ length: C * H * W }, (_, k) => 250 + Math.sin(k / 17));
  const field: FieldMessage = {
    tensor: tensorFromFloat32(data, [C, H, W]),
    channels: [...m.channels],
    units: [...m.units],
    grid: m.grid,
    validTime: VALID_TIME,
  };
  const batch: ObsBatch = {
    validTime: VALID_TIME,
    channels: [...m.channels],
    channelIndex: [0],
    locations: { $case: 'gridPoints', value: { row: [Math.floor(H / 2)], col: [Math.floor(W / 2)] } },
    values: [250],
    errorStd: [1],
    qcFlags: [],
    ids: [],
  };
  const latent = tensorFromFloat32(new Float32Array(m.latentShape.reduce((a, b) => a * b, 1)), m.latentShape);
  return { field, batch, latent };
}

/** Model versions no service holds. */
const unknownVersions = fc.oneof(
  fc.constantFrom('v0', 'latest', '../models', '\u0000'),
  fc.string({ minLength: 1, maxLength: 20 }),
);

/** A typed case of one rpc: the message encoded by the generated serializer. */
function typed<T>(
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
function rawBytes(
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
function oversize(
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

/**
 * The bad messages of one service: its rpcs' valid requests each with one fault, random bytes and (rarely) an
 * oversize message.
 */
export function grpcCases(target: GrpcTarget, layout: GrpcFuzzLayout): fc.Arbitrary<GrpcCase> {
  const { field, batch, latent } = validParts(layout);
  const versions = unknownVersions;
  const withRaw = <T>(
    definition: { path: string; responseStream: boolean; requestSerialize: (value: T) => Buffer },
    rpc: string,
    valid: T,
    faults: fc.Arbitrary<Fault<T>>,
  ): fc.Arbitrary<GrpcCase> =>
    fc.oneof(
      { weight: 240, arbitrary: faults.map((f) => typed(definition, rpc, f)) },
      { weight: 60, arbitrary: rawBytes(definition, rpc, definition.requestSerialize(valid)) },
      // 64 MiB each: a few per run show that the limit holds.
      { weight: 1, arbitrary: oversize(definition, rpc) },
    );
  switch (target) {
    case 'encoder': {
      const s = EncoderServiceService;
      const encode = { fields: [field], modelVersion: '' };
      const decode = {
        latents: { ...latent, shape: [1, ...latent.shape] },
        modelVersion: '',
        validTime: VALID_TIME,
      };
      return fc.oneof(
        withRaw(
          s.describeModel,
          'DescribeModel',
          { modelVersion: '' },
          versions.map((v) => fault(`model_version '${v}'`, { modelVersion: v }, [NOT_FOUND_VERSION])),
        ),
        withRaw(
          s.encode,
          'Encode',
          encode,
          fc.oneof(
            {
              weight: 6,
              arbitrary: fieldFaults(field, 'fields[0]').map((f) => ({
                ...f,
                value: { ...encode, fields: f.value === undefined ? [] : [field, f.value] },
              })),
            },
            {
              weight: 1,
              arbitrary: versions.map((v) =>
                fault(`model_version '${v}'`, { ...encode, modelVersion: v }, [NOT_FOUND_VERSION]),
              ),
            },
          ),
        ),
        withRaw(
          s.decode,
          'Decode',
          decode,
          fc.oneof(
            {
              weight: 6,
              arbitrary: tensorFaults(decode.latents, 'latents').map((f) => ({
                ...f,
                value: { ...decode, latents: f.value },
              })),
            },
            {
              weight: 1,
              arbitrary: versions.map((v) =>
                fault(`model_version '${v}'`, { ...decode, modelVersion: v }, [NOT_FOUND_VERSION]),
              ),
            },
          ),
        ),
      );
    }
    case 'sampler': {
      const valid: SampleRequest = {
        backgroundLatent: latent,
        observations: batch,
        grid: field.grid,
        guidance: GuidanceMode.DPS,
        steps: 2,
        corrections: 0,
        members: 1,
        seed: 1,
        modelVersion: '',
        autoencoderSha256: '',
      };
      return withRaw(
        SamplerServiceService.sample,
        'Sample',
        valid,
        fc.oneof(
          {
            weight: 4,
            arbitrary: tensorFaults(latent, 'background_latent').map((f) => ({
              ...f,
              value: { ...valid, backgroundLatent: f.value },
            })),
          },
          {
            weight: 3,
            arbitrary: batchFaults(batch, 'observations').map((f) => ({
              ...f,
              value: { ...valid, observations: f.value },
            })),
          },
          {
            weight: 3,
            arbitrary: fc
              .constantFrom<[string, Partial<SampleRequest>]>(
                ['members 0', { members: 0 }],
                ['members 100000', { members: 100_000 }],
                ['steps 0', { steps: 0 }],
                ['steps 10^9', { steps: 1e9 }],
                ['corrections 65', { corrections: 65 }],
                ['guidance UNSPECIFIED', { guidance: GuidanceMode.UNSPECIFIED }],
                ['guidance 42', { guidance: 42 as GuidanceMode }],
                ['corrector_tau 0.5 (only 0.25 is offered)', { correctorTau: 0.5 }],
                ['guidance_strength -1', { guidanceStrength: -1 }],
                ['guidance_strength NaN', { guidanceStrength: Number.NaN }],
                ['guidance_strength Inf', { guidanceStrength: Number.POSITIVE_INFINITY }],
                ['grid missing', { grid: undefined }],
                ['grid of another size', { grid: { ...(field.grid as GridMessage), latDeg: [0, 1] } }],
              )
              .map(([name, change]) => fault(name, { ...valid, ...change })),
          },
          {
            weight: 1,
            arbitrary: versions.map((v) =>
              fault(`model_version '${v}'`, { ...valid, modelVersion: v }, [NOT_FOUND_VERSION]),
            ),
          },
          {
            weight: 1,
            arbitrary: fc
              .stringMatching(/^[0-9a-f]{64}$/)
              .map((sha) =>
                fault('autoencoder_sha256 of another autoencoder', { ...valid, autoencoderSha256: sha }, [
                  FOREIGN_AUTOENCODER,
                ]),
              ),
          },
        ),
      );
    }
    case 'forecast': {
      const valid: RolloutRequest = { initial: field, steps: 1, emitEvery: 0, modelVersion: '' };
      return withRaw(
        ForecastServiceService.rollout,
        'Rollout',
        valid,
        fc.oneof(
          {
            weight: 6,
            arbitrary: fieldFaults(field, 'initial').map((f) => ({
              ...f,
              value: { ...valid, initial: f.value },
            })),
          },
          {
            weight: 2,
            arbitrary: fc
              .constantFrom<[string, Partial<RolloutRequest>]>(
                ['steps 0', { steps: 0 }],
                ['steps 1461', { steps: 1461 }],
                ['steps 2^32-1', { steps: 0xffff_ffff }],
                ['emit_every 2 > steps 1', { emitEvery: 2 }],
                ['emit_every 2^32-1', { emitEvery: 0xffff_ffff }],
              )
              .map(([name, change]) => fault(name, { ...valid, ...change })),
          },
          {
            weight: 1,
            arbitrary: versions.map((v) =>
              fault(`model_version '${v}'`, { ...valid, modelVersion: v }, [NOT_FOUND_VERSION]),
            ),
          },
        ),
      );
    }
    case 'reward': {
      const valid: ScoreRequest = {
        datasetId: layout.datasetId,
        samples: [field],
        truth: field,
        background: field,
        observations: batch,
        rewards: [RewardKind.ASSIM],
        forecastSteps: 1,
      };
      return withRaw(
        RewardServiceService.score,
        'Score',
        valid,
        fc.oneof(
          {
            weight: 4,
            arbitrary: fieldFaults(field, 'samples[1]').map((f) => ({
              ...f,
              value: { ...valid, samples: f.value === undefined ? [] : [field, f.value] },
            })),
          },
          {
            weight: 2,
            arbitrary: fieldFaults(field, 'truth')
              .filter((f) => f.value !== undefined)
              .map((f) => ({ ...f, value: { ...valid, truth: f.value } })),
          },
          {
            weight: 2,
            arbitrary: batchFaults(batch, 'observations')
              .filter((f) => f.value !== undefined)
              .map((f) => ({ ...f, value: { ...valid, observations: f.value } })),
          },
          {
            weight: 2,
            arbitrary: fc
              .constantFrom<[string, Partial<ScoreRequest>]>(
                ['rewards [UNSPECIFIED]', { rewards: [RewardKind.UNSPECIFIED] }],
                ['rewards [42]', { rewards: [42 as RewardKind] }],
                ['rewards [ASSIM, ASSIM]', { rewards: [RewardKind.ASSIM, RewardKind.ASSIM] }],
                [
                  'REWARD_KIND_FORECAST with forecast_steps 0',
                  { rewards: [RewardKind.FORECAST], forecastSteps: 0 },
                ],
                [
                  'REWARD_KIND_FORECAST with forecast_steps 10^6',
                  { rewards: [RewardKind.FORECAST], forecastSteps: 1e6 },
                ],
                ['rewards without truth', { truth: undefined, rewards: [RewardKind.ASSIM] }],
              )
              .map(([name, change]) => fault(name, { ...valid, ...change })),
          },
          {
            weight: 1,
            arbitrary: fc
              .string({ maxLength: 20 })
              .filter((d) => d !== layout.datasetId)
              .map((d) => fault(`dataset_id '${d}'`, { ...valid, datasetId: d }, [NOT_FOUND_DATASET])),
          },
        ),
      );
    }
    case 'ingest': {
      const submit: SubmitRequest = {
        datasetId: layout.datasetId,
        source: { $case: 'batch', value: batch },
        idempotencyKey: '',
      };
      const check: CheckRequest = {
        observations: { $case: 'batch', value: batch },
        background: field,
        backgroundErrorStd: [],
      };
      return fc.oneof(
        withRaw(
          IngestServiceService.submit,
          'Submit',
          submit,
          fc.oneof(
            {
              weight: 4,
              arbitrary: batchFaults(batch, 'batch', true).map((f) => ({
                ...f,
                value: {
                  ...submit,
                  source: f.value === undefined ? undefined : { $case: 'batch' as const, value: f.value },
                },
              })),
            },
            {
              weight: 1,
              arbitrary: fc
                .string({ maxLength: 20 })
                .filter((d) => d !== layout.datasetId)
                .map((d) => fault(`dataset_id '${d}'`, { ...submit, datasetId: d }, [NOT_FOUND_DATASET])),
            },
            {
              weight: 1,
              arbitrary: fc
                .tuple(fc.constantFrom(0, 1, 7), fc.uint8Array({ maxLength: 200 }))
                .map(([format, content]) =>
                  fault(`raw observations, format ${format}, ${content.length} random bytes`, {
                    ...submit,
                    source: { $case: 'raw' as const, value: { format, content, validTime: VALID_TIME } },
                  }),
                ),
            },
          ),
        ),
        withRaw(
          IngestServiceService.check,
          'Check',
          check,
          fc.oneof(
            {
              weight: 3,
              arbitrary: batchFaults(batch, 'batch', true).map((f) => ({
                ...f,
                value: {
                  ...check,
                  observations:
                    f.value === undefined ? undefined : { $case: 'batch' as const, value: f.value },
                },
              })),
            },
            {
              weight: 3,
              arbitrary: fieldFaults(field, 'background').map((f) => ({
                ...f,
                value: { ...check, background: f.value },
              })),
            },
            {
              weight: 1,
              arbitrary: fc
                .constantFrom<[string, Partial<CheckRequest>]>(
                  ['gross_error_threshold 0', { grossErrorThreshold: 0 }],
                  ['gross_error_threshold -1', { grossErrorThreshold: -1 }],
                  ['gross_error_threshold NaN', { grossErrorThreshold: Number.NaN }],
                  [
                    'background_error_std of the wrong length',
                    { backgroundErrorStd: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
                  ],
                  ['background_error_std [-1]', { backgroundErrorStd: [-1] }],
                  ['background_error_std [NaN]', { backgroundErrorStd: [Number.NaN] }],
                )
                .map(([name, change]) => fault(name, { ...check, ...change })),
            },
            {
              weight: 1,
              arbitrary: fc
                .uuid()
                .map((id) =>
                  fault(
                    `batch_id '${id}' of no batch`,
                    { ...check, observations: { $case: 'batchId' as const, value: id } },
                    [{ code: status.NOT_FOUND, why: 'a batch id that names no stored batch (404)' }],
                  ),
                ),
            },
          ),
        ),
      );
    }
  }
}

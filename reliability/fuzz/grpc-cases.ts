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

import { VALID_TIME, batchFaults, fault, fieldFaults, tensorFaults } from './message-faults.js';
import type { AllowedStatus, Fault } from './message-faults.js';
import { oversize, rawBytes, typed } from './wire-cases.js';
import type { GrpcCase } from './wire-cases.js';

/** The gRPC services the fuzzer sends to. */
export const GRPC_TARGETS = ['ingest', 'encoder', 'sampler', 'forecast', 'reward'] as const;
/** One of {@link GRPC_TARGETS}. */
export type GrpcTarget = (typeof GRPC_TARGETS)[number];

/** What the cases are built on: the layout the services serve (the encoder's DescribeModel) and the source's name. */
export interface GrpcFuzzLayout {
  readonly model: DescribeModelResponse;
  /** The dataset or world name the services serve, e.g. `qg`. */
  readonly datasetId: string;
}

const NOT_FOUND_VERSION: AllowedStatus = {
  code: status.NOT_FOUND,
  why: 'an unknown model version names a resource that does not exist (404)',
};
const NOT_FOUND_DATASET: AllowedStatus = {
  code: status.NOT_FOUND,
  why: 'an unknown dataset id names a resource that does not exist (404)',
};
const FOREIGN_AUTOENCODER: AllowedStatus = {
  code: status.FAILED_PRECONDITION,
  why: 'latents of another autoencoder than the one the score model is pinned to (412)',
};

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

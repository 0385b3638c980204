// Wire types generated from proto/alignda/v1 (ts-proto, committed; regenerate with
// `npm run -w @alignda/rpc generate`). Tensor, Grid and Field carry a `Message` suffix here so that they
// do not clash with @alignda/tensor's Tensor, Grid and Field in the handlers that convert between them.
export {
  BetaPlaneGrid,
  ChannelDepartureStats,
  DepartureDiagnostics,
  Dtype,
  Field as FieldMessage,
  Grid as GridMessage,
  GridLocations,
  LatLonGrid,
  ObsBatch,
  PointLocations,
  Progress,
  QcFlag,
  Tensor as TensorMessage,
} from './generated/alignda/v1/common.js';
export {
  DecodeRequest,
  DecodeResponse,
  DescribeModelRequest,
  DescribeModelResponse,
  EncodeRequest,
  EncodeResponse,
  EncoderServiceClient,
  EncoderServiceService,
} from './generated/alignda/v1/encoder.js';
export type { EncoderServiceServer } from './generated/alignda/v1/encoder.js';
export {
  ForecastServiceClient,
  ForecastServiceService,
  RolloutRequest,
  RolloutResponse,
  RolloutState,
} from './generated/alignda/v1/forecast.js';
export type { ForecastServiceServer } from './generated/alignda/v1/forecast.js';
export {
  CheckRequest,
  CheckResponse,
  IngestServiceClient,
  IngestServiceService,
  ObsFormat,
  QcFlagCount,
  QcSummary,
  RawObservations,
  SubmitRequest,
  SubmitResponse,
} from './generated/alignda/v1/ingest.js';
export type { IngestServiceServer } from './generated/alignda/v1/ingest.js';
export {
  RewardKind,
  RewardServiceClient,
  RewardServiceService,
  SampleScore,
  ScoreRequest,
  ScoreResponse,
  ScoreResult,
} from './generated/alignda/v1/reward.js';
export type { RewardServiceServer } from './generated/alignda/v1/reward.js';
export {
  GuidanceMode,
  SampleRequest,
  SampleResponse,
  SampleResult,
  SamplerServiceClient,
  SamplerServiceService,
} from './generated/alignda/v1/sampler.js';
export type { SamplerServiceServer } from './generated/alignda/v1/sampler.js';

// Hand-written helpers.
export { InvalidMessageError, invalidMessage } from './invalid-message-error.js';
export type { MessageIssue } from './invalid-message-error.js';
export {
  assertFinite,
  elementCount,
  float32FromTensor,
  float64FromTensor,
  formatShape,
  tensorFromFloat32,
  tensorFromFloat64,
} from './tensor-codec.js';
export { fieldFromProto, fieldToProto, gridFromProto, gridToProto } from './field-codec.js';
export type { ReceivedField } from './field-codec.js';
export { assertObsBatchMessage, obsBatchIssues } from './obs-batch.js';
export type { ObsBatchContext } from './obs-batch.js';
export { DEFAULT_MAX_MESSAGE_BYTES, bindService, startGrpcServer } from './grpc-server.js';
export type { RunningGrpcServer, ServiceBinding, StartGrpcServerOptions } from './grpc-server.js';
export {
  DEFAULT_DEADLINE_MS,
  createGrpcClient,
  deadlineAfter,
  defaultDeadlineInterceptor,
  streamMessages,
  unaryCall,
} from './grpc-client.js';
export type { ClientConstructor, CreateGrpcClientOptions, UnaryMethod } from './grpc-client.js';
export {
  CORRELATION_ID_KEY,
  callStatusOf,
  correlationIdOf,
  correlationMetadata,
  serverStreamHandler,
  unaryHandler,
} from './call-handlers.js';
export type { CallContext, CallLogger, CallStatus, StreamContext } from './call-handlers.js';
export {
  DEFAULT_DRAIN_GRACE_MS,
  drainOnSignals,
  serviceNameOf,
  startGrpcService,
  stopOnSignals,
} from './grpc-service.js';
export type {
  DrainOnSignalsOptions,
  DrainOptions,
  DrainOutcome,
  GrpcService,
  StartGrpcServiceOptions,
} from './grpc-service.js';
export { checkHealth } from './health-client.js';
export { GRPC_TLS_VARIABLES, grpcClientSecurity, grpcServerCredentials, grpcTlsFromEnv } from './grpc-tls.js';
export type { GrpcClientSecurity, GrpcTls } from './grpc-tls.js';
export type { CheckHealthOptions, HealthStatus } from './health-client.js';
export { assertFieldLayout, gridIssues } from './field-layout.js';
export type { FieldLayout } from './field-layout.js';
export { parseServiceArgs, serviceSourceChoice } from './service-args.js';
export type { ServiceArgs, ServiceArgsSpec, ServiceSourceChoice } from './service-args.js';
export { resolveModelVersion } from './model-version.js';
export {
  SAMPLE_JOB_NAME,
  SAMPLE_JOB_VERSION,
  parseSampleJobData,
  parseSampleJobReturn,
  sampleFailure,
  sampleFailureReason,
  sampleJobData,
  sampleJobId,
  sampleJobReturn,
} from './sample-job.js';
export type { SampleJobData, SampleJobProgress, SampleJobReturn } from './sample-job.js';

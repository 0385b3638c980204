/**
 * What the orchestrator's data path asks of the five gRPC services: one promise-returning method per rpc it calls,
 * each bound to the job's abort signal (aborting cancels the call in flight) and correlation id (sent as
 * `x-correlation-id` metadata, so the services' log lines join the job's). `adapters/grpc-services.ts` implements
 * them over grpc-js; tests give fakes.
 */
import type {
  CheckRequest,
  CheckResponse,
  DecodeRequest,
  DecodeResponse,
  EncodeRequest,
  EncodeResponse,
  Progress,
  RolloutRequest,
  RolloutState,
  SampleRequest,
  SampleResult,
  ScoreRequest,
  ScoreResult,
  SubmitRequest,
  SubmitResponse,
} from '@alignda/rpc';

/** The job a call is made for. */
export interface CallScope {
  /** The assimilation job's id (the sample queue keys its job step by it). */
  readonly jobId: string;
  /** Aborted when the job is cancelled or the orchestrator stops: the call in flight is cancelled. */
  readonly signal: AbortSignal;
  /** The job's correlation id, sent as `x-correlation-id`. */
  readonly correlationId: string;
}

/**
 * The five services. A failed call rejects with an AppError whose code is the gRPC status mapped back
 * (`appErrorCodeFromGrpcStatus`: UNAVAILABLE when the service is down, the service's own code otherwise) and whose
 * message names the rpc; a cancelled one with CANCELLED.
 */
export interface ServicePorts {
  readonly ingest: {
    submit(request: SubmitRequest, scope: CallScope): Promise<SubmitResponse>;
    check(request: CheckRequest, scope: CallScope): Promise<CheckResponse>;
  };
  readonly encoder: {
    encode(request: EncodeRequest, scope: CallScope): Promise<EncodeResponse>;
    decode(request: DecodeRequest, scope: CallScope): Promise<DecodeResponse>;
  };
  readonly sampler: {
    /** The stream's one result; `onProgress` sees every Progress before it. */
    sample(
      request: SampleRequest,
      scope: CallScope,
      onProgress: (progress: Progress) => void,
    ): Promise<SampleResult>;
  };
  readonly forecast: {
    /** The state at the final lead time (the stream's last state). */
    rollout(request: RolloutRequest, scope: CallScope): Promise<RolloutState>;
  };
  readonly reward: {
    /** The stream's one result. */
    score(request: ScoreRequest, scope: CallScope): Promise<ScoreResult>;
  };
}

/**
 * What the store step records besides the netCDF: the job's map (map.png: mean, spread, background and increment of
 * one channel, the observations marked) and its provenance (the Analysis row's `provenance`: code, runtime, models,
 * seeds, request), which `GET /v1/assimilations/:id/provenance` returns and `alignda assimilate --from-job` reads.
 */
import { platformProvenance } from '@alignda/nn';
import type { ModelManifest, ModelFileRecord, PlatformProvenance } from '@alignda/nn';
import type { AssimilationRequest } from '@alignda/pipelines';
import type { SampleResult } from '@alignda/rpc';
import { analysisMapPng, observationLocations } from '@alignda/world';
import type { DaSource } from '@alignda/world';

/** The file name of a job's map in its result folder. */
export const MAP_FILE = 'map.png';

/** The version of {@link AnalysisProvenance}'s layout. */
export const PROVENANCE_VERSION = 1;

/** The Analysis row's provenance. */
export interface AnalysisProvenance {
  readonly version: typeof PROVENANCE_VERSION;
  /** When the analysis was stored, ISO 8601 UTC. */
  readonly recordedAt: string;
  /** The orchestrator's checkout (the services run the same code in a deployment). Null outside git. */
  readonly gitCommit: string | null;
  /** SHA-256 of package-lock.json, hex. */
  readonly lockfileSha256: string | null;
  readonly node: string;
  readonly onnxruntime: {
    readonly version: string;
    /** ALIGNDA_EXECUTION_PROVIDER of the orchestrator (cpu, cuda, auto); null when unknown. */
    readonly executionProviderRequested: string | null;
    /** The provider the sampler ran on, when its result says (cpu or cuda); else null. */
    readonly executionProvider: string | null;
  };
  /** The sampler replica that sampled the members (`host:pid`), when its result says; else null. */
  readonly sampler: string | null;
  readonly models: {
    /** The model version the platform serves. */
    readonly version: string;
    /** The score-model version the sampler reports having used. */
    readonly sampled: string;
    readonly manifest: ModelManifest | null;
    /** SHA-256 of the checkpoints and manifest; empty when the orchestrator was not told its model folder. */
    readonly files: readonly ModelFileRecord[];
  };
  /** The request's sampler seed and each member's stream seed. */
  readonly seeds: { readonly sampler: number; readonly members: readonly number[] };
  /** The request as run (defaults filled in). */
  readonly request: AssimilationRequest;
}

/** What one job adds to the process's provenance. */
export interface JobProvenanceInput {
  readonly request: AssimilationRequest;
  readonly seeds: AnalysisProvenance['seeds'];
  /** The sampler's result (its `executionProvider` and `sampler`, empty from a sampler older than those fields). */
  readonly sampled: SampleResult;
  /** The version the platform serves. */
  readonly modelVersion: string;
}

/** A non-empty string field of `value`, else null (an older sampler leaves the field empty). */
function reported(value: object, key: string): string | null {
  const v = (value as Record<string, unknown>)[key];
  return typeof v === 'string' && v !== '' ? v : null;
}

/** The process's provenance when the caller gave none: code and runtime, no model files. Computed once. */
let fallback: Promise<PlatformProvenance> | undefined;

/**
 * The provenance of one stored analysis.
 * @param platform - the orchestrator's (main.ts: `platformProvenance({ modelDir, modelVersion, executionProvider })`);
 *   without it, the code and runtime are read here and the model files are not hashed
 */
export async function analysisProvenance(
  platform: PlatformProvenance | Promise<PlatformProvenance> | undefined,
  job: JobProvenanceInput,
): Promise<AnalysisProvenance> {
  const p = await (platform ?? (fallback ??= platformProvenance()));
  return {
    version: PROVENANCE_VERSION,
    recordedAt: new Date().toISOString(),
    gitCommit: p.gitCommit,
    lockfileSha256: p.lockfileSha256,
    node: p.node,
    onnxruntime: {
      version: p.onnxruntime.version,
      executionProviderRequested: p.onnxruntime.executionProviderRequested,
      executionProvider: reported(job.sampled, 'executionProvider'),
    },
    sampler: reported(job.sampled, 'sampler'),
    models: {
      version: p.models?.version ?? job.modelVersion,
      sampled: job.sampled.modelVersion,
      manifest: p.models?.manifest ?? null,
      files: p.models?.files ?? [],
    },
    seeds: job.seeds,
    request: job.request,
  };
}

/** The fields of the map, physical units: [C, H, W] (the first channel is drawn). */
export interface MapFields {
  readonly mean: Float32Array;
  readonly spread?: Float32Array;
  readonly background: Float32Array;
}

/**
 * The PNG of the job's map: channel `channel` (the first by default) of the mean, spread, background and increment,
 * the request's observation locations marked.
 */
export function analysisMap(
  source: DaSource,
  fields: MapFields,
  request: AssimilationRequest,
  validTime: string,
  channel = 0,
): Buffer {
  const [, H, W] = source.shape;
  const plane = (a: Float32Array): Float32Array => a.subarray(channel * H * W, (channel + 1) * H * W);
  return analysisMapPng({
    grid: source.grid,
    channel: source.channels[channel] ?? String(channel),
    units: source.units[channel] ?? '',
    validTime,
    mean: plane(fields.mean),
    ...(fields.spread === undefined ? {} : { spread: plane(fields.spread) }),
    background: plane(fields.background),
    ...(source.validMask === undefined ? {} : { validMask: source.validMask }),
    observations: observationLocations(request.observations, source.grid),
    note: `${request.method}, ${request.members} member${request.members === 1 ? '' : 's'}`,
  });
}

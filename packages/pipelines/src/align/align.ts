/**
 * The alignment use case (METHOD.md section 6, issue 12): a trained reference model set -> a preference set of
 * the alignment period (built once and cached by its options; its bytes carry a content hash) -> Diffusion-DPO of
 * the score network -> `score-aligned-<set>.safetensors` beside the reference. Files go through an
 * {@link AlignmentStore}; the DPO checkpoint is resumable like `train`.
 */
import type { PreferenceSetName } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { resolveDpoConfig, trainDpo } from '@alignda/nn';
import type { DpoConfig, DpoMetrics, DpoProgress, LatentModels } from '@alignda/nn';
import type { DaSource } from '@alignda/world';

import type { BackgroundKind } from '../evaluate-latent-options.js';
import { contentHash, decodePreferenceSet, encodePreferenceSet } from './preference-file.js';
import { buildPreferenceSet } from './preference-set.js';
import type { PreferenceSet, PreferenceSetMeta, PreferenceSetOptions } from './preference-set.js';

/** Where the alignment of one model set keeps its files (a model folder, a blob store). */
export interface AlignmentStore {
  /** The set's stored bytes and the hash recorded when they were written; undefined when none. */
  readPreferences(
    set: PreferenceSetName,
  ): Promise<{ bytes: Uint8Array; hash: string; file: string } | undefined>;
  /** Stores the set's bytes with their hash; returns the file's name. */
  writePreferences(set: PreferenceSetName, bytes: Uint8Array, hash: string): Promise<string>;
  /** The aligned score network's checkpoint file (DPO checkpoints and resumes there). */
  alignedCheckpointPath(set: PreferenceSetName): string;
}

/** Options of {@link alignModels}. */
export interface AlignOptions extends Omit<PreferenceSetOptions, 'onProgress' | 'signal' | 'background'> {
  readonly background: BackgroundKind;
  /** DPO hyper-parameters (beta, steps, pairs per step, learning rate). @defaultValue packages/nn's DPO_DEFAULTS */
  readonly dpo?: Partial<DpoConfig>;
  /** Continue an interrupted DPO run from its checkpoint. @defaultValue 'if-exists' */
  readonly resume?: boolean | 'if-exists';
  /** DPO steps between checkpoints: a killed run resumes from the last. @defaultValue 200 (packages/nn's) */
  readonly checkpointEverySteps?: number;
  readonly onProgress?: (stage: string, fraction: number) => void;
  readonly onDpoStep?: (p: DpoProgress) => void;
  readonly signal?: AbortSignal;
}

/** What {@link alignModels} returns. */
export interface AlignResult {
  readonly preferences: {
    readonly meta: PreferenceSetMeta;
    readonly hash: string;
    readonly file: string;
    /** Whether a stored set with the same options was reused. */
    readonly reused: boolean;
  };
  readonly dpo: DpoConfig;
  readonly checkpoint: string;
  readonly completed: boolean;
  readonly resumedFrom: number;
  /** Held-out DPO metrics of the reference (before) and of the aligned network (after). */
  readonly heldOut?: { readonly before: DpoMetrics; readonly after: DpoMetrics };
}

/** The options a stored set must have been built with to be reused. */
function sameOptions(
  meta: PreferenceSetMeta,
  want: Required<
    Pick<PreferenceSetMeta, 'set' | 'candidates' | 'steps' | 'seed' | 'background' | 'source'>
  > & { conditions: number },
): boolean {
  return (
    meta.set === want.set &&
    meta.source === want.source &&
    meta.candidates === want.candidates &&
    meta.steps === want.steps &&
    meta.seed === want.seed &&
    meta.background === want.background &&
    meta.trainConditions.length + meta.heldOutConditions.length === want.conditions
  );
}

/** A preference set ready for DPO: built now or reused from the store. */
export interface PreparedPreferences {
  readonly set: PreferenceSet;
  readonly hash: string;
  readonly file: string;
  /** Whether a stored set with the same options was reused. */
  readonly reused: boolean;
}

/** The options a stored set is compared with, defaults filled in. */
function wanted(source: Pick<DaSource, 'name'>, options: AlignOptions) {
  return {
    set: options.set,
    source: source.name,
    candidates: options.candidates ?? 32,
    steps: options.steps ?? 64,
    seed: options.seed ?? 11,
    background: options.background,
    conditions: options.conditions ?? 24,
  };
}

/** The stored set of `options.set` when it was built with these options and latent shape; else undefined. */
async function storedSet(
  source: Pick<DaSource, 'name'>,
  models: LatentModels,
  store: AlignmentStore,
  options: AlignOptions,
): Promise<PreparedPreferences | undefined> {
  const stored = await store.readPreferences(options.set);
  if (stored === undefined) return undefined;
  const d = decodePreferenceSet(stored.bytes, stored.hash, stored.file);
  const zShape = models.score.config.latentShape;
  if (!sameOptions(d.set.meta, wanted(source, options)) || d.zShape.join() !== zShape.join())
    return undefined;
  return { set: d.set, hash: d.hash, file: stored.file, reused: true };
}

/**
 * The first half of {@link alignModels}: the preference set of `options.set` (candidates drawn, scored and paired
 * on the alignment period), reused from `store` when it holds one built with the same options, else built and
 * written there. A worker that trains elsewhere reads it back with {@link trainAlignment}.
 * @throws AppError FAILED_PRECONDITION for a stored set whose bytes do not match its hash, or no training pairs;
 *   INVALID_ARGUMENT for a set the source cannot support
 */
export async function preparePreferences(
  source: DaSource,
  models: LatentModels,
  store: AlignmentStore,
  options: AlignOptions,
): Promise<PreparedPreferences> {
  const reused = await storedSet(source, models, store, options);
  if (reused !== undefined) return reused;
  const want = wanted(source, options);
  const set = await buildPreferenceSet(source, models, {
    ...options,
    candidates: want.candidates,
    steps: want.steps,
    seed: want.seed,
    conditions: want.conditions,
    onProgress: options.onProgress ?? (() => undefined),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (set.train.count === 0)
    throw new AppError(
      'FAILED_PRECONDITION',
      `preference set ${options.set}: no training pairs came out of ${set.meta.trainConditions.length} conditions`,
    );
  const bytes = encodePreferenceSet(set, models.score.config.latentShape);
  const hash = contentHash(bytes);
  const file = await store.writePreferences(options.set, bytes, hash);
  return { set, hash, file, reused: false };
}

/**
 * The second half of {@link alignModels}: Diffusion-DPO of the reference score network on a prepared set (or, when
 * none is given, the set `store` holds for these options), checkpointing to `store.alignedCheckpointPath` every
 * `options.checkpointEverySteps` steps and resuming from it.
 * @throws AppError FAILED_PRECONDITION when no set is given and the store holds none built with these options;
 *   TrainError for a DPO checkpoint of another run
 */
export async function trainAlignment(
  source: Pick<DaSource, 'name'>,
  models: LatentModels,
  store: AlignmentStore,
  options: AlignOptions,
  prepared?: PreparedPreferences,
): Promise<AlignResult> {
  const dpo = resolveDpoConfig(options.dpo);
  const progress = options.onProgress ?? (() => undefined);
  const prefs = prepared ?? (await storedSet(source, models, store, options));
  if (prefs === undefined)
    throw new AppError(
      'FAILED_PRECONDITION',
      `no preference set ${options.set} built with these options is stored: prepare it first (preparePreferences)`,
    );
  const { set, hash } = prefs;
  const checkpoint = store.alignedCheckpointPath(options.set);
  const res = await trainDpo({
    reference: models.score,
    train: set.train,
    ...(set.heldOut.count > 0 ? { heldOut: set.heldOut } : {}),
    config: dpo,
    data: { preferenceSet: hash },
    checkpointPath: checkpoint,
    ...(options.checkpointEverySteps === undefined
      ? {}
      : { checkpointEverySteps: options.checkpointEverySteps }),
    resume: options.resume ?? 'if-exists',
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onProgress: (p) => {
      progress('DPO', p.step / p.steps);
      options.onDpoStep?.(p);
    },
  });
  return {
    preferences: { meta: set.meta, hash, file: prefs.file, reused: prefs.reused },
    dpo,
    checkpoint,
    completed: res.completed,
    resumedFrom: res.resumedFrom,
    ...(res.heldOut === undefined ? {} : { heldOut: res.heldOut }),
  };
}

/**
 * Aligns the score network of `models` to the preference set `options.set`: {@link preparePreferences}, then
 * {@link trainAlignment}.
 * @throws AppError FAILED_PRECONDITION when a stored set's bytes do not match its recorded hash (naming the file),
 *   INVALID_ARGUMENT for a set the source cannot support; TrainError for a DPO checkpoint of another run
 */
export async function alignModels(
  source: DaSource,
  models: LatentModels,
  store: AlignmentStore,
  options: AlignOptions,
): Promise<AlignResult> {
  resolveDpoConfig(options.dpo); // a bad beta is refused before any candidate is drawn
  const prepared = await preparePreferences(source, models, store, options);
  return trainAlignment(source, models, store, options, prepared);
}

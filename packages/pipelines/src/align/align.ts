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

/**
 * Aligns the score network of `models` to the preference set `options.set`.
 * @throws AppError FAILED_PRECONDITION when a stored set's bytes do not match its recorded hash (naming the file),
 *   INVALID_ARGUMENT for a set the source cannot support; TrainError for a DPO checkpoint of another run
 */
export async function alignModels(
  source: DaSource,
  models: LatentModels,
  store: AlignmentStore,
  options: AlignOptions,
): Promise<AlignResult> {
  const dpo = resolveDpoConfig(options.dpo);
  const progress = options.onProgress ?? (() => undefined);
  const want = {
    set: options.set,
    source: source.name,
    candidates: options.candidates ?? 32,
    steps: options.steps ?? 64,
    seed: options.seed ?? 11,
    background: options.background,
    conditions: options.conditions ?? 24,
  };
  const zShape = models.score.config.latentShape;
  let set: PreferenceSet | undefined;
  let hash = '';
  let file = '';
  let reused = false;
  const stored = await store.readPreferences(options.set);
  if (stored !== undefined) {
    const d = decodePreferenceSet(stored.bytes, stored.hash, stored.file);
    if (sameOptions(d.set.meta, want) && d.zShape.join() === zShape.join()) {
      set = d.set;
      hash = d.hash;
      file = stored.file;
      reused = true;
    }
  }
  if (set === undefined) {
    set = await buildPreferenceSet(source, models, {
      ...options,
      candidates: want.candidates,
      steps: want.steps,
      seed: want.seed,
      conditions: want.conditions,
      onProgress: progress,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (set.train.count === 0)
      throw new AppError(
        'FAILED_PRECONDITION',
        `preference set ${options.set}: no training pairs came out of ${set.meta.trainConditions.length} conditions`,
      );
    const bytes = encodePreferenceSet(set, zShape);
    hash = contentHash(bytes);
    file = await store.writePreferences(options.set, bytes, hash);
  }
  const checkpoint = store.alignedCheckpointPath(options.set);
  const res = await trainDpo({
    reference: models.score,
    train: set.train,
    ...(set.heldOut.count > 0 ? { heldOut: set.heldOut } : {}),
    config: dpo,
    data: { preferenceSet: hash },
    checkpointPath: checkpoint,
    resume: options.resume ?? 'if-exists',
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onProgress: (p) => {
      progress('DPO', p.step / p.steps);
      options.onDpoStep?.(p);
    },
  });
  return {
    preferences: { meta: set.meta, hash, file, reused },
    dpo,
    checkpoint,
    completed: res.completed,
    resumedFrom: res.resumedFrom,
    ...(res.heldOut === undefined ? {} : { heldOut: res.heldOut }),
  };
}

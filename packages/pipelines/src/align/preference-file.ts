/**
 * A preference set as bytes: safetensors with the pairs' latents (`train.winners`, `train.losers`,
 * `train.backgrounds` and the same for `heldout`, each [pairs, Cz, h, w] float32) and the metadata as JSON, with a
 * content hash (sha256 of the bytes, hex) that the registry row and the aligned checkpoint record.
 */
import { createHash } from 'node:crypto';

import { AppError } from '@alignda/errors';
import { SafetensorsError, decodeSafetensors, encodeSafetensors } from '@alignda/graph';
import type { SafetensorsTensor } from '@alignda/graph';
import type { PreferencePairs } from '@alignda/nn';

import { PREFERENCE_SET_FORMAT } from './preference-set.js';
import type { PreferenceSet, PreferenceSetMeta } from './preference-set.js';

/** sha256 of the bytes, hex. */
export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Serialises a preference set; its pairs must share one latent shape. */
export function encodePreferenceSet(set: PreferenceSet, zShape: readonly number[]): Uint8Array {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [part, pairs] of [
    ['train', set.train],
    ['heldout', set.heldOut],
  ] as const) {
    for (const k of ['winners', 'losers', 'backgrounds'] as const)
      tensors[`${part}.${k}`] = { dtype: 'F32', shape: [pairs.count, ...zShape], data: pairs[k] };
  }
  return encodeSafetensors(tensors, { meta: JSON.stringify(set.meta), zShape: JSON.stringify(zShape) });
}

/**
 * Reads a preference set, checking its bytes against the hash recorded for it.
 * @param file - the file's name, for messages
 * @throws AppError FAILED_PRECONDITION when the hash does not match or the file is not a preference set
 */
export function decodePreferenceSet(
  bytes: Uint8Array,
  recordedHash: string,
  file: string,
): { set: PreferenceSet; zShape: readonly number[]; hash: string } {
  const hash = contentHash(bytes);
  if (hash !== recordedHash)
    throw new AppError(
      'FAILED_PRECONDITION',
      `${file}: content hash ${hash.slice(0, 12)}... does not match the recorded ${recordedHash.slice(0, 12)}...; the file changed after it was written: delete it to rebuild the set`,
    );
  let meta: PreferenceSetMeta;
  let zShape: number[];
  let tensors: Record<string, SafetensorsTensor>;
  try {
    const c = decodeSafetensors(bytes);
    meta = JSON.parse(c.metadata.meta ?? 'null') as PreferenceSetMeta;
    zShape = JSON.parse(c.metadata.zShape ?? 'null') as number[];
    tensors = c.tensors;
  } catch (err) {
    if (!(err instanceof SafetensorsError) && !(err instanceof SyntaxError)) throw err;
    throw new AppError('FAILED_PRECONDITION', `${file} is not a readable preference set: ${err.message}`, {
      cause: err,
    });
  }
  if (meta?.format !== PREFERENCE_SET_FORMAT || !Array.isArray(zShape))
    throw new AppError('FAILED_PRECONDITION', `${file} is not a preference set (${PREFERENCE_SET_FORMAT})`);
  const pairs = (part: string): PreferencePairs => {
    const get = (k: string): Float32Array => {
      const t = tensors[`${part}.${k}`];
      if (t === undefined || !(t.data instanceof Float32Array))
        throw new AppError('FAILED_PRECONDITION', `${file}: no float32 tensor '${part}.${k}'`);
      return t.data;
    };
    const winners = get('winners');
    return {
      count: tensors[`${part}.winners`]?.shape[0] ?? 0,
      winners,
      losers: get('losers'),
      backgrounds: get('backgrounds'),
    };
  };
  return { set: { meta, train: pairs('train'), heldOut: pairs('heldout') }, zShape, hash };
}

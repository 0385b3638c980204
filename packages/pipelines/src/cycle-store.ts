/**
 * A {@link CycleStore} on a snapshot port (packages/world's `snapshotDir` in the CLI and the cycle service):
 * `state.json` holds everything but the carried states, non-finite numbers kept as `{ "$num": "NaN" }`, and each
 * carried state is one raw little-endian Float32 file (`<method>.analysis.f32`, `<method>.ensemble.f32`).
 */
import { AppError } from '@alignda/errors';
import type { SnapshotFiles } from '@alignda/world';

import type { CarriedState, CycleState, CycleStore } from './cycle-types.js';

/** What state.json holds for a carried state: file names in place of the arrays. */
interface CarriedRef {
  readonly analysis?: string;
  readonly ensemble?: string;
  readonly members?: number;
  readonly stopped?: boolean;
}

const replacer = (_k: string, v: unknown): unknown =>
  typeof v === 'number' && !Number.isFinite(v) ? { $num: String(v) } : v;

const reviver = (_k: string, v: unknown): unknown =>
  typeof v === 'object' && v !== null && '$num' in v && Object.keys(v).length === 1
    ? Number((v as { $num: string }).$num)
    : v;

/** The array's own bytes: little-endian on every platform Node runs on here (x64, arm64). */
const bytesOf = (data: Float32Array): Uint8Array =>
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

function f32Of(bytes: Uint8Array, what: string): Float32Array {
  if (bytes.byteLength % 4 !== 0)
    throw new AppError('INVALID_ARGUMENT', `${what}: ${bytes.byteLength} bytes is not a Float32 array`);
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/**
 * The cycle state kept in `files`.
 * @throws AppError `INVALID_ARGUMENT` (from load) for a state of another version or a missing or torn array file
 */
export function cycleStoreOn(files: SnapshotFiles): CycleStore {
  const where = (name: string): string => `${files.location}/${name}`;
  const array = (name: string): Float32Array => {
    const bytes = files.read(name);
    if (bytes === undefined) throw new AppError('INVALID_ARGUMENT', `${where(name)} is missing`);
    return f32Of(bytes, where(name));
  };
  return {
    load: () => {
      const json = files.read('state.json');
      if (json === undefined) return Promise.resolve(undefined);
      const body = JSON.parse(new TextDecoder().decode(json), reviver) as Omit<CycleState, 'carried'> & {
        carried: Record<string, CarriedRef>;
      };
      if (body.version !== 1)
        throw new AppError(
          'INVALID_ARGUMENT',
          `${where('state.json')}: cycle state version ${String(body.version)} is not 1`,
        );
      const carried: Record<string, CarriedState> = {};
      for (const [m, ref] of Object.entries(body.carried))
        carried[m] = {
          ...(ref.analysis === undefined ? {} : { analysis: array(ref.analysis) }),
          ...(ref.ensemble === undefined ? {} : { ensemble: array(ref.ensemble) }),
          ...(ref.members === undefined ? {} : { members: ref.members }),
          ...(ref.stopped === undefined ? {} : { stopped: ref.stopped }),
        };
      return Promise.resolve({ ...body, carried });
    },
    save: (state) => {
      const out = new Map<string, Uint8Array | string>();
      const refs: Record<string, CarriedRef> = {};
      for (const [m, c] of Object.entries(state.carried)) {
        const ref: { -readonly [K in keyof CarriedRef]: CarriedRef[K] } = {};
        if (c.analysis !== undefined) {
          ref.analysis = `${m}.analysis.f32`;
          out.set(ref.analysis, bytesOf(c.analysis));
        }
        if (c.ensemble !== undefined) {
          ref.ensemble = `${m}.ensemble.f32`;
          out.set(ref.ensemble, bytesOf(c.ensemble));
        }
        if (c.members !== undefined) ref.members = c.members;
        if (c.stopped !== undefined) ref.stopped = c.stopped;
        refs[m] = ref;
      }
      out.set('state.json', JSON.stringify({ ...state, carried: refs }, replacer));
      files.write(out);
      return Promise.resolve();
    },
  };
}

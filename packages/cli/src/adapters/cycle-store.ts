/**
 * The file {@link CycleStore} of `alignda cycle`: under `<dir>/state/`, `state.json` (everything but the states,
 * non-finite numbers kept as `{ "$num": "NaN" }`) and one raw little-endian Float32 file per carried state
 * (`<method>.analysis.f32`, `<method>.ensemble.f32`). A save is written to `state.tmp/` and swapped in by renames,
 * so a process killed mid-save leaves the previous state whole (`state.old/` is read when `state/` is missing).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { AppError } from '@alignda/errors';
import type { CarriedState, CycleState, CycleStore } from '@alignda/pipelines';

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

function writeF32(file: string, data: Float32Array): void {
  // Little-endian on every platform Node runs on here (x64, arm64); the file is the array's own bytes.
  writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function readF32(file: string): Float32Array {
  const bytes = readFileSync(file);
  if (bytes.byteLength % 4 !== 0)
    throw new AppError('INVALID_ARGUMENT', `${file}: ${bytes.byteLength} bytes is not a Float32 array`);
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** A {@link CycleStore} in `<dir>/state/`. */
export function fileCycleStore(dir: string): CycleStore & { readonly location: string; exists(): boolean } {
  const live = path.join(dir, 'state');
  const tmp = path.join(dir, 'state.tmp');
  const old = path.join(dir, 'state.old');
  const readable = (): string | undefined =>
    existsSync(path.join(live, 'state.json'))
      ? live
      : existsSync(path.join(old, 'state.json'))
        ? old
        : undefined;
  return {
    location: live,
    exists: () => readable() !== undefined,
    load: () => {
      const from = readable();
      if (from === undefined) return Promise.resolve(undefined);
      const body = JSON.parse(readFileSync(path.join(from, 'state.json'), 'utf8'), reviver) as Omit<
        CycleState,
        'carried'
      > & { carried: Record<string, CarriedRef> };
      if (body.version !== 1)
        throw new AppError(
          'INVALID_ARGUMENT',
          `${from}: cycle state version ${String(body.version)} is not 1`,
        );
      const carried: Record<string, CarriedState> = {};
      for (const [m, ref] of Object.entries(body.carried))
        carried[m] = {
          ...(ref.analysis === undefined ? {} : { analysis: readF32(path.join(from, ref.analysis)) }),
          ...(ref.ensemble === undefined ? {} : { ensemble: readF32(path.join(from, ref.ensemble)) }),
          ...(ref.members === undefined ? {} : { members: ref.members }),
          ...(ref.stopped === undefined ? {} : { stopped: ref.stopped }),
        };
      return Promise.resolve({ ...body, carried });
    },
    save: (state) => {
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      const refs: Record<string, CarriedRef> = {};
      for (const [m, c] of Object.entries(state.carried)) {
        const ref: { -readonly [K in keyof CarriedRef]: CarriedRef[K] } = {};
        if (c.analysis !== undefined) {
          ref.analysis = `${m}.analysis.f32`;
          writeF32(path.join(tmp, ref.analysis), c.analysis);
        }
        if (c.ensemble !== undefined) {
          ref.ensemble = `${m}.ensemble.f32`;
          writeF32(path.join(tmp, ref.ensemble), c.ensemble);
        }
        if (c.members !== undefined) ref.members = c.members;
        if (c.stopped !== undefined) ref.stopped = c.stopped;
        refs[m] = ref;
      }
      writeFileSync(path.join(tmp, 'state.json'), JSON.stringify({ ...state, carried: refs }, replacer));
      rmSync(old, { recursive: true, force: true });
      if (existsSync(live)) renameSync(live, old);
      renameSync(tmp, live);
      rmSync(old, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { CycleState } from '@alignda/pipelines';
import { afterEach, describe, expect, it } from 'vitest';

import { fileCycleStore } from './cycle-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'alignda-cycle-store-'));
  dirs.push(d);
  return d;
}

function state(next: number): CycleState {
  return {
    version: 1,
    fingerprint: '{"seed":7}',
    nextCycle: next,
    seed: 7,
    setup: {
      norm: { channels: ['a', 'b'], mean: [0, 1], std: [1, 2] },
      climStd: [0.5, 0.25],
      threshold: 0.4,
    },
    carried: {
      '3dvar': { analysis: Float32Array.from([0.1, -2.5, 3e-8, Number.MAX_VALUE / 1e300]) },
      letkf: { ensemble: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), members: 2 },
      dps: { stopped: true },
    },
    series: {
      '3dvar': [
        {
          cycle: 0,
          stateIndex: 1,
          time: '2001-01-01T06',
          analysisRmse: Number.NaN,
          backgroundRmse: 0.125,
          analysisRmseByVar: [1.5, Number.POSITIVE_INFINITY],
          backgroundRmseByVar: [2, 3],
          omb: { mean: 0.01, rms: 0.2 },
          oma: { mean: -0.001, rms: 0.02 },
          observations: 143,
          diverged: true,
          seconds: 0.5,
        },
      ],
    },
    skill: [{ cycle: 0, stateIndex: 1, truthHours: null, methods: { '3dvar': { hours: 12.5, lost: null } } }],
  };
}

describe('fileCycleStore', () => {
  it('has nothing to load in an empty folder', async () => {
    const store = fileCycleStore(tmp());
    expect(store.exists()).toBe(false);
    expect(await store.load()).toBeUndefined();
  });

  it('gives back exactly what it saved: states bit for bit, non-finite numbers as they were', async () => {
    const dir = tmp();
    const store = fileCycleStore(dir);
    await store.save(state(3));
    expect(store.exists()).toBe(true);
    expect(await fileCycleStore(dir).load()).toEqual(state(3));
    // The states are raw Float32 files, 4 bytes a value.
    expect(readFileSync(path.join(dir, 'state', 'letkf.ensemble.f32')).byteLength).toBe(32);
  });

  it('replaces the previous state and leaves no temporary folder behind', async () => {
    const dir = tmp();
    const store = fileCycleStore(dir);
    await store.save(state(1));
    await store.save(state(2));
    expect((await store.load())?.nextCycle).toBe(2);
    expect(existsSync(path.join(dir, 'state.tmp'))).toBe(false);
    expect(existsSync(path.join(dir, 'state.old'))).toBe(false);
  });
});

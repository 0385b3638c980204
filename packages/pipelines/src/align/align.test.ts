/**
 * The alignment use case end to end on ci-sized models trained a few steps on a one-variable in-memory dataset
 * (rewards R_assim and R_forecast: set M), and the preference file's content hash.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { PreferenceSetName } from '@alignda/da';
import { fileModelStore } from '@alignda/nn';
import type { LatentModels } from '@alignda/nn';
import { createRng } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { memoryDataset } from '../internal/testing.js';
import { trainLatentModels } from '../train/train.js';
import { alignModels } from './align.js';
import type { AlignmentStore } from './align.js';
import { contentHash, decodePreferenceSet } from './preference-file.js';

const [C, H, W] = [1, 32, 64];
const COUNT = 120;

/** Travelling temperature waves (K) on the ci grid: train 60 states, alignment 36, test 24. */
function memorySource(): DaSource {
  const rng = createRng(5);
  const states = Array.from({ length: COUNT }, (_, t) => {
    const [a, b] = [rng.normal(), rng.normal()];
    return Float32Array.from({ length: C * H * W }, (_, g) => {
      const [i, k] = [Math.floor(g / W), g % W];
      return (
        280 - 0.5 * i + 3 * a * Math.sin((2 * Math.PI * k) / W + t / 4) + 2 * b * Math.cos((Math.PI * i) / H)
      );
    });
  });
  return memoryDataset(states, { train: [0, 60], alignment: [60, 96], test: [96, COUNT] });
}

/** A folder store: preferences-<set>.safetensors with its hash beside it in preferences-<set>.sha256. */
function folderStore(dir: string): AlignmentStore & { writes: number } {
  const store = {
    writes: 0,
    readPreferences: (set: PreferenceSetName) => {
      const file = path.join(dir, `preferences-${set}.safetensors`);
      if (!existsSync(file)) return Promise.resolve(undefined);
      return Promise.resolve({
        bytes: new Uint8Array(readFileSync(file)),
        hash: readFileSync(path.join(dir, `preferences-${set}.sha256`), 'utf8'),
        file,
      });
    },
    writePreferences: (set: PreferenceSetName, bytes: Uint8Array, hash: string) => {
      const file = path.join(dir, `preferences-${set}.safetensors`);
      writeFileSync(file, bytes);
      writeFileSync(path.join(dir, `preferences-${set}.sha256`), hash);
      store.writes++;
      return Promise.resolve(file);
    },
    alignedCheckpointPath: (set: PreferenceSetName) => path.join(dir, `score-aligned-${set}.safetensors`),
  };
  return store;
}

describe('alignModels', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'alignda-align-'));
  const dir = path.join(root, 'models');
  let models: LatentModels | undefined;
  beforeAll(async () => {
    mkdirSync(dir);
    const store = fileModelStore(dir);
    await trainLatentModels(memorySource(), store, { preset: 'ci', steps: 3, seed: 1 });
    models = await store.loadAll();
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const options = {
    set: 'M',
    background: 'emulator',
    candidates: 4,
    conditions: 4,
    steps: 4,
    dpo: { steps: 2, pairsPerStep: 2 },
  } as const;

  it('builds set M once (pairs within conditions, hash recorded), trains DPO and reuses the set', async () => {
    if (models === undefined) throw new Error('no models');
    const store = folderStore(dir);
    const res = await alignModels(memorySource(), models, store, options);
    const meta = res.preferences.meta;
    expect(meta.rewards).toEqual(['assim', 'forecast']);
    expect(meta.candidates).toBe(4);
    expect(meta.trainConditions.length + meta.heldOutConditions.length).toBe(4);
    for (const i of [...meta.trainConditions, ...meta.heldOutConditions]) {
      expect(i).toBeGreaterThanOrEqual(60);
      expect(i).toBeLessThan(96);
    }
    expect(meta.trainPairs).toBeGreaterThan(0);
    expect(res.preferences.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(res.completed).toBe(true);
    expect(existsSync(res.checkpoint)).toBe(true);
    // Winners score higher than losers on average over the pairs, reward by reward.
    for (const r of meta.rewards) {
      const m = meta.rewardMeans[r];
      expect(m?.winners, r).toBeGreaterThanOrEqual(m?.losers as number);
    }
    const again = await alignModels(memorySource(), models, store, options);
    expect(again.preferences.reused).toBe(true);
    expect(again.preferences.hash).toBe(res.preferences.hash);
    expect(store.writes).toBe(1);
  }, 120_000);

  it('refuses a preference file whose bytes do not match its recorded hash, naming the file, writing nothing', async () => {
    if (models === undefined) throw new Error('no models');
    const store = folderStore(dir);
    const file = path.join(dir, 'preferences-M.safetensors');
    const bytes = new Uint8Array(readFileSync(file));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    await expect(alignModels(memorySource(), models, store, options)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringContaining(`${file}: content hash`) as string,
    });
    expect(store.writes).toBe(0);
  }, 60_000);

  it('refuses bytes that are not a preference set', () => {
    const bytes = new TextEncoder().encode('not safetensors');
    const hash = contentHash(bytes); // the content check passes, the format check is reached
    expect(() => decodePreferenceSet(bytes, hash, 'x.safetensors')).toThrow(/x\.safetensors is not/);
  });
});

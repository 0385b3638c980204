import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { fileModelStore } from '@alignda/nn';
import { createField, createRng, latLonGrid } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';
import { afterAll, describe, expect, it } from 'vitest';

import { trainLatentModels } from './train.js';
import type { ModelReport } from './train.js';

const root = mkdtempSync(path.join(tmpdir(), 'alignda-train-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const [C, H, W] = [1, 32, 64];
const COUNT = 40;
const PERIODS = { train: [0, 16], alignment: [16, 28], test: [28, COUNT] } as const;

/**
 * A one-variable dataset on the ci preset's 32 x 64 grid, 6-hourly: smooth random temperatures (K) in the train and
 * alignment periods, and NaN in every test-period state, so that anything training reads of the test period shows.
 */
function source(periods: DaSource['periods']): DaSource {
  const grid = latLonGrid(
    Array.from({ length: H }, (_, i) => 70 - 2 * i),
    Array.from({ length: W }, (_, k) => 200 + 2 * k),
  );
  const rng = createRng(3);
  const shape = [C, H, W] as const;
  const states = Array.from({ length: COUNT }, (_, t) => {
    if (t >= PERIODS.test[0]) return new Float32Array(C * H * W).fill(Number.NaN);
    const [a, b] = [rng.normal(), rng.normal()];
    return Float32Array.from({ length: C * H * W }, (_, g) => {
      const [i, k] = [Math.floor(g / W), g % W];
      return (
        280 - 0.5 * i + 3 * a * Math.sin((2 * Math.PI * k) / W + t) + 2 * b * Math.cos((Math.PI * i) / H)
      );
    });
  });
  return {
    name: 'memory',
    title: 'in-memory dataset',
    kind: 'dataset',
    grid,
    channels: ['t'],
    units: ['K'],
    shape,
    count: COUNT,
    periods,
    state: (i) => ({ data: states[i] as Float32Array, shape }),
    field: (i) => createField({ data: states[i] as Float32Array, channels: ['t'], units: ['K'], grid }),
    timeOf: (i) => new Date(Date.UTC(2013, 0, 1, 6 * i)).toISOString().slice(0, 13),
    hourOf: (i) => (6 * i) % 24,
  };
}

describe('trainLatentModels', () => {
  it('never reads the test period: held-out losses and skill are on the alignment period (test states all NaN)', async () => {
    const reports: ModelReport[] = [];
    const dir = path.join(root, 'a');
    mkdirSync(dir);
    const out = await trainLatentModels(source(PERIODS), fileModelStore(dir), {
      preset: 'ci',
      steps: 2,
      seed: 1,
      onModel: (r) => reports.push(r),
    });
    expect(out.completed).toBe(true);
    expect(out.heldOutPeriod).toBe('alignment');
    expect(out.periods).toEqual({ train: 16, heldOut: 12, test: 12 });
    expect(reports.map((r) => r.model).sort()).toEqual(['emulator', 'score', 'vae']);
    for (const r of reports) {
      expect(r.heldOutPeriod).toBe('alignment');
      expect(Number.isFinite(r.heldOutLoss), `${r.model} held-out loss ${r.heldOutLoss}`).toBe(true);
    }
    const { vae, emulator } = out.skill;
    expect(vae?.count).toBe(12);
    expect(emulator?.cases).toBeGreaterThan(0);
    const skill = [vae?.mse, vae?.variance, emulator?.mse, emulator?.persistence];
    expect(
      skill.every((v) => Number.isFinite(v)),
      skill.join(),
    ).toBe(true);
  });

  it('refuses a source without an alignment (validation) period before anything trains', async () => {
    const dir = path.join(root, 'b');
    mkdirSync(dir);
    const { train, test } = PERIODS;
    await expect(
      trainLatentModels(source({ train, test }), fileModelStore(dir), { preset: 'ci', steps: 2, seed: 1 }),
    ).rejects.toThrow(
      "memory has no alignment (validation) period: held-out losses would fall on the test period; declare one in its descriptor's periods",
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});

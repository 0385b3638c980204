import { createSession, exportInference, releaseSessions } from '@alignda/graph';
import type { TensorData } from '@alignda/graph';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EMULATOR_DEFAULTS,
  buildEmulatorForward,
  buildEmulatorRollout,
  buildEmulatorStep,
  buildEmulatorTraining,
} from './emulator.js';
import type { EmulatorConfig } from './emulator.js';
import {
  expectLossGradientMatchesFd,
  headTail,
  perturbedParams,
  randomInputs,
  run,
  smoothFields,
  trainAdamW,
} from './internal/testing.js';

afterAll(async () => {
  await releaseSessions();
});

const TINY: EmulatorConfig = {
  ...EMULATOR_DEFAULTS,
  channels: 2,
  height: 16,
  width: 32,
  hidden: 8,
  blocks: 1,
  groups: 4,
  batch: 4,
};
const SHAPE = [4, 2, 16, 32] as const;

/** Advection by one cell eastward, across the periodic seam: y[..., j] = x[..., j - 1 mod W]. */
function shiftEast(x: Float32Array, w: number): Float32Array {
  return x.map((_, i) => x[i - (i % w) + (((i % w) + w - 1) % w)] as number);
}

describe('forecast emulator', () => {
  it('is persistence before training (zero-initialised increment)', async () => {
    const g = buildEmulatorStep(TINY);
    const x = smoothFields(2, SHAPE);
    const y = (await run(g, { x, ...g.initialParams() })).y as Float32Array;
    expect(Array.from(y)).toEqual(Array.from(x));
  });

  it('the loss gradient matches central finite differences along random directions', async () => {
    const tg = buildEmulatorTraining({ ...TINY, height: 8, width: 16, batch: 2 });
    const feeds = { ...randomInputs(tg.forward, 40), ...perturbedParams(tg.forward, 41, 0.1) };
    await expectLossGradientMatchesFd(tg, feeds, [1, 2]);
  });

  it('AdamW (lr 3e-3, 60 steps) learns periodic advection to 1/10 of the persistence error; the frozen step reproduces it', async () => {
    // Seeded: persistence MSE (first 5 steps) ~0.058, last 5 steps ~0.003. Needs the periodic seam: cells at
    // j = 0 read j = W - 1.
    const data = (k: number) => {
      const x = smoothFields(k % 4, SHAPE);
      return { x, y: shiftEast(x, 32) };
    };
    const { losses, params } = await trainAdamW(buildEmulatorTraining(TINY), data, 60, 3e-3);
    const { head, tail } = headTail(losses, 5);
    expect(tail).toBeLessThan(head / 10);
    const x = smoothFields(9, SHAPE);
    const trained = (await run(buildEmulatorForward(TINY), { x, y: x, ...params })).pred as Float32Array;
    const frozen = await createSession(exportInference(buildEmulatorStep(TINY), params));
    const y = ((await frozen.run({ x })).y as TensorData).data as Float32Array;
    expect(y.reduce((m, v, i) => Math.max(m, Math.abs(v - (trained[i] as number))), 0)).toBeLessThan(1e-5);
  });

  it('a rollout graph of 3 steps shares one set of weights and equals the step graph applied 3 times', async () => {
    const cfg = { ...TINY, batch: 2 };
    const roll = buildEmulatorRollout(cfg, 3);
    const stepG = buildEmulatorStep(cfg);
    expect(roll.params.map((p) => p.name)).toEqual(stepG.params.map((p) => p.name));
    const params = perturbedParams(stepG, 12, 0.1);
    let x = smoothFields(3, [2, 2, 16, 32]);
    const y = (await run(roll, { x, ...params })).y as Float32Array;
    for (let k = 0; k < 3; k++) x = (await run(stepG, { x, ...params })).y as Float32Array;
    expect(y.reduce((m, v, i) => Math.max(m, Math.abs(v - (x[i] as number))), 0)).toBeLessThan(1e-5);
    expect(
      y.reduce((m, v, i) => Math.max(m, Math.abs(v - (smoothFields(3, [2, 2, 16, 32])[i] as number))), 0),
    ).toBeGreaterThan(1e-2);
  });
});

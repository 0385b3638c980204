import { AppError } from '@alignda/errors';
import { createSession, exportInference, releaseSessions } from '@alignda/graph';
import type { TensorData } from '@alignda/graph';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EMULATOR_DEFAULTS,
  EMULATOR_PRESETS,
  EMULATOR_STEP_HOURS,
  buildEmulatorForward,
  buildEmulatorRollout,
  buildEmulatorStep,
  buildEmulatorTraining,
  emulatorInitialParams,
  solarForcing,
} from './emulator.js';
import type { EmulatorConfig } from './emulator.js';
import { GraphBuilder } from '@alignda/graph';
import type { Arrays } from './internal/testing.js';
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

/** TINY with solar forcing on a 32-column grid spanning 187.5..265 E (the ncep-air box's first half). */
const LON = Array.from({ length: 32 }, (_, j) => 187.5 + 2.5 * j);
const FORCED: EmulatorConfig = { ...TINY, solarLonDeg: LON };
const maxDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

describe('forecast emulator with solar forcing', () => {
  it('leaves the unforced (QG) graphs and preset configs as they were', () => {
    expect(buildEmulatorForward(TINY).inputs.map((v) => v.name)).toEqual(['x', 'y']);
    expect(buildEmulatorStep(TINY).inputs.map((v) => v.name)).toEqual(['x']);
    expect(buildEmulatorRollout(TINY, 2).inputs.map((v) => v.name)).toEqual(['x']);
    // Checkpoints store the config as JSON and compare it on resume.
    expect(JSON.stringify(EMULATOR_PRESETS.ci)).toBe(
      '{"channels":7,"height":32,"width":64,"hidden":8,"blocks":1,"groups":4,"batch":4,"seed":0}',
    );
    for (const p of Object.values(EMULATOR_PRESETS)) expect('solarLonDeg' in p).toBe(false);
    expect(emulatorInitialParams(TINY)['emu.in.w']?.length).toBe(8 * 2 * 9);
  });

  it('takes an hour input and two more input channels; the output keeps C channels', () => {
    const g = buildEmulatorForward(FORCED);
    expect(g.inputs.map((v) => [v.name, v.shape])).toEqual([
      ['x', [...SHAPE]],
      ['y', [...SHAPE]],
      ['hour', [4]],
    ]);
    expect(g.params.find((p) => p.name === 'emu.in.w')?.shape).toEqual([8, 4, 3, 3]);
    expect(buildEmulatorStep(FORCED).outputs.map((v) => [v.name, v.shape])).toEqual([['y', [...SHAPE]]]);
  });

  it('the forcing channels are cos and sin of the local solar time 2 pi hour / 24 + lon', async () => {
    const b = new GraphBuilder({ name: 'forcing' });
    const hour = b.input('hour', 'float32', [2]);
    b.output(solarForcing({ b, seed: 0 }, { ...FORCED, height: 3 }, hour), 'f');
    const hours = Float32Array.of(0, 18.5);
    const f = (await run(b.build(), { hour: hours })).f as Float32Array; // [2, 2, 3, 32]
    for (let n = 0; n < 2; n++)
      for (let i = 0; i < 3; i++)
        for (const j of [0, 7, 31]) {
          const phi = (2 * Math.PI * (hours[n] as number)) / 24 + ((LON[j] as number) * Math.PI) / 180;
          expect(f[((n * 2 + 0) * 3 + i) * 32 + j]).toBeCloseTo(Math.cos(phi), 5);
          expect(f[((n * 2 + 1) * 3 + i) * 32 + j]).toBeCloseTo(Math.sin(phi), 5);
        }
  });

  it('the forced loss gradient matches central finite differences along random directions', async () => {
    const cfg = { ...FORCED, height: 8, width: 16, batch: 2, solarLonDeg: LON.slice(0, 16) };
    const tg = buildEmulatorTraining(cfg);
    const feeds = {
      ...randomInputs(tg.forward, 50, { hour: Float32Array.of(3, 15) }),
      ...perturbedParams(tg.forward, 51, 0.1),
    };
    await expectLossGradientMatchesFd(tg, feeds, [1, 2]);
  });

  it('a rollout from hour h equals the step graph applied with hours h, h + 6, h + 12; the hour matters', async () => {
    const cfg = { ...FORCED, batch: 2 };
    const roll = buildEmulatorRollout(cfg, 3);
    const stepG = buildEmulatorStep(cfg);
    expect(roll.inputs.map((v) => v.name)).toEqual(['x', 'hour']);
    expect(roll.params.map((p) => p.name)).toEqual(stepG.params.map((p) => p.name));
    const params = perturbedParams(stepG, 13, 0.1);
    const x0 = smoothFields(5, [2, 2, 16, 32]);
    const h0 = Float32Array.of(0, 18);
    const y = (await run(roll, { x: x0, hour: h0, ...params })).y as Float32Array;
    let x = x0;
    for (let k = 0; k < 3; k++) {
      const hour = h0.map((h) => h + k * EMULATOR_STEP_HOURS);
      x = (await run(stepG, { x, hour, ...params })).y as Float32Array;
    }
    expect(maxDiff(y, x)).toBeLessThan(1e-5);
    // Another start hour (here 6 h later for both samples) gives another forecast.
    const later = (await run(roll, { x: x0, hour: h0.map((h) => h + 6), ...params })).y as Float32Array;
    expect(maxDiff(y, later)).toBeGreaterThan(1e-2);
  });

  it('AdamW (lr 3e-3, 60 steps) learns a diurnal tendency the unforced emulator cannot see', async () => {
    // y = x + 0.5 cos(phi): the increment depends only on the clock. Unforced, the best the net can do is its
    // mean over the four hours, 0, an MSE of 0.25 / 2 = 0.125; forced, it fits it. Seeded: the forced loss goes
    // 0.089 (first 5 steps) -> 0.005 (last 5), the unforced one stays at 0.127 -> 0.128.
    // Every sample's hour cycles through 0, 6, 12, 18 UTC as training goes on, so a state does not tell its hour.
    const hourAt = (k: number, b: number): number => 6 * ((b + Math.floor(k / 4)) % 4);
    const data =
      (forced: boolean) =>
      (k: number): Arrays => {
        const x = smoothFields(k % 4, SHAPE);
        const hour = Float32Array.from({ length: 4 }, (_, b) => hourAt(k, b));
        const y = x.map((v, i) => {
          const b = Math.floor(i / (2 * 16 * 32));
          const phi = (2 * Math.PI * (hour[b] as number)) / 24 + ((LON[i % 32] as number) * Math.PI) / 180;
          return v + 0.5 * Math.cos(phi);
        });
        return forced ? { x, y, hour } : { x, y };
      };
    const forced = await trainAdamW(buildEmulatorTraining(FORCED), data(true), 60, 3e-3);
    const plain = await trainAdamW(buildEmulatorTraining(TINY), data(false), 60, 3e-3);
    const f = headTail(forced.losses, 5);
    const p = headTail(plain.losses, 5);
    expect(f.tail).toBeLessThan(0.02);
    expect(p.tail).toBeGreaterThan(0.1);
  });

  it('rejects longitudes that do not fit the grid', () => {
    expect(() => buildEmulatorStep({ ...FORCED, solarLonDeg: LON.slice(1) })).toThrow(/32 finite longitudes/);
    expect(() => buildEmulatorStep({ ...FORCED, solarLonDeg: [...LON.slice(1), Number.NaN] })).toThrow(
      AppError,
    );
  });
});

import { AppError } from '@alignda/errors';
import { createSession, releaseSessions } from '@alignda/graph';
import type { Graph } from '@alignda/graph';
import { mu, sigma } from '@alignda/da';
import { createRng } from '@alignda/tensor';
import type { Tensor } from '@alignda/tensor';
import { afterAll, describe, expect, it } from 'vitest';

import { EMULATOR_PRESETS, buildEmulatorRollout } from '../emulator.js';
import { perturbedParams, run } from '../internal/testing.js';
import type { Arrays } from '../internal/testing.js';
import { pickParams } from '../model.js';
import { SCORE_PRESETS } from '../score.js';
import { VAE_PRESETS, buildVaeDecode, buildVaeEncode, vaeInitialParams } from '../vae.js';
import type { LatentNorm } from '../vae.js';
import { emulatorBatches, periodHours, scoreBatches } from './data.js';
import type { StateSource } from '@alignda/world';
import { evaluateEmulator } from './evaluate.js';
import { emulatorForecasts, encodeStates, fitLatentNorm } from './pipeline.js';

afterAll(async () => {
  await releaseSessions();
});

const vae = VAE_PRESETS.ci; // 7 x 32 x 64 -> [8, 8, 16]
const emu = EMULATOR_PRESETS.ci;
const SIZE = 7 * 32 * 64;

/** `T` states `[T, 7, 32, 64]` of N(0, 1) noise. */
function stack(seed: number, T: number, shape: readonly number[] = [7, 32, 64]): Tensor<Float32Array> {
  const n = shape.reduce((a, d) => a * d, 1);
  return { data: createRng(seed).fillNormal(new Float32Array(T * n)), shape: [T, ...shape] };
}

const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

/** Runs a batch-1 graph (parameters as inputs, one session) on each of the first `count` samples of `states`. */
async function perSample(
  g: Graph,
  params: Arrays,
  states: Tensor<Float32Array>,
  count: number,
  names: { input: string; output: string },
): Promise<Float32Array[]> {
  const session = await createSession(g);
  const size = states.data.length / (states.shape[0] as number);
  const out: Float32Array[] = [];
  for (let k = 0; k < count; k++) {
    const res = await session.run({ [names.input]: states.data.slice(k * size, (k + 1) * size), ...params }, [
      names.output,
    ]);
    out.push(res[names.output]?.data as Float32Array);
  }
  return out;
}

describe('emulatorForecasts', () => {
  // The emulator's head starts at zero (untrained = persistence): perturb it so forecasts differ from the states.
  const lead = 2;
  const params = perturbedParams(buildEmulatorRollout({ ...emu, batch: 1 }, lead), 3, 0.05);
  const states = stack(1, 7);

  it('entry k is the batch-1 lead-step rollout from state k, the padded last batch included', async () => {
    const fractions: number[] = [];
    // 5 cases in batches of 3: the second batch holds 2 cases and one zero-padded slot.
    const out = await emulatorForecasts(emu, params, states, lead, {
      batch: 3,
      onProgress: (f) => fractions.push(f),
    });
    expect(out.shape).toEqual([5, 7, 32, 64]);
    expect(out.data.length).toBe(5 * SIZE);
    expect(fractions).toEqual([3 / 5, 1]);
    const ref = await perSample(buildEmulatorRollout({ ...emu, batch: 1 }, lead), params, states, 5, {
      input: 'x',
      output: 'y',
    });
    ref.forEach((y, k) => {
      const got = out.data.subarray(k * SIZE, (k + 1) * SIZE);
      expect(maxDiff(got, y)).toBeLessThan(1e-5 * Math.max(1, maxAbs(y)));
      // Not persistence: the forecast moved away from its initial state.
      expect(maxDiff(got, states.data.subarray(k * SIZE, (k + 1) * SIZE))).toBeGreaterThan(1e-2);
    });
  });

  it('rejects a lead that leaves no case and states of another shape', async () => {
    await expect(emulatorForecasts(emu, params, states, 7)).rejects.toThrow(AppError);
    await expect(emulatorForecasts(emu, params, states, 0)).rejects.toThrow(AppError);
    await expect(emulatorForecasts(emu, params, states, 1.5)).rejects.toThrow(AppError);
    await expect(emulatorForecasts(emu, params, stack(2, 4, [6, 32, 64]), 1)).rejects.toThrow(
      /do not fit the emulator's \[7, 32, 64\]/,
    );
    await expect(
      emulatorForecasts(emu, params, { data: new Float32Array(0), shape: [0, 7, 32, 64] }, 1),
    ).rejects.toThrow(AppError);
  });
});

describe('emulatorForecasts, emulatorBatches and evaluateEmulator with solar forcing', () => {
  const forced = { ...emu, solarLonDeg: Array.from({ length: 64 }, (_, j) => 187.5 + 2.5 * j) };
  const lead = 2;
  const params = perturbedParams(buildEmulatorRollout({ ...forced, batch: 1 }, lead), 3, 0.05);
  const states = stack(1, 7);
  // 6-hourly from 12 UTC: 12, 18, 0, 6, 12, 18, 0.
  const hours = Float32Array.from({ length: 7 }, (_, k) => (12 + 6 * k) % 24);

  it('entry k is the batch-1 rollout from state k at hours[k]', async () => {
    const out = await emulatorForecasts(forced, params, states, lead, { batch: 3, hours });
    const session = await createSession(buildEmulatorRollout({ ...forced, batch: 1 }, lead));
    for (let k = 0; k < 5; k++) {
      const x = states.data.slice(k * SIZE, (k + 1) * SIZE);
      const y = (await session.run({ x, hour: hours.subarray(k, k + 1), ...params }, ['y'])).y
        ?.data as Float32Array;
      expect(maxDiff(out.data.subarray(k * SIZE, (k + 1) * SIZE), y)).toBeLessThan(
        1e-5 * Math.max(1, maxAbs(y)),
      );
      // The clock is read: the same state 6 h later gives another forecast.
      const other = (
        await session.run({ x, hour: Float32Array.of((hours[k] as number) + 6), ...params }, ['y'])
      ).y?.data as Float32Array;
      expect(maxDiff(other, y)).toBeGreaterThan(1e-3);
    }
  });

  it('emulatorBatches feeds the start state of each pair its hour; periodHours follows the period', () => {
    const feeds = emulatorBatches(forced, states, hours)(0, createRng(3));
    const [x, hour] = [feeds.x as Float32Array, feeds.hour as Float32Array];
    expect(hour.length).toBe(4);
    for (let b = 0; b < 4; b++) {
      const t = [0, 1, 2, 3, 4, 5].find(
        (k) =>
          maxDiff(states.data.subarray(k * SIZE, (k + 1) * SIZE), x.subarray(b * SIZE, (b + 1) * SIZE)) === 0,
      );
      expect(hour[b]).toBe(hours[t as number]);
    }
    // Unforced batches are unchanged: no hour.
    expect(Object.keys(emulatorBatches(emu, states, hours)(0, createRng(3))).sort()).toEqual(['x', 'y']);
    const src: StateSource = {
      channels: ['t'],
      periods: { train: [2, 5], test: [5, 7] },
      state: () => ({ data: new Float32Array(1), shape: [1, 1, 1] }),
      hourOf: (i) => (6 * i) % 24,
    };
    expect(Array.from(periodHours(src, 'train') ?? [])).toEqual([12, 18, 0]);
    expect(periodHours({ ...src, hourOf: undefined }, 'train')).toBeUndefined();
  });

  it('a forced emulator without hours (or with hours of another length) is INVALID_ARGUMENT', async () => {
    const missing = /has solar forcing \(solarLonDeg\) and needs the UTC hour/;
    await expect(emulatorForecasts(forced, params, states, lead)).rejects.toThrow(missing);
    expect(() => emulatorBatches(forced, states)).toThrow(missing);
    await expect(evaluateEmulator(forced, params, states, { leadSteps: lead })).rejects.toThrow(missing);
    await expect(
      emulatorForecasts(forced, params, states, lead, { hours: hours.subarray(1) }),
    ).rejects.toThrow(/6 hours for 7 states/);
    expect(() =>
      emulatorBatches(
        forced,
        states,
        hours.map(() => Number.NaN),
      ),
    ).toThrow(AppError);
  });
});

describe('encodeStates and fitLatentNorm', () => {
  const params = vaeInitialParams(vae);
  const states = stack(4, 5);

  it('encodes in batches (padded last batch) exactly like a batch-1 encoder, shape [T, Cz, H/4, W/4]', async () => {
    const z = await encodeStates(vae, params, states, { batch: 2 });
    expect(z.shape).toEqual([5, 8, 8, 16]);
    const enc = buildVaeEncode({ ...vae, batch: 1 });
    const ref = await perSample(enc, pickParams(enc, params) as Arrays, states, 5, {
      input: 'x',
      output: 'z',
    });
    const zs = 8 * 8 * 16;
    ref.forEach((r, k) => {
      expect(maxAbs(r)).toBeGreaterThan(1e-2);
      expect(maxDiff(z.data.subarray(k * zs, (k + 1) * zs), r)).toBeLessThan(1e-5 * Math.max(1, maxAbs(r)));
    });
    await expect(encodeStates(vae, params, stack(5, 2, [7, 16, 64]))).rejects.toThrow(
      /do not fit the VAE's \[7, 32, 64\]/,
    );
  });

  it('fitLatentNorm gives channels z0.. and the per-channel population mean and std', () => {
    const [T, C, h, w] = [3, 4, 2, 6];
    const z = stack(6, T, [C, h, w]);
    // Distinct channel scales and offsets, so a transposed layout would be caught.
    z.data.forEach((v, i, a) => {
      const c = Math.floor(i / (h * w)) % C;
      a[i] = (c + 1) * v + 3 * c - 2;
    });
    const norm = fitLatentNorm(z);
    expect(norm.channels).toEqual(['z0', 'z1', 'z2', 'z3']);
    for (let c = 0; c < C; c++) {
      const vals: number[] = [];
      for (let t = 0; t < T; t++)
        for (let k = 0; k < h * w; k++) vals.push(z.data[(t * C + c) * h * w + k] as number);
      const m = vals.reduce((s, v) => s + v, 0) / vals.length;
      const sd = Math.sqrt(vals.reduce((s, v) => s + (v - m) ** 2, 0) / vals.length);
      expect(norm.mean[c]).toBeCloseTo(m, 10);
      expect(norm.std[c]).toBeCloseTo(sd, 10);
    }
  });
});

describe('latent standardisation of the VAE graphs', () => {
  const cfg = { ...vae, batch: 2 };
  const params = vaeInitialParams(cfg);
  const norm: LatentNorm = {
    mean: [0.3, -0.2, 0.1, 0, 0.5, -0.4, 0.25, -0.05],
    std: [0.5, 2, 1.5, 0.8, 1, 3, 0.7, 1.2],
  };
  const x = stack(7, 2).data;
  const encRaw = buildVaeEncode(cfg);
  const encStd = buildVaeEncode(cfg, norm);
  const decRaw = buildVaeDecode(cfg);
  const decStd = buildVaeDecode(cfg, norm);
  const enc = async (g: Graph): Promise<Float32Array> =>
    (await run(g, { x, ...pickParams(g, params) })).z as Float32Array;
  const dec = async (g: Graph, z: Float32Array): Promise<Float32Array> =>
    (await run(g, { z, ...pickParams(g, params) })).x as Float32Array;

  it('encode with the norm is (z - mean) / std per channel; decode with it undoes that', async () => {
    const zRaw = await enc(encRaw);
    const zStd = await enc(encStd);
    const hw = 8 * 16;
    const expected = zRaw.map((v, i) => {
      const c = Math.floor(i / hw) % 8;
      return (v - (norm.mean[c] as number)) / (norm.std[c] as number);
    });
    expect(maxDiff(zStd, expected)).toBeLessThan(1e-5 * Math.max(1, maxAbs(expected)));
    const xRaw = await dec(decRaw, zRaw);
    const xStd = await dec(decStd, zStd);
    expect(maxAbs(xRaw)).toBeGreaterThan(1e-2);
    expect(maxDiff(xStd, xRaw)).toBeLessThan(1e-4 * Math.max(1, maxAbs(xRaw)));
    // The norm matters: the standardised latent fed to the raw decoder gives another field.
    expect(maxDiff(await dec(decRaw, zStd), xRaw)).toBeGreaterThan(1e-2);
  });

  it('rejects a norm of the wrong length or with a non-positive std', () => {
    const bad: LatentNorm[] = [
      { mean: norm.mean.slice(1), std: norm.std.slice(1) },
      { mean: norm.mean, std: norm.std.slice(1) },
      { mean: norm.mean, std: [...norm.std.slice(1), 0] },
      { mean: norm.mean, std: [-1, ...norm.std.slice(1)] },
      { mean: norm.mean, std: [NaN, ...norm.std.slice(1)] },
    ];
    for (const n of bad) {
      expect(() => buildVaeEncode(cfg, n)).toThrow(AppError);
      expect(() => buildVaeDecode(cfg, n)).toThrow(/latent norm needs 8 means and 8 positive stds/);
    }
  });
});

describe('scoreBatches', () => {
  const cfg = SCORE_PRESETS.ci; // [8, 8, 16] latents, batch 4
  const zs = 8 * 8 * 16;
  const T = 6;
  const z = stack(8, T, [8, 8, 16]);
  const zb = stack(9, T, [8, 8, 16]);
  const next = scoreBatches(cfg, z, zb);
  const arr = (f: unknown): Float32Array => f as Float32Array;

  it('feeds z_t = mu(t) z + sigma(t) eps and the z_b of the same drawn state, t in [0, 1)', () => {
    const seen = new Set<number>();
    for (let step = 0; step < 6; step++) {
      const feeds = next(step, createRng(100 + step));
      expect(Object.keys(feeds).sort()).toEqual(['eps', 't', 'z_b', 'z_t']);
      const [zt, t, zbOut, eps] = [arr(feeds.z_t), arr(feeds.t), arr(feeds.z_b), arr(feeds.eps)];
      expect([zt.length, t.length, zbOut.length, eps.length]).toEqual([4 * zs, 4, 4 * zs, 4 * zs]);
      for (let b = 0; b < 4; b++) {
        const row = zbOut.subarray(b * zs, (b + 1) * zs);
        // Recover the drawn state from its background row (the rows are distinct random draws).
        const i = Array.from({ length: T }, (_, k) => k).find(
          (k) => maxDiff(zb.data.subarray(k * zs, (k + 1) * zs), row) === 0,
        );
        expect(i).toBeDefined();
        seen.add(i as number);
        const tb = t[b] as number;
        expect(tb).toBeGreaterThanOrEqual(0);
        expect(tb).toBeLessThan(1);
        const [m, s] = [mu(tb), sigma(tb)];
        for (let j = 0; j < zs; j++) {
          const want = Math.fround(
            m * (z.data[(i as number) * zs + j] as number) + s * (eps[b * zs + j] as number),
          );
          if (zt[b * zs + j] !== want) expect(zt[b * zs + j]).toBe(want);
        }
      }
    }
    expect(seen.size).toBeGreaterThan(3); // 24 draws over 6 states
  });

  it('is deterministic in the rng seed', () => {
    expect(next(0, createRng(5))).toEqual(next(3, createRng(5)));
    expect(arr(next(0, createRng(6)).eps)).not.toEqual(arr(next(0, createRng(5)).eps));
  });

  it('rejects latents of different shapes or not of the network latent shape', () => {
    expect(() => scoreBatches(cfg, z, stack(9, T - 1, [8, 8, 16]))).toThrow(
      /truth latents .* vs backgrounds/,
    );
    expect(() => scoreBatches(cfg, stack(1, T, [4, 8, 16]), stack(2, T, [4, 8, 16]))).toThrow(AppError);
    expect(() => scoreBatches(cfg, stack(1, T, [8, 16, 8]), stack(2, T, [8, 16, 8]))).toThrow(
      /do not fit the score network's \[8, 8, 16\]/,
    );
  });
});

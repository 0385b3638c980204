/**
 * One assimilation job end to end on an in-memory one-variable dataset (the ci preset's 32 x 64 beta plane with a
 * padded band, as evaluate-no-truth.test.ts makes it) with ci models trained a few steps: the analyses need not be
 * good, only reproducible, consistent with their inputs and refused with the right code when the request is wrong.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { AppError } from '@alignda/errors';
import { fileModelStore } from '@alignda/nn';
import type { LatentModels } from '@alignda/nn';
import { createRng } from '@alignda/tensor';
import type { DaSource } from '@alignda/world';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { memoryDataset } from '../internal/testing.js';
import { trainLatentModels } from '../train/train.js';
import { assimilationRequestSchema } from './request.js';
import type { AssimilationRequest, AssimilationRequestInput } from './request.js';
import { runAssimilationJob } from './run-job.js';
import type { AssimilationJobResult, RunJobOptions } from './run-job.js';

const [H, W] = [32, 64];
const COUNT = 80;
/** Rows 3..27 hold data, as a regional dataset padded to the model grid. */
const validMask = Uint8Array.from({ length: H * W }, (_, g) => {
  const i = Math.floor(g / W);
  return i >= 3 && i < H - 4 ? 1 : 0;
});

/** Travelling waves in temperature (K) plus noise: the same states on every call. */
function states(): Float32Array[] {
  const rng = createRng(3);
  return Array.from({ length: COUNT }, (_, t) => {
    const [a, b] = [rng.normal(), rng.normal()];
    return Float32Array.from({ length: H * W }, (_, g) => {
      const [i, k] = [Math.floor(g / W), g % W];
      const wave = 3 * a * Math.sin((2 * Math.PI * k) / W + t / 4) + 2 * b * Math.cos((Math.PI * i) / H);
      return 280 - 0.5 * i + wave + 0.3 * rng.normal();
    });
  });
}

const source: DaSource = memoryDataset(
  states(),
  { train: [0, 40], alignment: [40, 56], test: [56, COUNT] },
  { validMask },
);
/** State 60: 2013-01-16T00 (states are 6-hourly from 2013-01-01T00). */
const VALID = 60;
const validTime = '2013-01-16T00:00Z';

/** Cells every 4th row and column of the valid area, observing the truth at the valid time. */
function denseCells(
  sigma: number,
): { channel: string; row: number; col: number; value: number; sigma: number }[] {
  const truth = source.state(VALID).data;
  const cells = [];
  for (let i = 4; i < H - 4; i += 2)
    for (let j = 0; j < W; j += 2)
      cells.push({ channel: 't', row: i, col: j, value: truth[i * W + j] as number, sigma });
  return cells;
}

function request(body: Partial<AssimilationRequestInput> = {}): AssimilationRequest {
  return assimilationRequestSchema.parse({
    source: { dataset: 'memory' },
    validTime,
    observations: { cells: denseCells(0.5).slice(0, 40) },
    method: 'dps',
    ...body,
  });
}

const root = mkdtempSync(path.join(tmpdir(), 'alignda-run-job-'));
let models: LatentModels | undefined;
beforeAll(async () => {
  const dir = path.join(root, 'models');
  mkdirSync(dir);
  const store = fileModelStore(dir);
  await trainLatentModels(source, store, { preset: 'ci', steps: 3, seed: 1 });
  models = await store.loadAll();
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(req: AssimilationRequest, options: RunJobOptions = {}): Promise<AssimilationJobResult> {
  if (models === undefined) throw new Error('no models');
  return runAssimilationJob(source, models, req, options);
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected the job to fail');
}

describe('runAssimilationJob', () => {
  it('gives bit-identical output for the same request and seed, and other members for another seed', async () => {
    const req = request({ members: 3, steps: 4, seed: 12 });
    const a = await run(req);
    const b = await run(req);
    expect(a.mean.data).toEqual(b.mean.data);
    expect(a.members).toEqual(b.members);
    expect(a.spread?.data).toEqual(b.spread?.data);
    expect(a.diagnostics).toEqual(b.diagnostics);
    expect(a.members?.length).toBe(3 * H * W);
    expect(a.seeds?.sampler).toBe(12);
    expect(new Set(a.seeds?.members).size).toBe(3);
    expect(a.mean.data.every(Number.isFinite)).toBe(true);
    expect(a.spread?.data.some((v) => v > 0)).toBe(true);
    const c = await run({ ...req, seed: 13 });
    expect(c.mean.data).not.toEqual(a.mean.data);
  }, 60_000);

  it('makes the background from the state 48 h earlier and reports the valid time it resolved', async () => {
    const r = await run(request({ method: 'obsfree', steps: 2 }));
    expect(r.validTime).toBe('2013-01-16T00:00:00.000Z');
    expect(r.stateIndex).toBe(VALID);
    expect(r.backgroundStartTime).toBe('2013-01-14T00:00:00.000Z');
    expect(r.backgroundKind).toBe('emulator');
    expect(r.members?.length).toBe(H * W);
    expect(r.spread).toBeUndefined(); // one member: no spread
  }, 60_000);

  it('maps physical observations to normalised units: observing the background itself gives O-B = 0', async () => {
    const first = await run(request({ method: 'obsfree', steps: 2 }));
    const bg = first.background.data;
    const cells = denseCells(1).map((c) => ({ ...c, value: bg[c.row * W + c.col] as number }));
    // Points halfway between cells: the bilinear mean of the four neighbours.
    const lat = source.grid.latDeg;
    const lon = source.grid.lonDeg;
    const points = [
      [10, 20],
      [15, 41],
    ].map(([i = 0, j = 0]) => ({
      variable: 't',
      lat: ((lat[i] as number) + (lat[i + 1] as number)) / 2,
      lon: ((lon[j] as number) + (lon[j + 1] as number)) / 2,
      value:
        ((bg[i * W + j] as number) +
          (bg[i * W + j + 1] as number) +
          (bg[(i + 1) * W + j] as number) +
          (bg[(i + 1) * W + j + 1] as number)) /
        4,
      sigma: 1,
    }));
    for (const observations of [{ cells }, { points }]) {
      const r = await run(request({ method: 'obsfree', steps: 2, observations }));
      expect(r.background.data).toEqual(bg);
      expect(r.diagnostics.omb.rms).toBeLessThan(1e-5);
      expect(r.diagnostics.channels[0]?.omb.rms).toBeLessThan(1e-3); // K, float32 rounding of ~280 K
      expect(r.diagnostics.count).toBe('cells' in observations ? cells.length : points.length);
    }
  }, 60_000);

  it('draws a 3D-Var analysis towards dense observations: O-A rms below O-B rms', async () => {
    const stages = new Set<string>();
    const r = await run(request({ method: '3dvar', observations: { cells: denseCells(0.3) } }), {
      var3dTrainCases: 8,
      onProgress: (s) => stages.add(s),
    });
    expect(r.diagnostics.count).toBe(denseCells(0.3).length);
    expect(r.diagnostics.oma.rms).toBeLessThan(0.5 * r.diagnostics.omb.rms);
    expect(r.diagnostics.channels[0]?.oma.rms).toBeLessThan(r.diagnostics.channels[0]?.omb.rms ?? 0);
    expect(r.settings).toEqual({ lengthScaleKm: 500, var3dTrainCases: 8 });
    expect(r.members).toBeUndefined();
    expect(r.timings.fitS).toBeGreaterThan(0);
    expect([...stages]).toEqual(['background', 'fit-b']);
  }, 60_000);

  it('refuses a valid time outside the source as NOT_FOUND', async () => {
    const err = await failure(run(request({ validTime: '2014-01-01T00:00Z' })));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toBe(
      'memory has no state at 2014-01-01T00:00Z: its states are 2013-01-01T00 .. 2013-01-20T18 (every 6 h)',
    );
    expect((await failure(run(request({ validTime: '2013-01-16T03:00Z' })))).code).toBe('NOT_FOUND');
  });

  it('refuses a valid time whose state 48 h earlier is missing as FAILED_PRECONDITION', async () => {
    const err = await failure(run(request({ validTime: '2013-01-02T18:00Z' })));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toContain(
      'the 48 h forecast from the state 48 h earlier, which memory does not hold',
    );
    // State 8 (2013-01-03T00) is the first with a background.
    await expect(
      run(request({ validTime: '2013-01-03T00:00Z', method: 'obsfree', steps: 1 })),
    ).resolves.toBeDefined();
  }, 60_000);

  it.each([
    [
      'an unknown channel',
      { observations: { cells: [{ channel: 'q', row: 5, col: 0, value: 1, sigma: 1 }] } },
      "observation 0: unknown channel 'q' (known: t)",
    ],
    [
      'a row past the grid',
      { observations: { cells: [{ channel: 't', row: 32, col: 0, value: 1, sigma: 1 }] } },
      "observation 0: row 32 outside the grid's 0..31",
    ],
    [
      'a cell in the padded band',
      { observations: { cells: [{ channel: 't', row: 0, col: 0, value: 1, sigma: 1 }] } },
      "observation 0: cell (0, 0) is in the grid's padded (invalid) area",
    ],
    [
      'points with Repaint',
      {
        method: 'repaint' as const,
        observations: { points: [{ variable: 't', lat: 45, lon: 10, value: 1, sigma: 1 }] },
      },
      'Repaint needs gridded observations: use cells, or method dps',
    ],
    [
      'another source',
      { source: { world: 'qg' as const } },
      "the request names world 'qg' but the job was given dataset 'memory'",
    ],
  ])('refuses %s as INVALID_ARGUMENT', async (_, body, message) => {
    const err = await failure(run(request(body)));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(message);
  });

  it('refuses models trained on other backgrounds as FAILED_PRECONDITION', async () => {
    const err = await failure(run(request(), { modelBackground: 'model' }));
    expect(err.code).toBe('FAILED_PRECONDITION');
  });

  it('stops as CANCELLED when the signal aborts, before or between sampler steps', async () => {
    const before = new AbortController();
    before.abort();
    expect((await failure(run(request({ steps: 4 }), { signal: before.signal }))).code).toBe('CANCELLED');
    const during = new AbortController();
    let sampled = 0;
    const err = await failure(
      run(request({ steps: 8 }), {
        signal: during.signal,
        onProgress: (stage) => {
          if (stage === 'sample' && ++sampled === 3) during.abort();
        },
      }),
    );
    expect(err.code).toBe('CANCELLED');
    expect(sampled).toBeLessThan(8);
  }, 60_000);
});

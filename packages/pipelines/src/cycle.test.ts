import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { AppError } from '@alignda/errors';
import { qgSource } from '@alignda/world';
import type { DaSource } from '@alignda/world';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCycle } from './cycle.js';
import type { CycleResult } from './cycle.js';
import { blockBootstrapRatio } from './cycle-summary.js';
import type { CycleOptions, CycleRecord, CycleState, CycleStore } from './cycle-types.js';

/** A short QG nature run (0.1 y = 146 states, 60 days of spin-up: about 5 s to generate) as a source. */
function shortQgSource(dir: string, seed: number): DaSource {
  return qgSource(dir, { world: 'qg', seed, years: 0.1, spinUpDays: 60 });
}

function memoryStore(failAt?: number): CycleStore & { saves: number; state?: CycleState } {
  const store: CycleStore & { saves: number; state?: CycleState } = {
    saves: 0,
    load: () => Promise.resolve(store.state),
    save: (state) => {
      if (failAt !== undefined && state.nextCycle === failAt)
        return Promise.reject(new AppError('CANCELLED', `killed before cycle ${failAt} was saved`));
      store.saves++;
      store.state = state;
      return Promise.resolve();
    },
  };
  return store;
}

/** CI-sized settings: no tuning (one candidate each), a short offline cycle, a small ensemble, loose CG. */
const FAST: CycleOptions = {
  methods: ['3dvar', 'letkf'],
  members: 8,
  pairs48: 8,
  offlineCycles: 6,
  offlineBurnIn: 2,
  tuneCycles: 4,
  lengthScalesKm: [1000],
  inflations: [1],
  rtps: [0.5],
  halfWidthsKm: [4000],
  skillEvery: 5,
  maxLeadHours: 24,
  cgTol: 1e-4,
};

/** A record without its wall time, the one field that is not a function of the seeds. */
const timeless = (rs: readonly CycleRecord[]): Omit<CycleRecord, 'seconds'>[] =>
  rs.map(({ seconds: _s, ...r }) => r);

let dir: string;
let training: DaSource;
let scored: DaSource;
let reference: CycleResult;
let referenceStore: ReturnType<typeof memoryStore>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'alignda-cycle-'));
  training = shortQgSource(dir, 1);
  scored = shortQgSource(dir, 2);
  referenceStore = memoryStore();
  reference = await runCycle(scored, { ...FAST, cycles: 10 }, { training, store: referenceStore });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('runCycle on a short QG nature run', () => {
  it('keeps 3D-Var and the LETKF analyses below their backgrounds on average, none diverged', () => {
    for (const m of ['3dvar', 'letkf']) {
      const s = reference.summary[m];
      expect(s, m).toBeDefined();
      expect(reference.series[m]?.length, m).toBe(10);
      expect(s?.meanAnalysisRmse, m).toBeLessThan(s?.meanBackgroundRmse as number);
      expect(s?.divergedCycles, m).toBe(0);
      expect(s?.firstDiverged, m).toBeNull();
    }
    expect(reference.summary.letkf?.meanAnalysisSpread).toBeGreaterThan(0);
  });

  it('observes every method with the same observations each cycle and fits them better after the analysis', () => {
    const a = reference.series['3dvar'] ?? [];
    const b = reference.series.letkf ?? [];
    a.forEach((r, k) => {
      expect(r.observations).toBe(b[k]?.observations);
      expect(r.oma.rms).toBeLessThan(r.omb.rms);
    });
  });

  it('saves the state once before the first cycle and after every cycle, and scores skill every 5 cycles', () => {
    expect(referenceStore.saves).toBe(11);
    expect(referenceStore.state?.nextCycle).toBe(10);
    expect(reference.skill.records.map((r) => r.cycle)).toEqual([4, 9]);
    expect(reference.skill.channel).toBe('z_upper');
    expect(reference.protocol.cycled).toMatch(/^yes: 10 cycles/);
  });

  it('gives the same series when stopped after 3 of 6 cycles and resumed', async () => {
    const store = memoryStore(4);
    await expect(runCycle(scored, { ...FAST, cycles: 6 }, { training, store })).rejects.toMatchObject({
      code: 'CANCELLED',
    });
    expect(store.state?.nextCycle).toBe(3);
    const resumed = await runCycle(
      scored,
      { ...FAST, cycles: 6, resume: true },
      { training, store: { load: () => store.load(), save: (s) => memoryStore().save(s) } },
    );
    expect(resumed.resumedFrom).toBe(3);
    for (const m of ['3dvar', 'letkf']) {
      expect(resumed.series[m]?.length, m).toBe(6);
      expect(timeless(resumed.series[m] ?? []), m).toEqual(timeless((reference.series[m] ?? []).slice(0, 6)));
    }
    expect(resumed.skill.records).toEqual(reference.skill.records.slice(0, 1));
  });
  it('gives the same series run one step per call with resume, as the cycle service runs it', async () => {
    const store = memoryStore();
    let last: CycleResult | undefined;
    for (let k = 0; k < 6; k++)
      last = await runCycle(scored, { ...FAST, cycles: k + 1, resume: true }, { training, store });
    expect(store.state?.nextCycle).toBe(6);
    for (const m of ['3dvar', 'letkf'])
      expect(timeless(last?.series[m] ?? []), m).toEqual(timeless((reference.series[m] ?? []).slice(0, 6)));
    expect(last?.skill.records).toEqual(reference.skill.records.slice(0, 1));
  });
});

describe('runCycle with hybrid EnVar', () => {
  const HYBRID: CycleOptions = {
    ...FAST,
    methods: ['3dvar-bal', 'hybrid'],
    members: 4,
    multipliers: [1],
    hybridHalfWidthsKm: [2000],
    cycles: 5,
    skillEvery: 0,
  };

  it('with weight 0 cycles exactly as the balanced 3D-Var (its B_clim, bias correction and background)', async () => {
    const res = await runCycle(scored, { ...HYBRID, hybridWeights: [0], cgTol: 1e-10 }, { training });
    const bal = res.series['3dvar-bal'] ?? [];
    const hyb = res.series.hybrid ?? [];
    expect(hyb).toHaveLength(5);
    hyb.forEach((r, k) => {
      expect(r.backgroundRmse).toBeCloseTo(bal[k]?.backgroundRmse as number, 6);
      expect(r.analysisRmse).toBeCloseTo(bal[k]?.analysisRmse as number, 6);
    });
    expect(res.setup.hybrid).toMatchObject({ weight: 0, halfWidthKm: 2000 });
    expect(res.protocol.tuning.hybrid).toContain('recentred on the hybrid analysis');
  });

  it('with weight 0.5 analyses below its background, differs from the balanced 3D-Var and keeps a spread', async () => {
    // 8 members: with 4, P_ens's sampling noise at a = 0.5 made the analyses worse than their backgrounds.
    const res = await runCycle(scored, { ...HYBRID, members: 8, hybridWeights: [0.5] }, { training });
    const s = res.summary.hybrid;
    expect(s?.meanAnalysisRmse).toBeLessThan(s?.meanBackgroundRmse as number);
    expect(s?.divergedCycles).toBe(0);
    expect(s?.meanAnalysisSpread).toBeGreaterThan(0);
    expect(
      Math.abs((s?.meanAnalysisRmse as number) - (res.summary['3dvar-bal']?.meanAnalysisRmse as number)),
    ).toBeGreaterThan(1e-4);
  });

  it('rejects a hybrid weight outside [0, 1] with INVALID_ARGUMENT', async () => {
    await expect(runCycle(scored, { ...HYBRID, hybridWeights: [1.5] }, { training })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('hybridWeights[0] = 1.5 is not in [0, 1]') as string,
    });
  });
});

describe('runCycle refuses bad input before writing anything', () => {
  const refused: [string, CycleOptions, string][] = [
    ['an unknown method', { methods: ['3dvar', 'kalman'] }, "unknown method 'kalman'"],
    ['zero cycles', { cycles: 0 }, 'cycles must be an integer >= 1'],
    ['a localisation radius of zero', { halfWidthsKm: [0] }, 'half-width'],
    ['a non-positive observation error', { obsErrorStd: -0.1 }, 'observation error std must be > 0'],
    ['noise-free observations with no error std', { noiseStd: 0 }, 'observation error std must be > 0'],
    ['a latent method without an explicit prior', { methods: ['dps'] }, "latentPrior 'reuse-48h'"],
  ];
  for (const [what, options, message] of refused)
    it(`rejects ${what} with INVALID_ARGUMENT`, async () => {
      const store = memoryStore();
      const err: unknown = await runCycle(scored, options, { training, store }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('INVALID_ARGUMENT');
      expect((err as AppError).message).toContain(message);
      expect(store.saves).toBe(0);
    });

  it('refuses to score on the training run, latent methods without models, and a resume under other options', async () => {
    const store = memoryStore();
    const cases: [CycleOptions, DaSource][] = [
      [FAST, training],
      [{ ...FAST, methods: ['dps'], latentPrior: 'reuse-48h' }, scored],
    ];
    for (const [options, src] of cases)
      await expect(runCycle(src, options, { training, store })).rejects.toMatchObject({
        code: 'FAILED_PRECONDITION',
      });
    const other: CycleStore = { load: () => referenceStore.load(), save: (s) => store.save(s) };
    await expect(
      runCycle(scored, { ...FAST, members: 4, cycles: 12, resume: true }, { training, store: other }),
    ).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect(store.saves).toBe(0);
  });
});

describe('blockBootstrapRatio', () => {
  it('gives a degenerate interval at the ratio for proportional series and widens with longer blocks', () => {
    const b = Array.from({ length: 60 }, (_, k) => 1 + 0.5 * Math.sin(k / 3));
    expect(
      blockBootstrapRatio(
        b.map((x) => 0.8 * x),
        b,
        6,
      ),
    ).toEqual({
      lo: expect.closeTo(0.8, 12) as number,
      hi: expect.closeTo(0.8, 12) as number,
    });
    // A slowly varying (serially correlated) ratio: blocks keep its runs together, so the interval is wider.
    const a = b.map((x, k) => x * (1 + 0.3 * Math.sin(k / 5)));
    const one = blockBootstrapRatio(a, b, 1);
    const ten = blockBootstrapRatio(a, b, 10);
    expect(ten.hi - ten.lo).toBeGreaterThan(one.hi - one.lo);
  });

  it('refuses series of different lengths and blocks longer than the series', () => {
    expect(() => blockBootstrapRatio([1, 2], [1], 1)).toThrow(AppError);
    expect(() => blockBootstrapRatio([1, 2], [1, 2], 3)).toThrow(AppError);
  });
});

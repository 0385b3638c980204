import { describe, expect, it } from 'vitest';
import { createRng } from '@alignda/tensor';
import { sample } from './sampler.js';
import { obsFree } from './guidance/obs-free.js';
import { exactGaussianGuidance } from './guidance/exact-gaussian.js';
import type { Denoiser } from './ports.js';
import { FIX_D, FIX_SHAPE, ensembleStats, fixtureObs, fixturePrior } from './internal/fixtures.js';

const prior = fixturePrior();
const obs = fixtureObs();
const post = prior.posterior(obs);
const zShape = [...FIX_SHAPE];

/** Largest |mean_j - ref_j| in units of the standard error sqrt(var_j / N). */
function maxMeanError(mean: Float64Array, ref: Float64Array, refCov: Float64Array, n: number): number {
  let worst = 0;
  for (let j = 0; j < FIX_D; j++) {
    worst = Math.max(
      worst,
      Math.abs((mean[j] as number) - (ref[j] as number)) / Math.sqrt((refCov[j * FIX_D + j] as number) / n),
    );
  }
  return worst;
}

/** Largest and mean |var_j / ref_jj - 1|. */
function varianceError(variance: Float64Array, refCov: Float64Array): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  for (let j = 0; j < FIX_D; j++) {
    const r = (variance[j] as number) / (refCov[j * FIX_D + j] as number) - 1;
    max = Math.max(max, Math.abs(r));
    sum += r;
  }
  return { max, mean: sum / FIX_D };
}

describe('sample with the analytic Gaussian prior', () => {
  // Tolerances: mean within 4.5 standard errors per dimension (16 dims, ~1e-4 false-alarm rate per run,
  // and the run is seeded); variance: sampling noise is sqrt(2/N) ~ 3.7 % at N = 1500.
  it('draws the closed-form posterior with exact likelihood guidance (predictor only, K = 256): mean within 4.5 s.e., variance within 15 % (mean bias within 4 %)', async () => {
    const z = await sample(prior.denoiser, exactGaussianGuidance(prior, obs), {
      zShape,
      members: 1500,
      steps: 256,
      corrections: 0,
      seed: 11,
    });
    const { mean, variance, n } = ensembleStats(z);
    expect(maxMeanError(mean, post.mean, post.cov, n)).toBeLessThan(4.5);
    const ve = varianceError(variance, post.cov);
    expect(ve.max).toBeLessThan(0.15);
    expect(Math.abs(ve.mean)).toBeLessThan(0.04);
  });

  it('draws the posterior mean with the default sampler (K = 64, C = 1, tau = 0.25) and its variance within 40 % (the Langevin corrector inflates the well-observed directions)', async () => {
    const z = await sample(prior.denoiser, exactGaussianGuidance(prior, obs), {
      zShape,
      members: 1500,
      seed: 12,
    });
    const { mean, variance, n } = ensembleStats(z);
    expect(maxMeanError(mean, post.mean, post.cov, n)).toBeLessThan(4.5);
    expect(varianceError(variance, post.cov).max).toBeLessThan(0.4);
  });

  it('reproduces the prior (mean within 4.5 s.e., variance within 20 %) with ObsFree guidance', async () => {
    const z = await sample(prior.denoiser, obsFree(), { zShape, members: 1500, seed: 13 });
    const { mean, variance, n } = ensembleStats(z);
    expect(maxMeanError(mean, prior.mean, prior.cov, n)).toBeLessThan(4.5);
    expect(varianceError(variance, prior.cov).max).toBeLessThan(0.2);
    // and it is not the posterior: the observations are 3+ prior standard errors away.
    expect(maxMeanError(mean, post.mean, post.cov, n)).toBeGreaterThan(20);
  });
});

describe('sample: seeds, batching, progress and cancellation', () => {
  const run = (opts: { members: number; batchSize?: number; seed?: number }) =>
    sample(prior.denoiser, exactGaussianGuidance(prior, obs), {
      zShape,
      steps: 8,
      seed: opts.seed ?? 5,
      ...opts,
    });

  it('gives every member the same result whatever the batch size and ensemble size', async () => {
    const all = await run({ members: 6 });
    const byOne = await run({ members: 6, batchSize: 1 });
    const byFour = await run({ members: 6, batchSize: 4 });
    const firstThree = await run({ members: 3 });
    expect(Array.from(byOne.data)).toEqual(Array.from(all.data));
    expect(Array.from(byFour.data)).toEqual(Array.from(all.data));
    expect(Array.from(firstThree.data)).toEqual(Array.from(all.data.subarray(0, 3 * FIX_D)));
    expect(all.shape).toEqual([6, ...zShape]);
  });

  it('accepts asynchronous ports (as ONNX sessions are) with the same result as synchronous ones', async () => {
    const asyncDenoiser: Denoiser = async (z, t, shape) => {
      await Promise.resolve();
      return prior.denoiser(z, t, shape);
    };
    const sync = await run({ members: 2 });
    const viaPromise = await sample(asyncDenoiser, exactGaussianGuidance(prior, obs), {
      zShape,
      steps: 8,
      seed: 5,
      members: 2,
    });
    expect(Array.from(viaPromise.data)).toEqual(Array.from(sync.data));
  });

  it('repeats exactly with the same seed and differs with another seed or member', async () => {
    const a = await run({ members: 2 });
    const b = await run({ members: 2 });
    const c = await run({ members: 2, seed: 6 });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(a.data[0]).not.toEqual(c.data[0]);
    expect(a.data[0]).not.toEqual(a.data[FIX_D]);
  });

  it('takes its run seed from an injected generator as an alternative to a seed', async () => {
    const a = await sample(prior.denoiser, obsFree(), { zShape, steps: 4, rng: createRng(3) });
    const b = await sample(prior.denoiser, obsFree(), { zShape, steps: 4, rng: createRng(3) });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
  });

  it('reports increasing progress fractions ending at 1 with one call per step and batch', async () => {
    const calls: [number, number][] = [];
    await sample(prior.denoiser, obsFree(), {
      zShape,
      steps: 5,
      members: 3,
      batchSize: 2,
      seed: 1,
      onProgress: (f, s) => calls.push([f, s]),
    });
    expect(calls).toHaveLength(10);
    expect(calls.map((c) => c[1])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(calls.at(-1)?.[0]).toBe(1);
    for (let i = 1; i < calls.length; i++)
      expect((calls[i] as [number, number])[0]).toBeGreaterThan((calls[i - 1] as [number, number])[0]);
  });

  it('stops between steps when its signal is aborted, with the signal reason', async () => {
    const controller = new AbortController();
    let denoiserCalls = 0;
    const counting: Denoiser = (z, t, shape) => {
      denoiserCalls++;
      return prior.denoiser(z, t, shape);
    };
    const reason = new Error('user cancelled');
    const p = sample(counting, obsFree(), {
      zShape,
      steps: 50,
      corrections: 0,
      seed: 1,
      signal: controller.signal,
      onProgress: (_f, step) => {
        if (step === 3) controller.abort(reason);
      },
    });
    await expect(p).rejects.toBe(reason);
    expect(denoiserCalls).toBe(3);
  });

  it('rejects a missing or doubled seed, bad step counts and a denoiser of the wrong output size', async () => {
    const base = { zShape, steps: 4 };
    await expect(sample(prior.denoiser, obsFree(), base)).rejects.toThrow(/exactly one of seed and rng/);
    await expect(sample(prior.denoiser, obsFree(), { ...base, seed: 1, rng: createRng(1) })).rejects.toThrow(
      /exactly one of seed and rng/,
    );
    await expect(sample(prior.denoiser, obsFree(), { ...base, seed: 1, steps: 0 })).rejects.toThrow(
      /steps must be an integer >= 1/,
    );
    await expect(sample(prior.denoiser, obsFree(), { ...base, seed: 1, tau: -1 })).rejects.toThrow(
      /tau must be finite and > 0/,
    );
    const short: Denoiser = () => new Float32Array(3);
    await expect(sample(short, obsFree(), { ...base, seed: 1 })).rejects.toThrow(
      /denoiser returned 3 values but 16/,
    );
    const nan: Denoiser = (z) => new Float32Array(z.length).fill(Number.NaN);
    await expect(sample(nan, obsFree(), { ...base, seed: 1 })).rejects.toThrow(/non-finite value/);
  });

  it("takes each predictor's eps from a guidance's predictorEps and the corrector's from the denoiser", async () => {
    const seen: string[] = [];
    const denoiser: Denoiser = (z, t, shape) => {
      seen.push(`denoiser ${t}`);
      return prior.denoiser(z, t, shape);
    };
    const own = {
      ...obsFree(),
      predictorEps: (z: Float32Array, t: number, shape: readonly number[]) => {
        seen.push(`guidance ${t}`);
        return prior.denoiser(z, t, shape);
      },
    };
    const opts = { zShape, steps: 2, corrections: 1, seed: 4 };
    const got = await sample(denoiser, own, opts);
    expect(seen).toEqual(['guidance 1', 'denoiser 0.5', 'guidance 0.5', 'denoiser 0']);
    expect(got.data).toEqual((await sample(prior.denoiser, obsFree(), opts)).data);
    const short = { ...obsFree(), predictorEps: () => new Float32Array(3) };
    await expect(sample(prior.denoiser, short, opts)).rejects.toThrow(
      /obsfree guidance's predictor eps returned 3 values but 16/,
    );
  });
});

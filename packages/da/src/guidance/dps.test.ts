import { describe, expect, it } from 'vitest';
import { createRng } from '@alignda/tensor';
import type { Tensor } from '@alignda/tensor';
import { dps, dpsGradient } from './dps.js';
import { obsFree } from './obs-free.js';
import { sample } from '../sampler.js';
import { griddedObservations } from '../observations.js';
import type { DecodedTweedieVjp, Decoder, DenoiseAndDecode, Denoiser } from '../ports.js';
import { tweedie } from '../schedule.js';
import {
  FIX_D,
  FIX_SHAPE,
  distance,
  ensembleStats,
  fixtureObs,
  fixturePrior,
  identityCodec,
  spreadRatios,
} from '../internal/fixtures.js';
import type { SpreadRatios } from '../internal/fixtures.js';

const prior = fixturePrior();
const zShape = [...FIX_SHAPE];

describe('dpsGradient', () => {
  // A linear decoder x = W z + b from the 16-dim latent to a [2, 3, 4] state (24 values), observed at 5 points.
  const Dx = 24;
  const rng = createRng(21);
  const W = rng.fillNormal(new Float64Array(Dx * FIX_D), 0, 0.3);
  const b = rng.fillNormal(new Float64Array(Dx));
  const decoder: Decoder = (z, shape) => {
    const n = shape[0] as number;
    const x = new Float32Array(n * Dx);
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < Dx; r++) {
        let acc = b[r] as number;
        for (let k = 0; k < FIX_D; k++) acc += (W[r * FIX_D + k] as number) * (z[i * FIX_D + k] as number);
        x[i * Dx + r] = acc;
      }
    }
    return x;
  };
  // VJP of z_t -> D(z0_hat(z_t)): J_t^T W^T c.
  const vjp: DecodedTweedieVjp = (_z, t, cot, shape) => {
    const n = shape[0] as number;
    const wtc = new Float32Array(n * FIX_D);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < FIX_D; k++) {
        let acc = 0;
        for (let r = 0; r < Dx; r++) acc += (W[r * FIX_D + k] as number) * (cot[i * Dx + r] as number);
        wtc[i * FIX_D + k] = acc;
      }
    }
    return prior.tweedieVjp(t, wtc);
  };
  const obs = griddedObservations({
    stateShape: [2, 3, 4],
    channel: [0, 0, 1, 1, 1],
    row: [0, 2, 1, 0, 2],
    col: [1, 3, 0, 2, 3],
    value: [0.4, -1.3, 2.0, 0.1, -0.5],
    std: [0.5, 0.3, 1.0, 0.2, 0.7],
  });
  const ports = { obs, decoder, vjp };

  it.each([0.1, 0.5, 0.9])(
    'matches central finite differences of the misfit at t = %s (relative error < 1e-3)',
    async (t) => {
      const shape = [1, ...zShape];
      const z = createRng(22).fillNormal(new Float32Array(FIX_D));
      const misfitAt = async (x: Float32Array): Promise<number> => {
        const eps = await prior.denoiser(x, t, shape);
        return (await dpsGradient(x, t, eps, shape, ports)).misfit[0] as number;
      };
      const { grad } = await dpsGradient(z, t, await prior.denoiser(z, t, shape), shape, ports);
      // The misfit is quadratic in z_t here, so central differences are exact up to float32 round-off.
      const h = 0.05;
      let maxErr = 0;
      let maxGrad = 0;
      for (let j = 0; j < FIX_D; j++) {
        const zp = Float32Array.from(z);
        const zm = Float32Array.from(z);
        zp[j] = (zp[j] as number) + h;
        zm[j] = (zm[j] as number) - h;
        const fd = ((await misfitAt(zp)) - (await misfitAt(zm))) / (2 * h);
        maxErr = Math.max(maxErr, Math.abs(fd - (grad[j] as number)));
        maxGrad = Math.max(maxGrad, Math.abs(grad[j] as number));
      }
      expect(maxGrad).toBeGreaterThan(0.1);
      expect(maxErr / maxGrad).toBeLessThan(1e-3);
    },
  );

  it('differentiates through a non-selection operator (point observations interpolated between grid values) to 1e-3', async () => {
    // Two "station" observations as fixed linear interpolations of state values: H is a port, not a mask.
    const weights = [
      [3, 0.25, 9, 0.75],
      [14, 0.6, 20, 0.4],
    ] as const;
    const pointObs = {
      operator: {
        stateShape: [2, 3, 4],
        size: 2,
        apply(x: ArrayLike<number>, out: Float64Array) {
          weights.forEach(([a, wa, b, wb], p) => (out[p] = wa * (x[a] as number) + wb * (x[b] as number)));
          return out;
        },
        adjoint(r: ArrayLike<number>, out: Float64Array) {
          out.fill(0);
          weights.forEach(([a, wa, b, wb], p) => {
            out[a] = (out[a] as number) + wa * (r[p] as number);
            out[b] = (out[b] as number) + wb * (r[p] as number);
          });
          return out;
        },
      },
      values: Float64Array.from([0.7, -0.2]),
      std: Float64Array.from([0.3, 0.4]),
    };
    const t = 0.4;
    const shape = [1, ...zShape];
    const p2 = { obs: pointObs, decoder, vjp };
    const z = createRng(24).fillNormal(new Float32Array(FIX_D));
    const { grad } = await dpsGradient(z, t, await prior.denoiser(z, t, shape), shape, p2);
    const h = 0.05;
    let maxErr = 0;
    let maxGrad = 0;
    for (let j = 0; j < FIX_D; j++) {
      const at = async (delta: number): Promise<number> => {
        const x = Float32Array.from(z);
        x[j] = (x[j] as number) + delta;
        return (await dpsGradient(x, t, await prior.denoiser(x, t, shape), shape, p2)).misfit[0] as number;
      };
      const fd = ((await at(h)) - (await at(-h))) / (2 * h);
      maxErr = Math.max(maxErr, Math.abs(fd - (grad[j] as number)));
      maxGrad = Math.max(maxGrad, Math.abs(grad[j] as number));
    }
    expect(maxGrad).toBeGreaterThan(0.1);
    expect(maxErr / maxGrad).toBeLessThan(1e-3);
  });

  it('returns the R^-1-weighted misfit ||y - H(D(z0_hat))||^2_{R^-1}', async () => {
    const shape = [1, ...zShape];
    const z = createRng(23).fillNormal(new Float32Array(FIX_D));
    const eps = await prior.denoiser(z, 0.3, shape);
    const { misfit } = await dpsGradient(z, 0.3, eps, shape, ports);
    const zhat = new Float32Array(FIX_D); // Tweedie recomputed independently of schedule.ts
    const a = Math.cos(Math.acos(Math.sqrt(1e-3)) * 0.3) ** 2;
    const s = Math.sqrt(1 - a * a + 1e-6);
    for (let j = 0; j < FIX_D; j++) zhat[j] = ((z[j] as number) - s * (eps[j] as number)) / a;
    const x = await decoder(zhat, shape);
    let expected = 0;
    for (let p = 0; p < 5; p++) {
      const r = (obs.values[p] as number) - (x[obs.gridIndex?.[p] as number] as number);
      expected += (r / (obs.std[p] as number)) ** 2;
    }
    expect(misfit[0]).toBeCloseTo(expected, 3);
  });
});

/**
 * The DPS variance tolerances, as the list of checks that fail. Measured with the default sampler
 * (K = 64, C = 1), N = 500, seeds 31..40: observed points var_ens / var_post 0.68 to 0.83 (mean over the
 * three; 0.80 at seed 31) and var_ens / var_prior at most 0.032; the other 13 points var_ens / var_post
 * 0.97 to 1.42 each, 1.13 to 1.24 on average (1.17 at seed 31). DPS is an approximate posterior sampler:
 * against exact likelihood guidance on the same sampler (observed 1.28 to 1.39, others 1.00 to 1.10, the
 * corrector's inflation) it under-disperses the observed points by about 0.57 and over-disperses the rest by
 * about 1.12. The bounds leave ~3 times the seed-to-seed spread (sampling noise of a variance ratio at
 * N = 500 is ~6 % per point) and still reject ObsFree (observed 1.04 to 1.23 x the prior, rest 2.6 to 2.9 x
 * the posterior) and a collapsed ensemble.
 */
function dpsSpreadFailures(s: SpreadRatios): string[] {
  const failed: string[] = [];
  if (!(s.observedVsPriorMax < 0.1)) failed.push(`observed var / prior var ${s.observedVsPriorMax} >= 0.1`);
  if (!(s.observedVsPost >= 0.5 && s.observedVsPost <= 1.1))
    failed.push(`observed var / posterior var ${s.observedVsPost} outside [0.5, 1.1]`);
  if (!(s.restVsPost >= 0.9 && s.restVsPost <= 1.5))
    failed.push(`other var / posterior var ${s.restVsPost} outside [0.9, 1.5]`);
  return failed;
}

describe('dps guidance with the identity autoencoder', () => {
  const obs = fixtureObs();
  const observed = Array.from(obs.gridIndex ?? []);
  const vjp: DecodedTweedieVjp = (_z, t, cot) => prior.tweedieVjp(t, cot);
  let runs: Promise<{ guided: Tensor; free: Tensor }> | undefined;
  const ensembles = () =>
    (runs ??= Promise.all([
      sample(prior.denoiser, dps({ obs, decoder: identityCodec, vjp }), { zShape, members: 500, seed: 31 }),
      sample(prior.denoiser, obsFree(), { zShape, members: 500, seed: 31 }),
    ]).then(([guided, free]) => ({ guided, free })));

  it('moves the ensemble mean to within 20 % of the prior-to-posterior distance of the posterior mean', async () => {
    const post = prior.posterior(obs);
    const { guided, free } = await ensembles();
    const priorError = distance(ensembleStats(free).mean, post.mean);
    const dpsError = distance(ensembleStats(guided).mean, post.mean);
    // Measured 0.11 of the prior error (N = 1000, zeta' = 0.2); DPS is an approximation, not exact.
    expect(dpsError).toBeLessThan(0.2 * priorError);
  });

  it('shrinks the spread at the observed points below 0.1 x the prior variance, with var_ens / var_post in [0.5, 1.1] there (measured 0.80: DPS under-disperses) and in [0.9, 1.5] on average elsewhere (measured 1.17)', async () => {
    const { guided } = await ensembles();
    expect(dpsSpreadFailures(spreadRatios(ensembleStats(guided).variance, observed))).toEqual([]);
  });

  it('has variance bounds that ObsFree guidance and a collapsed ensemble both fail', async () => {
    const { free } = await ensembles();
    const freeFailures = dpsSpreadFailures(spreadRatios(ensembleStats(free).variance, observed));
    expect(freeFailures.some((f) => f.startsWith('observed var / prior var'))).toBe(true);
    expect(freeFailures.some((f) => f.startsWith('other var'))).toBe(true);
    expect(dpsSpreadFailures(spreadRatios(new Float64Array(FIX_D), observed))).toHaveLength(2);
  });

  it('rejects a non-positive step scale', () => {
    const vjp: DecodedTweedieVjp = (_z, t, cot) => prior.tweedieVjp(t, cot);
    expect(() => dps({ obs: fixtureObs(), decoder: identityCodec, vjp, zeta: 0 })).toThrow(
      /zeta must be finite and > 0/,
    );
  });
});

describe('dps with a denoiseAndDecode port (one forward per guided step)', () => {
  const obs = fixtureObs();
  /** The analytic prior's ports, counting their calls; denoiseAndDecode composed from the same three. */
  function countedPorts() {
    const calls = { denoiser: 0, decoder: 0, vjp: 0, denoiseAndDecode: 0, decodedVjp: 0 };
    const denoiser: Denoiser = (z, t, shape) => {
      calls.denoiser++;
      return prior.denoiser(z, t, shape);
    };
    const decoder: Decoder = (z) => {
      calls.decoder++;
      return identityCodec(z);
    };
    const vjp: DecodedTweedieVjp = (_z, t, cot) => {
      calls.vjp++;
      return prior.tweedieVjp(t, cot);
    };
    const denoiseAndDecode: DenoiseAndDecode = async (z, t, shape) => {
      calls.denoiseAndDecode++;
      const eps = await prior.denoiser(z, t, shape);
      return {
        eps,
        x0: identityCodec(tweedie(z, eps, t)),
        vjp: (cot) => {
          calls.decodedVjp++;
          return prior.tweedieVjp(t, cot);
        },
      };
    };
    return { calls, denoiser, decoder, vjp, denoiseAndDecode };
  }

  it('gives exactly the analysis of the three-port path, with the predictor eps, x0 and VJP from one call per step', async () => {
    const opts = { zShape, members: 6, batchSize: 3, steps: 16, corrections: 2, seed: 8 };
    const a = countedPorts();
    const old = await sample(a.denoiser, dps({ obs, decoder: a.decoder, vjp: a.vjp }), opts);
    expect(a.calls).toEqual({
      denoiser: 2 * 16 * 3,
      decoder: 2 * 16,
      vjp: 2 * 16,
      denoiseAndDecode: 0,
      decodedVjp: 0,
    });
    const b = countedPorts();
    const fused = dps({ obs, decoder: b.decoder, vjp: b.vjp, denoiseAndDecode: b.denoiseAndDecode });
    const got = await sample(b.denoiser, fused, opts);
    // Per batch and step: one denoiseAndDecode (predictor eps, x0, VJP), the corrections on the denoiser.
    expect(b.calls).toEqual({
      denoiser: 2 * 16 * 2,
      decoder: 0,
      vjp: 0,
      denoiseAndDecode: 2 * 16,
      decodedVjp: 2 * 16,
    });
    expect(got.shape).toEqual(old.shape);
    expect(got.data).toEqual(old.data);
  });

  it('falls back to the decoder and the VJP port when the step is not the point it evaluated', async () => {
    const p = countedPorts();
    const g = dps({ obs, decoder: p.decoder, vjp: p.vjp, denoiseAndDecode: p.denoiseAndDecode });
    const shape = [1, ...zShape];
    const t = 0.6;
    const z = createRng(5).fillNormal(new Float32Array(FIX_D));
    const eps = await g.predictorEps?.(z, t, shape);
    expect(eps).toEqual(await prior.denoiser(z, t, shape));
    const step = async (zt: Float32Array, e: Float32Array): Promise<Float32Array> => {
      const zs = new Float32Array(FIX_D);
      await g.afterPredictor?.({ zt, t, eps: e, zs, s: t - 0.1, shape, rngs: [createRng(1)] });
      return zs;
    };
    // Another z_t (same values, another array): the fallback, with the same result as the fused path.
    const other = await step(Float32Array.from(z), eps as Float32Array);
    expect([p.calls.decoder, p.calls.vjp, p.calls.decodedVjp]).toEqual([1, 1, 0]);
    // An eps other than the one it returned (same values, another array) is another step too.
    const eps2 = (await g.predictorEps?.(z, t, shape)) as Float32Array;
    await step(z, eps as Float32Array);
    expect([p.calls.decoder, p.calls.vjp, p.calls.decodedVjp]).toEqual([2, 2, 0]);
    const eps3 = (await g.predictorEps?.(z, t, shape)) as Float32Array;
    const same = await step(z, eps3);
    expect([p.calls.decoder, p.calls.vjp, p.calls.decodedVjp]).toEqual([2, 2, 1]);
    expect(eps2).toEqual(eps);
    expect(same).toEqual(other);
    expect(Math.max(...Array.from(same, Math.abs))).toBeGreaterThan(1e-3);
    // The kept evaluation is used once: the next step without a predictor call falls back again.
    await step(z, eps3);
    expect([p.calls.decoder, p.calls.vjp, p.calls.decodedVjp]).toEqual([3, 3, 1]);
  });

  it('has no predictor hook without the port, and rejects an x0 or VJP of the wrong size', async () => {
    const plain = dps({ obs, decoder: identityCodec, vjp: (_z, t, c) => prior.tweedieVjp(t, c) });
    expect('predictorEps' in plain).toBe(false);
    const bad =
      (x0Len: number, gradLen: number): DenoiseAndDecode =>
      async (z, t, shape) => ({
        eps: await prior.denoiser(z, t, shape),
        x0: new Float32Array(x0Len),
        vjp: () => new Float32Array(gradLen),
      });
    const run = (d: DenoiseAndDecode) =>
      sample(
        prior.denoiser,
        dps({ obs, decoder: identityCodec, vjp: () => new Float32Array(0), denoiseAndDecode: d }),
        {
          zShape,
          steps: 2,
          seed: 1,
        },
      );
    await expect(run(bad(3, FIX_D))).rejects.toThrow(/denoiseAndDecode \(x0\) returned 3 values but 16/);
    await expect(run(bad(FIX_D, 5))).rejects.toThrow(/denoiseAndDecode \(vjp\) returned 5 values but 16/);
  });
});

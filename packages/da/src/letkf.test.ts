import { isAppError } from '@alignda/errors';
import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { etkf } from './etkf.js';
import { letkf } from './letkf.js';
import { gaspariCohnLocalisation } from './letkf-localisation.js';
import { selectionOperator } from './observations.js';
import type { ObservationOperator, Observations } from './ports.js';
import { cholesky, choleskySolve, matMul, transpose } from './internal/linalg.js';

const n = 6; // state shape [6]

/** A dense linear operator y = H x on states of shape [n] (H row-major [P, n]). */
function denseObs(H: Float64Array, values: Float64Array, std: Float64Array): Observations {
  const P = values.length;
  const operator: ObservationOperator = {
    stateShape: [n],
    size: P,
    apply(x, out) {
      for (let p = 0; p < P; p++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += (H[p * n + j] as number) * (x[j] as number);
        out[p] = s;
      }
      return out;
    },
    adjoint(r, out) {
      out.fill(0);
      for (let p = 0; p < P; p++)
        for (let j = 0; j < n; j++) out[j] = (out[j] as number) + (H[p * n + j] as number) * (r[p] as number);
      return out;
    },
  };
  return { operator, values, std };
}

/** A seeded problem: k members around a smooth mean, P observations of local averages of the state. */
function problem(
  k: number,
  P: number,
  seed: number,
): { ensemble: { data: Float64Array; shape: number[] }; obs: Observations; H: Float64Array } {
  const rng = createRng(seed);
  const data = rng.fillNormal(new Float64Array(k * n));
  for (let i = 0; i < k * n; i++) data[i] = (data[i] as number) + Math.sin(i % n);
  const H = new Float64Array(P * n);
  for (let p = 0; p < P; p++) {
    H[p * n + (p % n)] = 0.7;
    H[p * n + ((p + 1) % n)] = 0.3 + 0.1 * p;
  }
  const values = rng.fillNormal(new Float64Array(P));
  const std = Float64Array.from({ length: P }, (_, p) => 0.4 + 0.15 * p);
  return { ensemble: { data, shape: [k, n] }, obs: denseObs(H, values, std), H };
}

function meanCov(data: Float64Array, k: number): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(n);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < n; j++) mean[j] = (mean[j] as number) + (data[i * n + j] as number) / k;
  const cov = new Float64Array(n * n);
  for (let i = 0; i < k; i++)
    for (let a = 0; a < n; a++)
      for (let b = 0; b < n; b++)
        cov[a * n + b] =
          (cov[a * n + b] as number) +
          (((data[i * n + a] as number) - (mean[a] as number)) *
            ((data[i * n + b] as number) - (mean[b] as number))) /
            (k - 1);
  return { mean, cov };
}

/** x_f + K (y - H x_f) and (I - K H) P_f with K = P_f H^T (H P_f H^T + R)^-1, dense and independent of the LETKF. */
function kalman(
  mean: Float64Array,
  Pf: Float64Array,
  H: Float64Array,
  obs: Observations,
): { mean: Float64Array; cov: Float64Array } {
  const P = obs.values.length;
  const PHt = matMul(Pf, transpose(H, P, n), n, n, P); // [n, P]
  const S = matMul(H, PHt, P, n, P);
  for (let p = 0; p < P; p++) S[p * P + p] = (S[p * P + p] as number) + (obs.std[p] as number) ** 2;
  const L = cholesky(S, P);
  const Hm = matMul(H, mean, P, n, 1);
  const Sd = choleskySolve(
    L,
    P,
    Float64Array.from(obs.values, (v, p) => v - (Hm[p] as number)),
  );
  const m = Float64Array.from(mean, (v, j) => {
    let s = v;
    for (let p = 0; p < P; p++) s += (PHt[j * P + p] as number) * (Sd[p] as number);
    return s;
  });
  const SinvHP = choleskySolve(L, P, transpose(PHt, n, P), n); // S^-1 H P_f, [P, n]
  const cov = Pf.map((v, idx) => {
    const a = Math.floor(idx / n);
    const b = idx % n;
    let s = v;
    for (let p = 0; p < P; p++) s -= (PHt[a * P + p] as number) * (SinvHP[p * n + b] as number);
    return s;
  });
  return { mean: m, cov };
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i] as number));
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
  }
  return diff / scale;
}

const ringDistance = (size: number) => (i: number, p: number) =>
  Math.min(Math.abs(i - p), size - Math.abs(i - p));

// [k, P]: P >= k takes the primal (k x k) path of each local analysis, P < k the dual (P x P) one.
const SIZES = [
  [4, 6],
  [8, 4],
] as const;

describe('letkf', () => {
  it.each(SIZES)(
    'with an infinite radius gives the exact Kalman mean and covariance of the ensemble statistics to 1e-8 (k %i, P %i)',
    (k, P) => {
      const { ensemble, obs, H } = problem(k, P, 10 * k + P);
      const bg = meanCov(ensemble.data, k);
      const ref = kalman(bg.mean, bg.cov, H, obs);
      const pointwise = gaspariCohnLocalisation({
        stateSize: n,
        obsSize: P,
        distance: () => 3,
        halfWidth: Infinity,
      });
      for (const options of [{}, { localisation: pointwise }]) {
        const got = meanCov(letkf(ensemble, obs, options).data, k);
        expect(maxRelDiff(got.mean, ref.mean)).toBeLessThan(1e-8);
        expect(maxRelDiff(got.cov, ref.cov)).toBeLessThan(1e-8);
      }
      // the observations pull: the update is not the identity
      expect(maxRelDiff(bg.mean, ref.mean)).toBeGreaterThan(1e-2);
    },
  );

  it.each(SIZES)(
    'with an infinite radius equals the ETKF member by member to 1e-10, inflated or not (k %i, P %i)',
    (k, P) => {
      const { ensemble, obs } = problem(k, P, 7 * k + P);
      const pointwise = gaspariCohnLocalisation({
        stateSize: n,
        obsSize: P,
        distance: ringDistance(n),
        halfWidth: Infinity,
      });
      for (const lambda of [1, 1.1]) {
        const ref = etkf(ensemble, obs, { inflation: lambda * lambda });
        expect(maxRelDiff(letkf(ensemble, obs, { inflation: lambda }).data, ref.data)).toBeLessThan(1e-10);
        expect(
          maxRelDiff(letkf(ensemble, obs, { inflation: lambda, localisation: pointwise }).data, ref.data),
        ).toBeLessThan(1e-10);
      }
    },
  );

  it('leaves a point farther than the support 2c from every observation unchanged, and updates the observed point', () => {
    const size = 10;
    const k = 5;
    const data = createRng(4).fillNormal(new Float64Array(k * size));
    const ensemble = { data, shape: [k, size] };
    const obs: Observations = {
      operator: selectionOperator([size], Int32Array.of(0)),
      values: Float64Array.of(3),
      std: Float64Array.of(0.5),
    };
    // distance 5 from point 0 to point 5; support 2c = 4 < 5
    const localisation = gaspariCohnLocalisation({
      stateSize: size,
      obsSize: 1,
      distance: (i) => ringDistance(size)(i, 0),
      halfWidth: 2,
    });
    const a = letkf(ensemble, obs, { localisation });
    for (let i = 0; i < k; i++) {
      for (const j of [4, 5, 6]) expect(a.data[i * size + j]).toBe(data[i * size + j]);
      expect(Math.abs((a.data[i * size] as number) - (data[i * size] as number))).toBeGreaterThan(1e-6);
    }
    // inside the support, the update is damped by the taper: smaller at distance 3 than at distance 0
    const meanShift = (j: number): number => {
      let s = 0;
      for (let i = 0; i < k; i++)
        s += ((a.data[i * size + j] as number) - (data[i * size + j] as number)) / k;
      return Math.abs(s);
    };
    expect(meanShift(3)).toBeGreaterThan(0);
    expect(meanShift(3)).toBeLessThan(meanShift(0));
  });

  it('scales the prior perturbations by the inflation factor', () => {
    const k = 6;
    const { ensemble, obs } = problem(k, 4, 3);
    const lambda = 1.3;
    const { mean } = meanCov(ensemble.data, k);
    const scaled = {
      data: ensemble.data.map(
        (v, idx) => (mean[idx % n] as number) + lambda * (v - (mean[idx % n] as number)),
      ),
      shape: ensemble.shape,
    };
    expect(
      maxRelDiff(letkf(ensemble, obs, { inflation: lambda }).data, letkf(scaled, obs).data),
    ).toBeLessThan(1e-12);
    // with uninformative observations the analysis is the inflated prior itself
    const vague = { ...obs, std: obs.std.map(() => 1e9) };
    expect(maxRelDiff(letkf(ensemble, vague, { inflation: lambda }).data, scaled.data)).toBeLessThan(1e-12);
  });

  it('with RTPS alpha = 1 keeps the prior spread at every point; posterior inflation scales the analysis spread', () => {
    const k = 7;
    const { ensemble, obs } = problem(k, 5, 21);
    const prior = meanCov(ensemble.data, k).cov;
    const plain = meanCov(letkf(ensemble, obs).data, k);
    const relaxed = meanCov(letkf(ensemble, obs, { rtps: 1 }).data, k);
    const inflated = meanCov(letkf(ensemble, obs, { posteriorInflation: 1.2 }).data, k);
    expect(maxRelDiff(relaxed.mean, plain.mean)).toBeLessThan(1e-12);
    for (let j = 0; j < n; j++) {
      const d = j * n + j;
      expect(Math.abs((relaxed.cov[d] as number) - (prior[d] as number)) / (prior[d] as number)).toBeLessThan(
        1e-12,
      );
      expect(plain.cov[d] as number).toBeLessThan(prior[d] as number);
      expect((inflated.cov[d] as number) / (plain.cov[d] as number)).toBeCloseTo(1.44, 12);
    }
  });

  it('rotates the members without changing the analysis mean and covariance (seeded)', () => {
    const k = 6;
    const { ensemble, obs } = problem(k, 5, 8);
    const plain = letkf(ensemble, obs);
    const rotated = letkf(ensemble, obs, { rotation: createRng(1) });
    const p = meanCov(plain.data, k);
    const r = meanCov(rotated.data, k);
    expect(maxRelDiff(r.mean, p.mean)).toBeLessThan(1e-12);
    expect(maxRelDiff(r.cov, p.cov)).toBeLessThan(1e-12);
    expect(maxRelDiff(rotated.data, plain.data)).toBeGreaterThan(1e-3);
    expect(letkf(ensemble, obs, { rotation: createRng(1) }).data).toEqual(rotated.data);
  });

  it('rejects a zero localisation radius, a non-positive error variance, one member and mismatched shapes, naming them', () => {
    const { ensemble, obs } = problem(4, 3, 1);
    const fails = (f: () => unknown, message: RegExp): void => {
      let caught: unknown;
      try {
        f();
      } catch (err) {
        caught = err;
      }
      expect(isAppError(caught)).toBe(true);
      expect((caught as { code: string }).code).toBe('INVALID_ARGUMENT');
      expect((caught as Error).message).toMatch(message);
    };
    fails(
      () => gaspariCohnLocalisation({ stateSize: n, obsSize: 3, distance: () => 1, halfWidth: 0 }),
      /localisation radius .* must be > 0.*got 0/,
    );
    fails(
      () => letkf(ensemble, { ...obs, std: Float64Array.of(1, 0, 1) }),
      /observation 1 has error standard deviation 0; it must be finite and > 0/,
    );
    fails(() => letkf(ensemble, { ...obs, std: Float64Array.of(1, -2, 1) }), /error standard deviation -2/);
    fails(() => letkf({ data: new Float64Array(n), shape: [1, n] }, obs), /at least 2 members, got 1/);
    fails(
      () => letkf({ data: new Float64Array(4 * 7), shape: [4, 7] }, obs),
      /operator state shape \[6\], state shape \[7\]/,
    );
    fails(
      () => letkf({ data: new Float64Array(4 * 5), shape: [4, n] }, obs),
      /length 20 does not match its shape \[4, 6\]/,
    );
    const wrong = gaspariCohnLocalisation({ stateSize: 5, obsSize: 3, distance: () => 1, halfWidth: 2 });
    fails(
      () => letkf(ensemble, obs, { localisation: wrong }),
      /covers 5 state points but the state shape \[6\] has 6/,
    );
    fails(() => letkf(ensemble, obs, { inflation: 0.9 }), /inflation must be finite and >= 1, got 0.9/);
    fails(() => letkf(ensemble, obs, { rtps: 1.5 }), /rtps must be in \[0, 1\]/);
    fails(
      () =>
        gaspariCohnLocalisation({
          stateSize: 3,
          obsSize: 1,
          distance: () => 1,
          halfWidth: 1,
          batches: [Int32Array.of(0, 1)],
        }),
      /state point 2 is in no batch/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { latWeightedRmse, mae, mse } from './metrics.js';
import { latitudeWeights } from './weights.js';

// Reference case: N=2, C=3, H=4, W=5, pred[k] = sin(0.37 k), target[k] = cos(0.23 k) + 0.1 k / n over the
// flat index k, lat = [70, 30, -10, -50], mask 0 where (h W + w) % 7 == 3. Expected values computed with
// numpy 2.4 in float64 (e = pred - target; w = cos(radians(lat)); w /= w.mean();
// rmse[n, c] = sqrt(sum(w[:, None] * mask * e[n, c]**2) / sum(w[:, None] * mask))).
const [N, C, H, W] = [2, 3, 4, 5];
const n = N * C * H * W;
const pred = { data: Float64Array.from({ length: n }, (_, k) => Math.sin(0.37 * k)), shape: [N, C, H, W] };
const target = {
  data: Float64Array.from({ length: n }, (_, k) => Math.cos(0.23 * k) + (0.1 * k) / n),
  shape: [N, C, H, W],
};
const lat = [70, 30, -10, -50];
const mask = Uint8Array.from({ length: H * W }, (_, k) => (k % 7 === 3 ? 0 : 1));

const expectClose = (got: ArrayLike<number>, want: number[], digits: number): void => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, digits));
};

describe('latitudeWeights', () => {
  it('matches cos(lat) / mean cos(lat) and averages to 1', () => {
    const w = latitudeWeights(lat);
    expectClose(w, [0.4824590337127331, 1.2216291573291145, 1.3891854213354429, 0.90672638762271], 14);
    expect(w.reduce((a, b) => a + b, 0) / w.length).toBeCloseTo(1, 15);
  });

  it('gives pole rows zero weight and refuses a grid of poles only', () => {
    expect(latitudeWeights([90, 0, -90])[0]).toBe(0);
    expect(() => latitudeWeights([90, -90])).toThrow(/sum to 0/);
  });
});

describe('mse and mae', () => {
  it('match the numpy reference per channel and overall', () => {
    const m = mse(pred, target);
    expectClose(m.perChannel, [0.6542611598863386, 1.369902364970439, 0.6298720982719253], 13);
    expect(m.overall).toBeCloseTo(0.8846785410429009, 13);
    const a = mae(pred, target);
    expectClose(a.perChannel, [0.654368832365021, 0.995081980728991, 0.611329432395683], 13);
    expect(a.overall).toBeCloseTo(0.7535934151632316, 13);
  });

  it('honour the mask, ignoring even NaN at masked points', () => {
    const p = { data: Float64Array.from(pred.data), shape: pred.shape };
    p.data[3] = NaN; // flat index 3: sample 0, channel 0, grid point 3, which the mask drops
    const m = mse(p, target, { mask });
    expectClose(m.perChannel, [0.6546598789257404, 1.3232860677507148, 0.6706198241222041], 13);
  });

  it('are zero for identical inputs and equal e^2 and |e| for a constant error e', () => {
    expect(mse(pred, pred).overall).toBe(0);
    const shifted = { data: pred.data.map((v) => v - 0.25), shape: pred.shape };
    expect(mse(pred, shifted, { latDeg: lat, mask }).overall).toBeCloseTo(0.0625, 14);
    expect(mae(pred, shifted).overall).toBeCloseTo(0.25, 14);
  });

  it('accept a single [C, H, W] state as one sample', () => {
    const one = { data: pred.data.subarray(0, C * H * W), shape: [C, H, W] };
    const oneT = { data: target.data.subarray(0, C * H * W), shape: [C, H, W] };
    const r = latWeightedRmse(one, oneT, lat, { mask });
    expectClose(r.perChannel, [0.4947330429631215, 1.2694004683169127, 0.6882159188468526], 13);
  });

  it('name both shapes when they differ, and reject a mask of the wrong size', () => {
    expect(() => mse(pred, { data: new Float64Array(n), shape: [N, C, W, H] })).toThrow(
      /pred has shape \[2, 3, 4, 5\] but target has shape \[2, 3, 5, 4\]/,
    );
    expect(() => mae(pred, target, { mask: new Uint8Array(3) })).toThrow(
      /mask has length 3 but the grid is \[4, 5\]/,
    );
    expect(() => mse(pred, target, { mask: new Uint8Array(H * W) })).toThrow(/no grid point/);
    expect(() =>
      mse({ data: new Float32Array(4), shape: [4] }, { data: new Float32Array(4), shape: [4] }),
    ).toThrow(/\[N, C, H, W\] or \[C, H, W\]/);
  });
});

describe('latWeightedRmse', () => {
  it('matches the numpy reference per sample, per channel and overall', () => {
    const r = latWeightedRmse(pred, target, lat, { mask });
    expectClose(
      r.perSample,
      [
        0.4947330429631215, 1.2694004683169127, 0.6882159188468526, 1.0743560834464034, 0.9200164735722838,
        0.9445211128756539,
      ],
      13,
    );
    expectClose(r.perChannel, [0.7845445632047625, 1.0947084709445982, 0.8163685158612533], 13);
    expect(r.overall).toBeCloseTo(0.8985405166702046, 13);
  });

  it('weights an error at high latitude less than the same error at the equator', () => {
    const g = { data: new Float64Array(3 * 4), shape: [1, 3, 4] };
    const polar = { data: new Float64Array(12), shape: [1, 3, 4] };
    const equatorial = { data: new Float64Array(12), shape: [1, 3, 4] };
    polar.data[0] = 1; // row 0, lat 80
    equatorial.data[4] = 1; // row 1, lat 0
    const lats = [80, 0, -80];
    expect(latWeightedRmse(polar, g, lats).overall).toBeLessThan(
      latWeightedRmse(equatorial, g, lats).overall,
    );
  });

  it('rejects a latitude list that does not fit the rows', () => {
    expect(() => latWeightedRmse(pred, target, [0, 1])).toThrow(
      /2 latitudes for tensors of shape \[2, 3, 4, 5\]/,
    );
  });
});

import { griddedObservations } from '@alignda/da';
import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { innovationDiagnostics } from './cycle-score.js';

/**
 * A scalar BLUE at every point of a [1, 200, 200] grid, every point observed: truth 0, background error sigma_b,
 * observation error sigma_o, gain k applied to each innovation. With the optimal gain Desroziers' estimates recover
 * sigma_o and sigma_b (40,000 samples: within a few per cent); with a wrong gain they do not, by the closed form.
 */
function blue(sigmaB: number, sigmaO: number, gain: number, seed = 3) {
  const [H, W] = [200, 200];
  const n = H * W;
  const rng = createRng(seed);
  const background = new Float32Array(n);
  const analysis = new Float32Array(n);
  const value = new Float64Array(n);
  const row = new Int32Array(n);
  const col = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const b = sigmaB * rng.normal();
    const y = sigmaO * rng.normal();
    background[k] = b;
    analysis[k] = b + gain * (y - b);
    value[k] = y;
    row[k] = Math.floor(k / W);
    col[k] = k % W;
  }
  const obs = griddedObservations({
    stateShape: [1, H, W],
    channel: new Int32Array(n),
    row,
    col,
    value,
    std: sigmaO,
  });
  return { obs, background, analysis };
}

describe('innovationDiagnostics', () => {
  it('recovers sigma_o and sigma_b from an optimal analysis (Desroziers et al. 2005), chi2 about 1 with the true spread', () => {
    const [sb, so] = [0.3, 0.1];
    const { obs, background, analysis } = blue(sb, so, sb ** 2 / (sb ** 2 + so ** 2));
    const d = innovationDiagnostics(obs, background, analysis, sb);
    expect(d.obsErrorStd).toBeCloseTo(so, 2);
    expect(d.backgroundErrorStd / sb).toBeGreaterThan(0.97);
    expect(d.backgroundErrorStd / sb).toBeLessThan(1.03);
    expect(d.assumedObsErrorStd).toBeCloseTo(so, 12);
    expect(d.chi2 ?? Number.NaN).toBeGreaterThan(0.97);
    expect(d.chi2 ?? Number.NaN).toBeLessThan(1.03);
  });

  it('follows the closed form for a gain that overweights the observations', () => {
    const [sb, so, k] = [0.3, 0.1, 0.99];
    const { obs, background, analysis } = blue(sb, so, k);
    const d = innovationDiagnostics(obs, background, analysis, 0.05);
    // E[(y - a)(y - b)] = (1 - k) (sb^2 + so^2); E[(a - b)(y - b)] = k (sb^2 + so^2).
    expect(d.obsErrorStd ** 2 / ((1 - k) * (sb ** 2 + so ** 2))).toBeCloseTo(1, 1);
    expect(d.backgroundErrorStd ** 2 / (k * (sb ** 2 + so ** 2))).toBeCloseTo(1, 1);
    // An ensemble far too narrow for its innovations: chi2 well above 1.
    expect(d.chi2 ?? 0).toBeGreaterThan(5);
  });

  it('has no chi2 without a spread, and NaN (not a made-up number) when a mean product is negative', () => {
    const { obs, background } = blue(0.3, 0.1, 0);
    // An "analysis" on the far side of the background: (a - b)(y - b) < 0 on average.
    const away = background.map((b, k) => b - 2 * ((obs.values[k] as number) - b));
    const d = innovationDiagnostics(obs, background, away);
    expect(d.chi2).toBeUndefined();
    expect(d.backgroundErrorStd).toBeNaN();
  });
});

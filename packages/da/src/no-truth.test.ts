import { describe, expect, it } from 'vitest';
import { createRng } from '@alignda/tensor';
import { sample } from './sampler.js';
import { obsFree } from './guidance/obs-free.js';
import { dps } from './guidance/dps.js';
import { repaint } from './guidance/repaint.js';
import { exactGaussianGuidance } from './guidance/exact-gaussian.js';
import { griddedObservations } from './observations.js';
import type { DecodedTweedieVjp } from './ports.js';
import { FIX_D, FIX_H, FIX_SHAPE, FIX_W, fixturePrior, identityCodec } from './internal/fixtures.js';

describe('no sampler path reads the truth', () => {
  it('gives a finite analysis in every mode after the truth is overwritten with NaN', async () => {
    const prior = fixturePrior();
    const rng = createRng(51);
    // The truth exists only to simulate observations: none of the APIs below accepts it.
    const truth = rng.fillNormal(new Float32Array(FIX_D));
    const idx = [1, 6, 11, 14];
    const obs = griddedObservations({
      stateShape: [...FIX_SHAPE],
      channel: idx.map(() => 0),
      row: idx.map((g) => Math.floor(g / FIX_W) % FIX_H),
      col: idx.map((g) => g % FIX_W),
      value: idx.map((g) => (truth[g] as number) + 0.1 * rng.normal()),
      std: 0.1,
    });
    const vjp: DecodedTweedieVjp = (_z, t, cot) => prior.tweedieVjp(t, cot);
    const modes = [
      obsFree(),
      exactGaussianGuidance(prior, obs),
      dps({ obs, decoder: identityCodec, vjp }),
      repaint({ obs, encoder: identityCodec, decoder: identityCodec }),
    ];
    truth.fill(Number.NaN);
    for (const guidance of modes) {
      const z = await sample(prior.denoiser, guidance, {
        zShape: [...FIX_SHAPE],
        members: 3,
        steps: 16,
        seed: 52,
      });
      expect(z.data.every(Number.isFinite), guidance.name).toBe(true);
    }
  });
});

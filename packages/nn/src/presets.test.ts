import { describe, expect, it } from 'vitest';

import { buildEmulatorTraining, EMULATOR_PRESETS } from './emulator.js';
import { parameterCount } from './model.js';
import { buildDpsHelper, buildScoreTraining, SCORE_PRESETS } from './score.js';
import { buildVaeTraining, VAE_PRESETS, vaeLatentShape } from './vae.js';

/** Every preset builds its training graphs and the DPS helper, and the sizes grow ci < small < full. */
describe('model presets', () => {
  const names = ['ci', 'small', 'full'] as const;
  it('have the same preset names in every family', () => {
    expect(Object.keys(VAE_PRESETS)).toEqual(names);
    expect(Object.keys(EMULATOR_PRESETS)).toEqual(names);
    expect(Object.keys(SCORE_PRESETS)).toEqual(names);
  });
  it.each(names)('%s builds, fits together and is larger than the preset before it', (name) => {
    const vae = VAE_PRESETS[name];
    const score = SCORE_PRESETS[name];
    expect(score.latentShape).toEqual(vaeLatentShape(vae));
    const sizes = {
      vae: parameterCount(buildVaeTraining(vae).forward),
      emulator: parameterCount(buildEmulatorTraining(EMULATOR_PRESETS[name]).forward),
      score: parameterCount(buildScoreTraining(score).forward),
    };
    expect(() => buildDpsHelper({ ...score, batch: 1 }, { ...vae, batch: 1 })).not.toThrow();
    const i = names.indexOf(name);
    if (i > 0) {
      const prev = names[i - 1] as (typeof names)[number];
      expect(sizes.vae).toBeGreaterThan(parameterCount(buildVaeTraining(VAE_PRESETS[prev]).forward));
      expect(sizes.emulator).toBeGreaterThan(
        parameterCount(buildEmulatorTraining(EMULATOR_PRESETS[prev]).forward),
      );
      expect(sizes.score).toBeGreaterThan(parameterCount(buildScoreTraining(SCORE_PRESETS[prev]).forward));
    }
  });
});

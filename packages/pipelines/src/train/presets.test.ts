import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { EMULATOR_PRESETS } from '@alignda/nn';
import type { EmulatorConfig } from '@alignda/nn';
import { describe, expect, it } from 'vitest';

import { DatasetError, datasetSource } from '@alignda/world';

import { PRESETS, presetConfigs } from './presets.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..'); // packages/pipelines/src/train
const dataDir = path.resolve(repoRoot, '../shared/data');
const haveData = existsSync(path.join(dataDir, 'ncep-air', 'air_temperature.zarr'));

describe('presetConfigs and the emulator solar forcing', () => {
  it('the QG world (no longitudes) gets the presets unchanged: checkpoints compare the config JSON', () => {
    for (const p of PRESETS) {
      const { emulator } = presetConfigs(p, [7, 32, 64]);
      expect(emulator).toBe(EMULATOR_PRESETS[p]);
      expect(JSON.stringify(emulator)).not.toContain('solarLonDeg');
    }
  });

  it('a dataset (longitudes given) gets solar forcing on its grid, stored as a plain array', () => {
    const lon = Float64Array.from({ length: 64 }, (_, j) => 187.5 + 2.5 * j);
    const { emulator } = presetConfigs('ci', [1, 32, 64], Array.from(lon));
    expect(emulator).toMatchObject({ channels: 1, height: 32, width: 64, hidden: 8 });
    expect(emulator.solarLonDeg).toEqual(Array.from(lon));
    expect((JSON.parse(JSON.stringify(emulator)) as EmulatorConfig).solarLonDeg).toEqual(Array.from(lon));
  });

  it('ncep-air states carry their UTC hour (6-hourly from 00 UTC)', async (ctx) => {
    ctx.skip(!haveData, `NCEP data not found under ${dataDir} (see README "Data")`);
    const src = await datasetSource(dataDir, 'ncep-air');
    expect([0, 1, 2, 3, 4, 1461].map((i) => src.hourOf?.(i))).toEqual([0, 6, 12, 18, 0, 6]);
    expect(() => src.hourOf?.(src.count)).toThrow(DatasetError);
  });
});

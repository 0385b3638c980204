import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { createDatasetRegistry, readStationCsv } from '@alignda/world';
import { describe, expect, it } from 'vitest';

import { runNcepCheck } from './ncep-check.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dataDir = path.resolve(repoRoot, '../shared/data');
const csv = path.join(dataDir, 'stations', 'weather_seattle_newyork_2012-2015.csv');
const haveData = existsSync(path.join(dataDir, 'ncep-air', 'air_temperature.zarr')) && existsSync(csv);

describe('the NCEP 3D-Var check', () => {
  it('gives analyses closer to the withheld reanalysis than 24 h persistence, with a map case', async (ctx) => {
    ctx.skip(!haveData, `NCEP data or station file not found under ${dataDir} (see README "Data")`);
    const ds = await createDatasetRegistry({ dataDir }).open('ncep-air');
    const res = await runNcepCheck(ds, await readStationCsv(csv), () => undefined, 4);
    const s = res.summary;
    expect(s.analyses).toBe(16);
    expect(Number(s.rmseAnalysisK)).toBeLessThan(Number(s.rmseBackgroundK));
    expect(res.example?.analysis.data).toHaveLength(ds.shape[0] * ds.shape[1] * ds.shape[2]);
  });
});

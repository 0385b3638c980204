import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runNcepCheck } from './ncep-check.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const dataDir = path.resolve(repoRoot, '../shared/data');
const haveData = existsSync(path.join(dataDir, 'ncep-air', 'air_temperature.zarr'));
const outDir = mkdtempSync(path.join(tmpdir(), 'alignda-ncep-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('the NCEP 3D-Var check', () => {
  it('reports itself skipped, naming the folder, when the data is absent', async () => {
    const res = await runNcepCheck(path.join(outDir, 'no-data'), outDir, () => undefined, 2);
    expect(res.skipped).toContain('no-data');
    expect(res.lines).toEqual([]);
  });

  it('gives analyses closer to the withheld reanalysis than 24 h persistence', async (ctx) => {
    ctx.skip(!haveData, `NCEP data not found under ${dataDir} (see README "Data")`);
    const res = await runNcepCheck(dataDir, outDir, () => undefined, 4);
    const s = res.summary ?? {};
    expect(s.analyses).toBe(16);
    expect(Number(s.rmseAnalysisK)).toBeLessThan(Number(s.rmseBackgroundK));
    expect(existsSync(path.join(outDir, 'ncep-3dvar-case.png'))).toBe(true);
  });
});

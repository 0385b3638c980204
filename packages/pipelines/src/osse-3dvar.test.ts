import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrGenerateNatureRun } from '@alignda/world';
import { runVar3dOsse } from './osse-3dvar.js';

const dir = mkdtempSync(path.join(tmpdir(), 'alignda-osse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the QG 3D-Var OSSE', () => {
  it('gives analyses closer to the truth than their backgrounds on every held-out case', async () => {
    // A short run keeps this cheap: 60 days of spin-up, then ~55 days (219 states) of which 70 % train.
    const run = loadOrGenerateNatureRun({ seed: 3, years: 0.15, spinUpDays: 60, dir });
    const osse = await runVar3dOsse(run, {
      obsFraction: 0.02,
      trainCases: 10,
      tuneCases: 3,
      testCases: 3,
      lengthScalesM: [300e3, 900e3],
      seed: 5,
    });
    expect(osse.tuning.table).toHaveLength(2);
    expect(osse.cases).toHaveLength(3);
    for (const c of osse.cases) {
      expect(c.observations).toBeGreaterThan(0);
      // 3D-Var with a tuned B must improve every case's background (normalised MSE over all channels).
      expect(c.analysisMse).toBeLessThan(c.backgroundMse);
    }
    // 48 h forecasts are dominated by model error on this short run: only check they were made.
    for (const c of osse.cases) {
      expect(Number.isFinite(c.forecastFromAnalysisMse) && Number.isFinite(c.forecastFromBackgroundMse)).toBe(
        true,
      );
    }
    // The maps' example holds physical fields of the nature run's shape.
    expect(osse.example.analysis.data).toHaveLength(7 * 32 * 64);
    expect(osse.example.analysis.data.every(Number.isFinite)).toBe(true);
  });
});
